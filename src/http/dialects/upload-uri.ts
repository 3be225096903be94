// Naming an upload by where it lives instead of by its id: vendor calls that
// take a file by reference (PAI's Uri, Tencent's data_path / resource_url)
// resolve it here, so every dialect reads the same forms the same way.
import type { App } from '../../app.js';
import type { Upload } from '../../domain/uploads/types.js';
import { err, type AppError } from '../../errors.js';

const notReadable = (uri: string, field: string) =>
  err('Forbidden', `no permission to read ${uri}: ${field} must name a READY upload of this account, by its data_path (oss://bucket/key or s3://bucket/key) or its ResourceUrl`, field);

/**
 * The account's upload that `uri` names: one of our data paths (oss:// and
 * s3:// name the same object of one of our buckets, whichever scheme the
 * upload was handed out with) or an upload's ResourceUrl. Anything else,
 * including an object of another account, is refused alike as not readable,
 * so the answer never tells whether someone else's object exists. `field` is
 * the parameter the refusal names.
 */
export async function uploadOfUri(app: App, accountId: string, uri: string, field = 'Uri'): Promise<Upload> {
  const m = /^(oss|s3):\/\/([^/?#]+)\/(.+)$/s.exec(uri);
  let up: Upload | undefined;
  if (m) {
    const cluster = app.uploads.clusterOfBucket(m[2]);
    if (cluster === undefined) throw notReadable(uri, field);
    up = await app.uploads.getByKey(accountId, cluster, m[3]).catch((e: AppError) => {
      if (e.code === 'UploadNotFound') return undefined;
      throw e;
    });
  } else if (/^https?:\/\//i.test(uri)) {
    up = await app.uploads.findByResourceUrl(accountId, uri);
  } else {
    throw err('InvalidParameter', `${field} must be oss://bucket/key, s3://bucket/key or the ResourceUrl of an upload`, field);
  }
  if (!up) throw notReadable(uri, field);
  if (up.status !== 'READY') throw err('UploadNotReady', `the upload at ${uri} is ${up.status}; only a READY upload can be read`, field);
  return up;
}
