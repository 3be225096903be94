// Aliyun RPC style (Action and Version in the query or form body, signature V1),
// signed with the account's key pair (AccessKeyId = access key id).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../../app.js';
import { collectAliyunRpcParams, verifyAliyunRpc } from '../../../protocols/aliyun-rpc.js';
import { SignatureError } from '../../../protocols/types.js';
import { aliError } from './errors.js';
import { ICE_ACTIONS } from './ice/index.js';

export interface AliContext {
  accountId: string;
  accessKeyId: string;
  params: Record<string, string>;
}

export type AliAction = (app: App, ctx: AliContext, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** Every action served, by product version. */
const VERSIONS: Record<string, Record<string, AliAction>> = {
  '2020-11-09': ICE_ACTIONS,
};

async function authenticate(app: App, req: FastifyRequest, params: Record<string, string>) {
  const key = params.AccessKeyId ? await app.accounts.findKey(params.AccessKeyId) : undefined;
  let nonce: string | undefined;
  const id = verifyAliyunRpc(req.method, params, {
    lookupSecret: (k) => (key && k === key.accessKeyId ? key.secret : undefined),
    now: new Date(app.now()),
    maxSkewSeconds: app.config.auth.maxSkewSeconds,
    seenNonce: (n) => {
      nonce = n;
      return false;
    },
  });
  if (key!.status !== 'active') throw new SignatureError('InvalidAccessKeyId.Inactive', 'The specified AccessKey is disabled.', 400);
  // The nonce is remembered for twice the skew window: past that, its timestamp alone refuses a replay.
  if (nonce && (await app.accounts.useNonce(`aliyun:${key!.accessKeyId}`, nonce, 2 * app.config.auth.maxSkewSeconds * 1000))) {
    throw new SignatureError('SignatureNonceUsed', 'The request signature nonce has been used.', 400);
  }
  return { key: key!, action: id.action, version: id.version };
}

export async function aliyunRpc(f: FastifyInstance) {
  const app = f.app;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const rawQuery = (req.raw.url ?? '').split('?')[1] ?? '';
      const body = Buffer.isBuffer(req.body) && /x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '') ? req.body : undefined;
      const params = collectAliyunRpcParams(rawQuery, body);
      const { key, action, version } = await authenticate(app, req, params);
      const actions = VERSIONS[version];
      if (!actions) throw new SignatureError('InvalidVersion', `Specified parameter Version is not valid: ${version}`, 400);
      const run = actions[action];
      if (!run) throw new SignatureError('InvalidApi.NotFound', `Specified api is not found, please check your url and method: ${action}`, 404);
      req.accountId = key.accountId;
      req.accessKeyId = key.accessKeyId;
      return await run(app, { accountId: key.accountId, accessKeyId: key.accessKeyId, params }, req, reply);
    } catch (e) {
      return aliError(e, req, reply);
    }
  };
}
