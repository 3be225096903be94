// Tencent Marketing API global parameters: access_token, timestamp (at most
// 300 s off) and nonce (never reused with the same token), in the query
// string or, as the seed's curl shows, as headers. The /v1.3 scope has no
// routes yet, so the dialect's hook and error handler are registered here
// exactly as tencentAdsApi registers them, around a probe route, on the App
// of a running harness. Codes: src/http/dialects/tencent-ads/errors.ts
// (vendor table developers.e.qq.com/v3.0/docs/errors).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import '../src/http/context.js';
import { authenticateAds } from '../src/http/dialects/tencent-ads/auth.js';
import { adsError, adsOk } from '../src/http/dialects/tencent-ads/errors.js';
import { startHarness, type Harness } from './support/harness.js';
import { native, serviceSeconds } from './support/vendor-clients.js';

let h: Harness;
let ads: FastifyInstance;
let token: string;
let revokedToken: string;

async function issue(secret: string): Promise<{ access_token: string; refresh_token: string }> {
  const r = await native(h, 'POST', '/v1/tokens', secret);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

before(async () => {
  h = await startHarness();
  ads = Fastify();
  ads.decorate('app', h.app);
  await ads.register(
    async (f) => {
      f.setErrorHandler(adsError);
      f.addHook('onRequest', async (req) => authenticateAds(f.app, req));
      f.get('/probe', async (req) => adsOk({ account_id: req.accountId, key_id: req.accessKeyId }));
    },
    { prefix: '/v1.3' },
  );
  await ads.ready();
  token = (await issue(h.account.secret)).access_token;
  const doomed = await h.newAccount('revoked-key-owner');
  revokedToken = (await issue(doomed.secret)).access_token;
  const del = await native(h, 'DELETE', `/v1/keys/${doomed.accessKeyId}`, doomed.secret);
  assert.equal(del.status, 204);
});
after(async () => {
  await ads.close();
  await h.close();
});

type Params = Partial<Record<'access_token' | 'timestamp' | 'nonce', string>>;

async function probe(params: Params, as: 'query' | 'headers' = 'query') {
  const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const res =
    as === 'query'
      ? await ads.inject({ method: 'GET', url: `/v1.3/probe?${new URLSearchParams(defined)}` })
      : await ads.inject({ method: 'GET', url: '/v1.3/probe', headers: Object.fromEntries(Object.entries(defined).map(([k, v]) => [k.replace(/_/g, '-'), v])) });
  return { status: res.statusCode, body: res.json() };
}

const fresh = (over: Params = {}): Params => ({ access_token: token, timestamp: String(serviceSeconds(h)), nonce: randomUUID().replace(/-/g, ''), ...over });

const rows: Array<{ name: string; params: () => Params; code: number; field: string }> = [
  { name: 'no access_token', params: () => fresh({ access_token: undefined }), code: 11005, field: 'access_token' },
  { name: 'no timestamp', params: () => fresh({ timestamp: undefined }), code: 12000, field: 'timestamp' },
  { name: 'no nonce', params: () => fresh({ nonce: undefined }), code: 12000, field: 'nonce' },
  { name: 'an access_token never issued', params: () => fresh({ access_token: 'A'.repeat(40) }), code: 11002, field: 'access_token' },
  { name: 'an access_token with one character changed', params: () => fresh({ access_token: (token[0] === 'a' ? 'b' : 'a') + token.slice(1) }), code: 11002, field: 'access_token' },
  { name: 'the access_token of a revoked key', params: () => fresh({ access_token: revokedToken }), code: 11002, field: 'access_token' },
  // 302 rather than 301: timestamp is whole seconds, the server's clock is not.
  { name: 'a timestamp 302 s in the past', params: () => fresh({ timestamp: String(serviceSeconds(h) - 302) }), code: 11001, field: 'timestamp' },
  { name: 'a timestamp 302 s in the future', params: () => fresh({ timestamp: String(serviceSeconds(h) + 302) }), code: 11001, field: 'timestamp' },
  { name: 'a nonce longer than 32 characters', params: () => fresh({ nonce: 'n'.repeat(33) }), code: 31002, field: 'nonce' },
];

for (const row of rows) {
  for (const as of ['query', 'headers'] as const) {
    test(`a call with ${row.name} (in the ${as}) is refused with code ${row.code}, HTTP 200`, async () => {
      const r = await probe(row.params(), as);
      assert.equal(r.status, 200);
      assert.equal(r.body.code, row.code, JSON.stringify(r.body));
      assert.deepEqual(r.body.data, {});
      assert.match(r.body.message, /trace_id: /);
      assert.ok(r.body.message_cn.includes(`字段：${row.field}`), r.body.message_cn);
    });
  }
}

test('a nonce is accepted once per access_token: the replay is refused with 11003', async () => {
  const params = fresh();
  const first = await probe(params);
  assert.equal(first.body.code, 0, JSON.stringify(first.body));
  const replay = await probe(params);
  assert.equal(replay.body.code, 11003);
  const replayAsHeaders = await probe(params, 'headers');
  assert.equal(replayAsHeaders.body.code, 11003);
});

test('the same nonce may be used with another access_token', async () => {
  const other = (await issue(h.account.secret)).access_token;
  const nonce = randomUUID().replace(/-/g, '');
  assert.equal((await probe(fresh({ nonce }))).body.code, 0);
  assert.equal((await probe(fresh({ nonce, access_token: other }))).body.code, 0);
});

test('a valid call authenticates as the account and key the token was issued for', async () => {
  for (const as of ['query', 'headers'] as const) {
    const r = await probe(fresh(), as);
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    assert.deepEqual(r.body.data, { account_id: h.account.id, key_id: h.account.accessKeyId });
    assert.equal(r.body.message, '');
  }
});

test('an access_token past its 24 h life is refused with 11000 (expired), not as unknown', async () => {
  const t = (await issue(h.account.secret)).access_token;
  h.clock.offsetMs = (h.config.auth.accessTokenTtlSeconds + 1) * 1000;
  try {
    const r = await probe(fresh({ access_token: t }));
    assert.equal(r.body.code, 11000, JSON.stringify(r.body));
  } finally {
    h.clock.offsetMs = 0;
  }
  assert.equal((await probe(fresh({ access_token: t }))).body.code, 0);
});
