// RegisterMediaInfo: gives an object already in our store a MediaId, so that
// ICE clients can address it (GetMediaInfo). InputURL names one of the
// account's own completed uploads (oss:// or s3:// data_path, or the store's
// URL); registering it again answers the same MediaId, as the vendor does.
// The descriptive parameters are checked for shape; the registered object
// keeps the metadata of the upload that made it.
import { err } from '../../../../errors.js';
import { aliOk } from '../errors.js';
import type { AliAction } from '../index.js';
import { httpUrl, integer, jsonParam, optionalParam, parseObjectUrl, requiredParam, tags, text, userDataSpec } from './validate.js';

function checkOptional(params: Record<string, string>): void {
  optionalParam(params, 'MediaType', text({ maxBytes: 16, oneOf: ['text'], hint: 'audience files are text' }));
  optionalParam(params, 'BusinessType', text({ maxBytes: 32, pattern: /^[A-Za-z][A-Za-z0-9_-]*$/, hint: 'a word such as general' }));
  optionalParam(params, 'Title', text({ maxBytes: 128 }));
  optionalParam(params, 'Description', text({ maxBytes: 1024 }));
  optionalParam(params, 'MediaTags', tags);
  optionalParam(params, 'CoverURL', httpUrl());
  if (params.CateId) integer(0, Number.MAX_SAFE_INTEGER)(params.CateId, 'CateId');
  optionalParam(params, 'Overwrite', text({ maxBytes: 5, oneOf: ['true', 'false'] }));
  optionalParam(params, 'ClientToken', text({ maxBytes: 64, pattern: /^[A-Za-z0-9_-]+$/, hint: 'letters, digits, _ and -' }));
  jsonParam(params, 'UserData', userDataSpec, [], 2048);
}

export const registerMediaInfo: AliAction = async (app, ctx, req, reply) => {
  const raw = requiredParam(ctx.params, 'InputURL');
  const ref = parseObjectUrl(raw, app.config.publicUrl);
  checkOptional(ctx.params);
  const clusterId = app.uploads.clusterOfBucket(ref.bucket);
  if (clusterId === undefined) throw err('UploadNotFound', `bucket ${ref.bucket} is not served here`, 'InputURL');
  const u = await app.uploads.registerMedia(ctx.accountId, clusterId, ref.key);
  return aliOk(reply, req.id, { MediaId: u.mediaId });
};
