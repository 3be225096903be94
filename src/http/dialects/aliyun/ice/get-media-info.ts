// GetMediaInfo: a media asset by MediaId, or (as the vendor allows when
// MediaId is empty) by the InputURL of its object. Another account's media is
// "not found", exactly like a missing one.
import type { App } from '../../../../app.js';
import type { Upload } from '../../../../domain/uploads/types.js';
import { err } from '../../../../errors.js';
import { aliOk } from '../errors.js';
import type { AliAction, AliContext } from '../index.js';
import { mediaInfo } from './media-info.js';
import { bucketOf, fileUrl } from './upload-auth.js';
import { mediaIdParam, missing, parseObjectUrl } from './validate.js';

async function find(app: App, ctx: AliContext): Promise<Upload> {
  if (ctx.params.MediaId) return app.uploads.getByMediaId(ctx.accountId, mediaIdParam(ctx.params));
  if (!ctx.params.InputURL) throw missing('MediaId');
  const ref = parseObjectUrl(ctx.params.InputURL, app.config.publicUrl);
  const clusterId = app.uploads.clusterOfBucket(ref.bucket);
  const u = clusterId === undefined ? undefined : await app.uploads.getByKey(ctx.accountId, clusterId, ref.key);
  // An object nobody registered is not a media asset.
  if (!u?.mediaId) throw err('UploadNotFound', `no media asset is registered for ${ctx.params.InputURL}`, 'InputURL');
  return u;
}

export const getMediaInfo: AliAction = async (app, ctx, req, reply) => {
  const u = await find(app, ctx);
  const region = app.config.clusters.find((c) => c.id === u.clusterId)?.region ?? '';
  const urls = { inputUrl: `oss://${bucketOf(u)}/${u.storageKey}`, fileUrl: fileUrl(app, u), region };
  return aliOk(reply, req.id, { MediaInfo: mediaInfo(u, urls, await app.callbacks.list(u.id)) });
};
