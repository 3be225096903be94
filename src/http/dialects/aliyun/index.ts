// Aliyun RPC style, signed with the account's key pair (AccessKeyId = access
// key id) in either of Aliyun's schemes:
// - signature V1: Action, Version and the signature in the query or form body;
// - signature V3 (Authorization: ACS3-HMAC-SHA256 …): Action and Version in the
//   x-acs-action and x-acs-version headers, the parameters in the query (as
//   @alicloud/openapi-client sends RPC calls) or a form body.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../../app.js';
import type { KeyRecord } from '../../../domain/accounts/service.js';
import { acs3AccessKeyId, isAcs3Authorization, verifyAcs3 } from '../../../protocols/aliyun-acs3.js';
import { collectAliyunRpcParams, verifyAliyunRpc } from '../../../protocols/aliyun-rpc.js';
import { SignatureError } from '../../../protocols/types.js';
import { keyVerifyOptions } from '../../context.js';
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

/** What both schemes share once a signature verified: the key must be active and the nonce new. */
async function admit(app: App, key: KeyRecord, nonce: string): Promise<void> {
  if (key.status !== 'active') throw new SignatureError('InvalidAccessKeyId.Inactive', 'The specified AccessKey is disabled.', 400);
  // The nonce is remembered for twice the skew window: past that, its timestamp alone refuses a replay.
  if (nonce && (await app.accounts.useNonce(`aliyun:${key.accessKeyId}`, nonce, 2 * app.config.auth.maxSkewSeconds * 1000))) {
    throw new SignatureError('SignatureNonceUsed', 'The request signature nonce has been used.', 400);
  }
}

async function authenticate(app: App, req: FastifyRequest, params: Record<string, string>) {
  const key = params.AccessKeyId ? await app.accounts.findKey(params.AccessKeyId) : undefined;
  let nonce: string | undefined;
  const id = verifyAliyunRpc(req.method, params, {
    ...keyVerifyOptions(app, key),
    seenNonce: (n) => {
      nonce = n;
      return false;
    },
  });
  await admit(app, key!, nonce ?? '');
  return { key: key!, action: id.action, version: id.version };
}

async function authenticateAcs3(app: App, req: FastifyRequest, rawQuery: string) {
  const accessKeyId = acs3AccessKeyId(req.headers);
  const key = accessKeyId ? await app.accounts.findKey(accessKeyId) : undefined;
  const [rawPath] = (req.raw.url ?? '/').split('?');
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const id = verifyAcs3({ method: req.method, rawPath, rawQuery, headers: req.headers }, body, keyVerifyOptions(app, key));
  await admit(app, key!, id.nonce);
  return { key: key!, action: id.action, version: id.version };
}

export async function aliyunRpc(f: FastifyInstance) {
  const app = f.app;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const rawQuery = (req.raw.url ?? '').split('?')[1] ?? '';
      const body = Buffer.isBuffer(req.body) && /x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '') ? req.body : undefined;
      const params = collectAliyunRpcParams(rawQuery, body);
      // V3 when signed so, or when only x-acs-action names the action (V1 requests may carry it too, beside Action).
      const acs3 = isAcs3Authorization(req.headers.authorization) || (params.Action === undefined && req.headers['x-acs-action'] !== undefined);
      const { key, action, version } = acs3 ? await authenticateAcs3(app, req, rawQuery) : await authenticate(app, req, params);
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
