// CreateUploadMedia (seed 003): creates a media asset and answers where and
// with what to upload its file. The file name is FileInfo.Name + "." + Ext;
// FileInfo.Size, when given, is enforced as the file's exact size. The four
// configuration objects and UserData are kept on the upload as sent (checked),
// and the upload records the access key that made the request: callbacks
// are signed with it.
import { validateFileName } from '../../../../domain/uploads/keys.js';
import { isPrivateHost } from '../../../../infra/net/public-address.js';
import { aliOk } from '../errors.js';
import type { AliAction } from '../index.js';
import { fileUrl, uploadCredentials } from './upload-auth.js';
import {
  fileInfoSpec,
  invalid,
  jsonParam,
  mediaMetaDataSpec,
  missing,
  optionalParam,
  postProcessConfigSpec,
  text,
  uploadTargetConfigSpec,
  userDataSpec,
} from './validate.js';

/** ICE's default application; every media asset belongs to one. */
const DEFAULT_APP_ID = 'app-1000000';

function parse(params: Record<string, string>, maxBytes: number, bucket: string) {
  const FileInfo = jsonParam(params, 'FileInfo', fileInfoSpec(maxBytes), ['Name', 'Ext']);
  // The vendor makes FileInfo optional; an audience file needs a name and an extension.
  if (!FileInfo) throw missing('FileInfo');
  const fileName = validateFileName(`${FileInfo.Name}.${FileInfo.Ext}`, 'FileInfo.Name');
  const UploadTargetConfig = jsonParam(params, 'UploadTargetConfig', uploadTargetConfigSpec);
  const location = UploadTargetConfig?.StorageLocation;
  if (location && location !== bucket && !location.startsWith(`${bucket}.`)) {
    throw invalid('UploadTargetConfig.StorageLocation', `must name the bucket ${bucket}, the only one ICE uploads go to here`);
  }
  return {
    fileName,
    size: FileInfo.Size,
    metadata: {
      AppId: optionalParam(params, 'AppId', text({ maxBytes: 32, pattern: /^app-\d{1,20}$/, hint: 'app- followed by digits' })) ?? DEFAULT_APP_ID,
      EntityId: optionalParam(params, 'EntityId', text({ maxBytes: 64, pattern: /^[A-Za-z0-9]+$/, hint: 'letters and digits' })),
      FileInfo: { Type: 'text', ...FileInfo },
      MediaMetaData: jsonParam(params, 'MediaMetaData', mediaMetaDataSpec),
      UploadTargetConfig,
      PostProcessConfig: jsonParam(params, 'PostProcessConfig', postProcessConfigSpec, ['ProcessType', 'ProcessID']),
      UserData: jsonParam(params, 'UserData', userDataSpec, [], 2048),
    },
  };
}

export const createUploadMedia: AliAction = async (app, ctx, req, reply) => {
  const conf = app.config.ice;
  const bucket = app.uploads.store(conf.clusterId).bucket;
  const input = parse(ctx.params, app.config.uploads.maxBytes, bucket);
  const callback = input.metadata.UserData?.MessageCallback?.CallbackURL;
  if (callback && !conf.callbackAllowPrivateAddresses && isPrivateHost(new URL(callback).hostname)) {
    throw invalid('UserData.MessageCallback.CallbackURL', 'must be a public address: this deployment does not call back to loopback or private networks');
  }
  const up = await app.uploads.create({
    accountId: ctx.accountId,
    keyId: ctx.accessKeyId,
    clusterId: conf.clusterId,
    dialect: 'aliyun-ice',
    fileName: input.fileName,
    declaredSize: input.size,
    ttlSeconds: conf.credentialTtlSeconds,
    scheme: 'oss',
    withMediaId: true,
    metadata: { ...input.metadata, requestId: req.id },
  });
  const url = fileUrl(app, up);
  return aliOk(reply, req.id, { MediaId: up.mediaId, MediaURL: url, FileURL: url, ...(await uploadCredentials(app, up)) });
};
