// Tencent Marketing API global parameters: access_token (issued per account
// through the native API or CLI, expiring, refreshable), timestamp (seconds,
// at most 300 s off) and nonce (at most 32 characters, never reused with the
// same access token). The vendor passes them in the query string; the seed's
// curl shows them as headers, so both are read.
import type { FastifyRequest } from 'fastify';
import type { App } from '../../../app.js';
import { err } from '../../../errors.js';
import { sha256Hex } from '../../../infra/crypto/ids.js';

function param(req: FastifyRequest, name: string): string | undefined {
  const q = (req.query as Record<string, unknown> | undefined)?.[name];
  if (typeof q === 'string' && q !== '') return q;
  const h = req.headers[name.replace(/_/g, '-')] ?? req.headers[name];
  return typeof h === 'string' && h !== '' ? h : undefined;
}

export async function authenticateAds(app: App, req: FastifyRequest): Promise<void> {
  const token = param(req, 'access_token');
  if (!token) throw err('Unauthenticated', 'access_token is required', 'access_token');
  const ts = param(req, 'timestamp');
  if (!ts) throw err('MissingParameter', 'timestamp is required', 'timestamp');
  if (!/^\d{1,12}$/.test(ts)) throw err('InvalidParameter', 'timestamp must be Unix time in seconds', 'timestamp');
  const nonce = param(req, 'nonce');
  if (!nonce) throw err('MissingParameter', 'nonce is required', 'nonce');
  if (nonce.length > 32) throw err('InvalidParameter', 'nonce must be at most 32 characters', 'nonce');
  const who = await app.accounts.verifyAccessToken(token);
  const skew = Math.abs(app.now() / 1000 - Number(ts));
  if (skew > app.config.auth.maxSkewSeconds) throw err('ClockSkew', `timestamp is ${Math.round(skew)} s away from the server's clock; at most ${app.config.auth.maxSkewSeconds} s are accepted`, 'timestamp');
  // A nonce must outlive the window in which its timestamp is still accepted.
  if (await app.accounts.useNonce(`ads:${sha256Hex(token)}`, nonce, 2 * app.config.auth.maxSkewSeconds * 1000)) {
    throw err('NonceReused', 'this nonce has been used before with this access_token', 'nonce');
  }
  req.accountId = who.accountId;
  req.accessKeyId = who.keyId;
}

/** The account in the body must be the one the access_token was issued for. */
export function checkAccount(req: FastifyRequest, accountId: number): string {
  const own = req.accountId!;
  if (String(accountId) !== own) throw err('Forbidden', `account_id ${accountId} is not the account of this access_token`, 'account_id');
  return own;
}
