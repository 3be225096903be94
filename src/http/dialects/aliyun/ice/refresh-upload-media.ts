// RefreshUploadMedia: new upload credentials for a media asset made by
// CreateUploadMedia, either because the old ones expired or to replace the
// file. The record is reopened for one more file; a READY media keeps serving
// its current file until the new one is accepted whole and swapped in.
import { err } from '../../../../errors.js';
import { aliOk } from '../errors.js';
import type { AliAction } from '../index.js';
import { uploadCredentials } from './upload-auth.js';
import { mediaIdParam } from './validate.js';

export const refreshUploadMedia: AliAction = async (app, ctx, req, reply) => {
  const mediaId = mediaIdParam(ctx.params);
  const media = await app.uploads.getByMediaId(ctx.accountId, mediaId);
  // A registered object (RegisterMediaInfo) was uploaded through another protocol; ICE cannot upload to it.
  if (media.dialect !== 'aliyun-ice') {
    throw err('InvalidParameter', `MediaId ${mediaId} was registered, not created by CreateUploadMedia; it has no upload to refresh`, 'MediaId');
  }
  const up = await app.uploads.reopen(ctx.accountId, media.id, app.config.ice.credentialTtlSeconds);
  return aliOk(reply, req.id, { MediaId: mediaId, ...(await uploadCredentials(app, up)) });
};
