// UploadAddress and UploadAuth, shared by CreateUploadMedia and
// RefreshUploadMedia. Both are base64 of JSON, as the vendor's are; a client
// decodes them and hands the fields to the OSS SDK:
//   UploadAddress {Endpoint, Bucket, FileName}
//   UploadAuth    {AccessKeyId, AccessKeySecret, SecurityToken, Expiration (seconds), ExpireUTCTime, Region}
// Endpoint is this service's public URL: the embedded store answers OSS there.
import type { App } from '../../../../app.js';
import type { Upload } from '../../../../domain/uploads/types.js';

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64');

/** The store's path-style URL of an object, without authentication (ICE's FileURL). */
export function objectUrl(publicUrl: string, bucket: string, key: string): string {
  return `${publicUrl}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The bucket an upload's object lives in, from its data_path (`oss://bucket/key`). */
export function bucketOf(u: Upload): string {
  return u.dataPath.replace(/^[a-z0-9]+:\/\//, '').split('/')[0];
}

export function fileUrl(app: App, u: Upload): string {
  return objectUrl(app.config.publicUrl, bucketOf(u), u.storageKey);
}

/** ali-oss takes `oss-cn-shanghai`; ICE's UploadAuth says `cn-shanghai`. */
function regionOf(app: App, u: Upload): string {
  const region = app.config.clusters.find((c) => c.id === u.clusterId)?.region ?? '';
  return region.replace(/^oss-/, '');
}

/** Issues a temporary credential for the upload's object and encodes both halves. */
export async function uploadCredentials(app: App, u: Upload): Promise<{ UploadAddress: string; UploadAuth: string }> {
  const ttl = app.config.ice.credentialTtlSeconds;
  const cred = await app.tempCredentials.issue(u.id, ttl);
  return {
    UploadAddress: b64json({ Endpoint: app.config.publicUrl, Bucket: bucketOf(u), FileName: u.storageKey }),
    UploadAuth: b64json({
      AccessKeyId: cred.accessKeyId,
      AccessKeySecret: cred.accessKeySecret,
      SecurityToken: cred.securityToken,
      Expiration: String(ttl),
      ExpireUTCTime: cred.expiration,
      Region: regionOf(app, u),
    }),
  };
}
