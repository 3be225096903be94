// Temporary credentials scoped to one upload's object, as an STS token would
// be: an AccessKeyId/AccessKeySecret/SecurityToken triple that the OSS client
// signs with, valid for one key until it expires.
import type { Db } from '../../infra/db/index.js';
import type { Sealer } from '../../infra/crypto/sealer.js';
import { randomToken } from '../../infra/crypto/ids.js';

export interface TempCredential {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiration: string;
}

export interface ScopedCredential {
  uploadId: string;
  secret: string;
  securityToken: string;
  expiresAt: number;
}

const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export class TempCredentials {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(uploadId: string, ttlSeconds: number): Promise<TempCredential> {
    const at = this.now();
    const cred = {
      accessKeyId: `STS.${randomToken(24, MIXED)}`,
      accessKeySecret: randomToken(40, MIXED),
      securityToken: `CAIS${randomToken(120, MIXED)}`,
      expiresAt: at + ttlSeconds * 1000,
    };
    await this.db
      .insertInto('upload_credentials')
      .values({ access_key_id: cred.accessKeyId, upload_id: uploadId, secret_enc: this.sealer.seal(cred.accessKeySecret), security_token: cred.securityToken, expires_at: cred.expiresAt, created_at: at })
      .execute();
    return { accessKeyId: cred.accessKeyId, accessKeySecret: cred.accessKeySecret, securityToken: cred.securityToken, expiration: new Date(cred.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  async find(accessKeyId: string): Promise<ScopedCredential | undefined> {
    const r = await this.db.selectFrom('upload_credentials').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
    if (!r) return undefined;
    return { uploadId: r.upload_id, secret: this.sealer.open(r.secret_enc), securityToken: r.security_token, expiresAt: Number(r.expires_at) };
  }

  async prune(): Promise<void> {
    await this.db.deleteFrom('upload_credentials').where('expires_at', '<', this.now() - 86_400_000).execute();
  }
}
