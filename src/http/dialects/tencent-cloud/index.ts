// Tencent Cloud API 3.0 (seed 002): POST / with X-TC-Action and a TC3-HMAC-SHA256
// signature made with the account's key pair (SecretId = access key id).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../../app.js';
import { err } from '../../../errors.js';
import { verifyTc3 } from '../../../protocols/tc3.js';
import { SignatureError } from '../../../protocols/types.js';
import { keyVerifyOptions } from '../../context.js';
import { RateLimiter } from '../../rate-limit.js';
import { createUploadUrl } from './create-upload-url.js';
import { tcError } from './errors.js';

export type TcAction = (app: App, ctx: TcContext, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface TcContext {
  accountId: string;
  accessKeyId: string;
  region: string;
  params: Record<string, unknown>;
}

const ACTIONS: Record<string, { version: string; run: TcAction }> = {
  CreateUploadUrl: { version: '2018-03-01', run: createUploadUrl },
};

async function authenticate(app: App, req: FastifyRequest, body: Buffer) {
  const m = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''));
  const key = m ? await app.accounts.findKey(m[1]) : undefined;
  verifyTc3({ method: req.method, rawPath: (req.raw.url ?? '/').split('?')[0], rawQuery: (req.raw.url ?? '').split('?')[1] ?? '', headers: req.headers }, body, keyVerifyOptions(app, key));
  if (key!.status !== 'active') throw new SignatureError('AuthFailure.SecretIdNotFound', 'The SecretId has been revoked.', 200);
  return key!;
}

function parseParams(req: FastifyRequest, body: Buffer): Record<string, unknown> {
  if (req.method === 'GET') return Object.fromEntries(new URLSearchParams((req.raw.url ?? '').split('?')[1] ?? ''));
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch {
    throw err('InvalidRequest', 'the request body must be a JSON object');
  }
}

export async function tencentCloud(f: FastifyInstance) {
  const app = f.app;
  const limiter = new RateLimiter(app.config.tencentCloud.requestsPerSecond, app.now);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const name = String(req.headers['x-tc-action']);
      const key = await authenticate(app, req, body);
      const action = ACTIONS[name];
      if (!action) throw new SignatureError('InvalidAction', `The action ${name} is not supported.`, 200);
      const version = req.headers['x-tc-version'];
      if (version !== undefined && version !== action.version) {
        throw new SignatureError('NoSuchVersion', `The API version ${version} does not exist for ${name}; use ${action.version}.`, 200);
      }
      const region = String(req.headers['x-tc-region'] ?? '');
      if (!region) throw err('MissingParameter', 'the Region parameter (X-TC-Region) is required', 'Region');
      if (!app.config.tencentCloud.regions.includes(region)) {
        throw err('UnsupportedRegion', `${name} is not supported in region ${region}; supported: ${app.config.tencentCloud.regions.join(', ')}`, 'Region');
      }
      if (!limiter.take(`${key.accountId}:${name}`)) {
        throw err('RateLimited', `${name} allows ${app.config.tencentCloud.requestsPerSecond} requests per second per account`);
      }
      req.accountId = key.accountId;
      req.accessKeyId = key.accessKeyId;
      return await action.run(app, { accountId: key.accountId, accessKeyId: key.accessKeyId, region, params: parseParams(req, body) }, req, reply);
    } catch (e) {
      return tcError(e, req, reply);
    }
  };
}
