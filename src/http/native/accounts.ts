import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticateAdmin, authenticateBearer } from './auth.js';

const tag = ['accounts'];

/** Admin-only: creating and listing accounts. */
export const adminRoutes: FastifyPluginAsyncTypebox = async (f) => {
  f.addHook('onRequest', async (req) => authenticateAdmin(f.app, req));

  f.post(
    '/accounts',
    {
      schema: {
        tags: tag,
        summary: 'Create an account and its first key pair (the secret is shown only here)',
        security: [{ admin: [] }],
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const { account, key } = await f.app.accounts.create(req.body.name);
      return reply.status(201).send({ account, key: { access_key_id: key.accessKeyId, secret: key.secret } });
    },
  );

  f.get('/accounts', { schema: { tags: tag, summary: 'List accounts', security: [{ admin: [] }] } }, async () => ({ items: await f.app.accounts.list() }));
};

/** The calling account's own keys and tokens. */
export const accountRoutes: FastifyPluginAsyncTypebox = async (f) => {
  f.addHook('onRequest', async (req) => authenticateBearer(f.app, req));
  const sec = [{ bearer: [] }];

  f.get('/account', { schema: { tags: tag, summary: 'The calling account', security: sec } }, async (req) => f.app.accounts.get(req.accountId!));

  f.get('/keys', { schema: { tags: ['keys'], summary: "List the account's keys", security: sec } }, async (req) => ({ items: await f.app.accounts.listKeys(req.accountId!) }));

  f.post('/keys', { schema: { tags: ['keys'], summary: 'Create another key pair', security: sec } }, async (req, reply) => {
    const k = await f.app.accounts.createKey(req.accountId!);
    return reply.status(201).send({ access_key_id: k.accessKeyId, secret: k.secret });
  });

  const KeyParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

  f.delete('/keys/:id', { schema: { tags: ['keys'], summary: 'Revoke a key', security: sec, params: KeyParam } }, async (req, reply) => {
    await f.app.accounts.revokeKey(req.accountId!, req.params.id);
    return reply.status(204).send();
  });

  f.post('/keys/:id/rotate', { schema: { tags: ['keys'], summary: 'Issue a new key and revoke this one', security: sec, params: KeyParam } }, async (req, reply) => {
    const k = await f.app.accounts.rotateKey(req.accountId!, req.params.id);
    return reply.status(201).send({ access_key_id: k.accessKeyId, secret: k.secret, revoked: req.params.id });
  });

  const ttl = () => ({ accessSeconds: f.app.config.auth.accessTokenTtlSeconds, refreshSeconds: f.app.config.auth.refreshTokenTtlSeconds });

  f.post(
    '/tokens',
    { schema: { tags: ['tokens'], summary: 'Issue a Tencent Ads access token and refresh token for this key', security: sec } },
    async (req, reply) => reply.status(201).send(presentTokens(await f.app.accounts.issueTokens(req.accountId!, req.accessKeyId!, ttl()))),
  );
};

/** Refreshing needs only the refresh token, as with OAuth. */
export const tokenRefreshRoute: FastifyPluginAsyncTypebox = async (f) => {
  f.post(
    '/tokens/refresh',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Exchange a refresh token for a new access token',
        body: Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 128 }) }),
      },
    },
    async (req) => presentTokens(await f.app.accounts.refreshAccessToken(req.body.refresh_token, { accessSeconds: f.app.config.auth.accessTokenTtlSeconds })),
  );
};

export function presentTokens(t: { accessToken: string; refreshToken: string; accessTokenExpiresIn: number; refreshTokenExpiresIn: number; accountId: string }) {
  return {
    access_token: t.accessToken,
    refresh_token: t.refreshToken,
    access_token_expires_in: t.accessTokenExpiresIn,
    refresh_token_expires_in: t.refreshTokenExpiresIn,
    account_id: t.accountId,
  };
}
