// CreateUploadUrl (seed 002): a COS-style q-sign PUT URL and a ResourceUrl to
// pass to a later action. The object is deleted two hours after upload
// (tencentCloud.objectTtlSeconds).
import { err } from '../../../errors.js';
import { signCos } from '../../../protocols/cos-qsign.js';
import { tcOk } from './errors.js';
import type { TcAction } from './index.js';

const TARGET_ACTION = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

export const createUploadUrl: TcAction = async (app, ctx, req, reply) => {
  const target = ctx.params.TargetAction;
  if (target === undefined || target === '') throw err('MissingParameter', 'TargetAction is required', 'TargetAction');
  if (typeof target !== 'string' || !TARGET_ACTION.test(target)) {
    throw err('InvalidParameter', 'TargetAction must be an API action name (letters and digits, at most 64)', 'TargetAction');
  }
  const conf = app.config.tencentCloud;
  const cluster = app.config.clusters.find((c) => c.id === conf.clusterId)!;
  const up = await app.uploads.create({
    accountId: ctx.accountId,
    keyId: ctx.accessKeyId,
    clusterId: cluster.id,
    dialect: 'tencent-cloud',
    fileName: `${target}-${req.id}`,
    ttlSeconds: conf.urlTtlSeconds,
    objectTtlSeconds: conf.objectTtlSeconds,
    scheme: 'cos',
    metadata: { targetAction: target, region: ctx.region, requestId: req.id },
  });
  const start = Math.floor(app.now() / 1000);
  const end = start + conf.urlTtlSeconds;
  const cred = app.storeCredentials.forBucket(cluster.bucket);
  const base = new URL(app.config.publicUrl);
  const path = `/${cluster.bucket}/${up.storageKey}`;
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  const sign = (method: string) =>
    signCos({ method, path, secretId: cred.accessKeyId, secretKey: cred.secret, startTime: start, endTime: end, headers: { host: base.host } });
  const uploadUrl = `${app.config.publicUrl}${encodedPath}?${sign('PUT')}`;
  const resourceUrl = `${app.config.publicUrl}${encodedPath}?${sign('GET')}`;
  await app.uploads.setResourceUrl(up.id, resourceUrl);
  return tcOk(reply, req.id, { UploadUrl: uploadUrl, ResourceUrl: resourceUrl, ExpiredTimestamp: end });
};
