// Pre-signed URLs for the disk backend: standard S3 SigV4 query signatures
// over this service's public URL, path-style, signed with the bucket's store
// credential. The embedded store (src/http/store) verifies them.
import { presignS3Url } from '../../protocols/s3-sigv4.js';
import type { DiskSigner } from './disk.js';
import type { StoreCredentials } from './store-credentials.js';

export function embeddedSigner(publicUrl: string, regionOf: (bucket: string) => string, creds: StoreCredentials, now: () => number): DiskSigner {
  const sign = (method: string, bucket: string, key: string, expiresSeconds: number, contentMd5Hex?: string) => {
    const c = creds.forBucket(bucket);
    return presignS3Url({
      method,
      endpoint: publicUrl,
      bucket,
      key,
      region: regionOf(bucket),
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secret,
      expiresSeconds,
      now: new Date(now()),
      contentMd5Base64: contentMd5Hex ? Buffer.from(contentMd5Hex, 'hex').toString('base64') : undefined,
    });
  };
  return {
    presignPut: (bucket, key, o) => sign('PUT', bucket, key, o.expiresSeconds, o.contentMd5Hex),
    presignGet: (bucket, key, expiresSeconds) => sign('GET', bucket, key, expiresSeconds),
  };
}
