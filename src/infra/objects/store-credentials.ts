// The embedded store signs the URLs and forms it hands out with a credential of
// its own per bucket, derived from the master key: nothing to configure, never
// stored, and a credential of one bucket is worthless in another.
import { createHash } from 'node:crypto';
import type { Sealer } from '../crypto/sealer.js';

export interface StoreCredential {
  accessKeyId: string;
  secret: string;
}

export class StoreCredentials {
  private readonly byId = new Map<string, { bucket: string; cred: StoreCredential }>();

  constructor(sealer: Sealer, buckets: string[]) {
    for (const bucket of buckets) {
      const tag = createHash('sha256').update(sealer.derive(`store-id:${bucket}`)).digest('hex').slice(0, 16).toUpperCase();
      const cred = { accessKeyId: `AHSTORE${tag}`, secret: sealer.derive(`store-secret:${bucket}`) };
      this.byId.set(cred.accessKeyId, { bucket, cred });
    }
  }

  forBucket(bucket: string): StoreCredential {
    for (const v of this.byId.values()) if (v.bucket === bucket) return v.cred;
    throw new Error(`no store credential for bucket ${bucket}`);
  }

  /** The secret of a store key id, only when the key belongs to this bucket. */
  secretFor(accessKeyId: string, bucket: string): string | undefined {
    const v = this.byId.get(accessKeyId);
    return v && v.bucket === bucket ? v.cred.secret : undefined;
  }
}
