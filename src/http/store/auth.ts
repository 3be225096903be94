// One function per protocol checks a store request's capability whole:
// signature, expiry, the bucket and the exact object key, and the upload the
// key belongs to. What comes back is the upload the request may act on.
import type { App } from '../../app.js';
import type { Upload } from '../../domain/uploads/types.js';
import { err } from '../../errors.js';
import { verifyCos } from '../../protocols/cos-qsign.js';
import { verifyOssHeader } from '../../protocols/oss-header.js';
import { verifyS3Presigned } from '../../protocols/s3-sigv4.js';
import { SignatureError } from '../../protocols/types.js';
import type { StoreRequest } from './request.js';

export interface Authorized {
  upload: Upload;
}

async function uploadAt(app: App, clusterId: number, key: string, forWrite: boolean): Promise<Upload> {
  const u = key ? await app.uploads.findByKey(clusterId, key) : undefined;
  if (!u || u.status === 'DELETED') {
    if (forWrite) throw new SignatureError('AccessDenied', 'this key was not issued for upload', 403);
    throw err('NotFound', 'The specified key does not exist.');
  }
  return u;
}

/** S3 SigV4 and COS q-sign URLs: signed with the bucket's store credential; the signed path names the object. */
export async function authorizeUrl(app: App, bucket: string, clusterId: number, r: StoreRequest): Promise<Authorized> {
  verifyUrl(app, bucket, r);
  return { upload: await uploadAt(app, clusterId, r.key, r.signed.method === 'PUT') };
}

/** Checks a pre-signed URL's signature and expiry, for objects the service wrote itself (exports). */
export function verifyUrl(app: App, bucket: string, r: StoreRequest): void {
  const lookupSecret = (id: string) => app.storeCredentials.secretFor(id, bucket);
  const now = new Date(app.now());
  if (r.auth === 's3') verifyS3Presigned(r.signed, { lookupSecret, now });
  else if (r.auth === 'cos') verifyCos(r.signed, { lookupSecret, now });
  else throw new SignatureError('AccessDenied', 'Anonymous access is forbidden for this operation', 403);
}

function ossAccessKeyId(authorization: string): string | undefined {
  const v1 = /^OSS ([^:\s]+):/.exec(authorization);
  if (v1) return v1[1];
  const v4 = /Credential=([^/,\s]+)\//.exec(authorization);
  return v4?.[1];
}

/**
 * OSS header signatures are made with a temporary credential issued for one
 * upload (CreateUploadMedia's UploadAuth); it is good for that object only.
 */
export async function authorizeOssHeader(app: App, bucket: string, clusterId: number, r: StoreRequest): Promise<Authorized> {
  const id = ossAccessKeyId(String(r.signed.headers.authorization ?? ''));
  const cred = id ? await app.tempCredentials.find(id) : undefined;
  verifyOssHeader(r.signed, {
    bucket,
    objectKey: r.key,
    now: new Date(app.now()),
    lookupCredential: (k) => (cred && k === id ? { secret: cred.secret, securityToken: cred.securityToken } : undefined),
  });
  if (!cred) throw new SignatureError('InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', 403);
  if (cred.expiresAt <= app.now()) throw new SignatureError('InvalidSecurityToken', 'The security token you provided has expired.', 403);
  const upload = await app.uploads.byId(cred.uploadId);
  if (!upload || upload.clusterId !== clusterId || upload.storageKey !== r.key) {
    throw new SignatureError('AccessDenied', 'The temporary credential does not grant access to this object.', 403);
  }
  return { upload };
}
