// Key secrets must stay usable for HMAC verification (every vendor scheme signs
// with the secret itself), so they cannot be stored as one-way hashes. They are
// sealed with AES-256-GCM under a master key that never enters the database:
// AUDIENCEHUB_MASTER_KEY (base64 of 32 bytes) or, by default, a key file
// created with mode 0600 in the data folder on first start.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class Sealer {
  private constructor(private readonly key: Buffer) {}

  static fromBase64(b64: string): Sealer {
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new Error('master key must be 32 bytes, base64-encoded');
    return new Sealer(key);
  }

  /** Reads or creates `<dataDir>/master.key`. */
  static fromDataDir(dataDir: string): Sealer {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'master.key');
    if (!existsSync(file)) {
      writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    return Sealer.fromBase64(readFileSync(file, 'utf8').trim());
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64'), c.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }

  open(sealed: string): string {
    const [v, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('sealed value has an unknown format');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    d.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64')), d.final()]).toString('utf8');
  }

  /** A stable secret derived from the master key, e.g. the embedded store's own signing credential. */
  derive(label: string): string {
    return createHmac('sha256', this.key).update(label).digest('base64url');
  }
}
