// Token refresh in the vendor's shape: GET /oauth/refresh_token (v3 docs) or
// /oauth/token?grant_type=refresh_token (v1 docs), with client_id = the
// account id and client_secret = a key secret of that account.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { err } from '../../../errors.js';
import { adsError, adsOk } from './errors.js';

const Query = Type.Object({
  client_id: Type.Optional(Type.String()),
  client_secret: Type.Optional(Type.String()),
  refresh_token: Type.Optional(Type.String()),
  grant_type: Type.Optional(Type.String()),
});

export const adsOauth: FastifyPluginAsyncTypebox = async (f) => {
  f.setErrorHandler(adsError);
  const refresh = async (q: { client_id?: string; client_secret?: string; refresh_token?: string }) => {
    for (const name of ['client_id', 'client_secret', 'refresh_token'] as const) {
      if (!q[name]) throw err('MissingParameter', `${name} is required`, name);
    }
    const key = await f.app.accounts.findKeyBySecret(q.client_secret!);
    if (!key || key.accountId !== q.client_id) throw err('InvalidToken', 'client_id and client_secret do not match', 'client_secret');
    if (key.status !== 'active') throw err('RevokedKey', 'the key has been revoked', 'client_secret');
    const t = await f.app.accounts.refreshAccessToken(q.refresh_token!, { accessSeconds: f.app.config.auth.accessTokenTtlSeconds }, key.accountId);
    return adsOk({
      access_token: t.accessToken,
      refresh_token: t.refreshToken,
      access_token_expires_in: t.accessTokenExpiresIn,
      refresh_token_expires_in: t.refreshTokenExpiresIn,
    });
  };
  f.get('/refresh_token', { schema: { hide: true, querystring: Query } }, async (req) => refresh(req.query));
  f.get('/token', { schema: { hide: true, querystring: Query } }, async (req) => {
    if (req.query.grant_type !== 'refresh_token') throw err('InvalidParameter', 'grant_type must be refresh_token', 'grant_type');
    return refresh(req.query);
  });
};
