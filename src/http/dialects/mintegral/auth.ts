// Mintegral token auth: headers access-key, token = md5(api_key + md5(timestamp)), timestamp.
import type { FastifyRequest } from 'fastify';
import type { App } from '../../../app.js';
import { MINTEGRAL_UNKNOWN_ACCESS_KEY, verifyMintegral } from '../../../protocols/mintegral.js';
import { SignatureError, headerValue } from '../../../protocols/types.js';
import { keyVerifyOptions } from '../../context.js';

export async function authenticateMintegral(app: App, req: FastifyRequest): Promise<void> {
  const accessKey = headerValue(req.headers, 'access-key');
  const key = accessKey ? await app.accounts.findKey(accessKey) : undefined;
  verifyMintegral(req.headers, keyVerifyOptions(app, key));
  if (key!.status !== 'active') throw new SignatureError(MINTEGRAL_UNKNOWN_ACCESS_KEY, 'The access-key has been revoked.', 403);
  req.accountId = key!.accountId;
  req.accessKeyId = key!.accessKeyId;
}
