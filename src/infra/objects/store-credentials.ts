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
  private readonly byBucket = new Map<string, StoreCredential>();

  constructor(sealer: Sealer, buckets: string[]) {
    for (const bucket of buckets) {
      const tag = createHash('sha256').update(sealer.derive(`store-id:${bucket}`)).digest('hex').slice(0, 16).toUpperCase();
      this.byBucket.set(bucket, { accessKeyId: `AHSTORE${tag}`, secret: sealer.derive(`store-secret:${bucket}`) });
    }
  }

  forBucket(bucket: string): StoreCredential {
    const cred = this.byBucket.get(bucket);
    if (!cred) throw new Error(`no store credential for bucket ${bucket}`);
    return cred;
  }

  /** The secret of a store key id, only when the key belongs to this bucket. */
  secretFor(accessKeyId: string, bucket: string): string | undefined {
    const cred = this.byBucket.get(bucket);
    return cred && cred.accessKeyId === accessKeyId ? cred.secret : undefined;
  }
}
