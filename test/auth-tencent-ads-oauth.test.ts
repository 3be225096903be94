// Tencent Ads tokens end to end on the running server: issued for a key with
// POST /v1/tokens (Bearer), refreshed in the vendor's shape on
// GET /oauth/refresh_token and GET /oauth/token?grant_type=refresh_token
// (client_id = account id, client_secret = a key secret of that account),
// and refused once they expire or their key is revoked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { fetchJson, native } from './support/vendor-clients.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

async function issue(secret: string) {
  const r = await native(h, 'POST', '/v1/tokens', secret);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { access_token: string; refresh_token: string; access_token_expires_in: number; refresh_token_expires_in: number; account_id: string };
}

function refresh(path: '/oauth/refresh_token' | '/oauth/token', q: Record<string, string>) {
  const query = path === '/oauth/token' ? { grant_type: 'refresh_token', ...q } : q;
  return fetchJson(`${h.url}${path}?${new URLSearchParams(query)}`);
}

test('POST /v1/tokens issues a 24 h access token and a 30 day refresh token for the calling account', async () => {
  const t = await issue(h.account.secret);
  assert.equal(t.account_id, h.account.id);
  assert.equal(t.access_token_expires_in, 86_400);
  assert.equal(t.refresh_token_expires_in, 30 * 86_400);
  assert.match(t.access_token, /^[A-Za-z0-9]{40}$/);
  assert.notEqual(t.access_token, t.refresh_token);
});

for (const path of ['/oauth/refresh_token', '/oauth/token'] as const) {
  test(`GET ${path} exchanges the refresh token for a new access token in the vendor's envelope`, async () => {
    const t = await issue(h.account.secret);
    const r = await refresh(path, { client_id: h.account.id, client_secret: h.account.secret, refresh_token: t.refresh_token });
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    assert.equal(r.body.message, '');
    const d = r.body.data;
    assert.deepEqual(Object.keys(d).sort(), ['access_token', 'access_token_expires_in', 'refresh_token', 'refresh_token_expires_in']);
    assert.notEqual(d.access_token, t.access_token);
    assert.equal(d.refresh_token, t.refresh_token);
    assert.equal(d.access_token_expires_in, 86_400);
    // The new access token is a working one.
    assert.deepEqual(await h.app.accounts.verifyAccessToken(d.access_token), { accountId: h.account.id, keyId: h.account.accessKeyId });
  });
}

test('an access token expires after 24 h and a refresh gives a working one again', async () => {
  const t = await issue(h.account.secret);
  h.clock.offsetMs = 86_401_000;
  try {
    await assert.rejects(h.app.accounts.verifyAccessToken(t.access_token), { code: 'TokenExpired' });
    const r = await refresh('/oauth/refresh_token', { client_id: h.account.id, client_secret: h.account.secret, refresh_token: t.refresh_token });
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    // What is left of the refresh token's 30 days, not a fresh 30 days.
    const left = r.body.data.refresh_token_expires_in;
    assert.ok(left <= 29 * 86_400 - 1 && left > 29 * 86_400 - 10, String(left));
    await h.app.accounts.verifyAccessToken(r.body.data.access_token);
  } finally {
    h.clock.offsetMs = 0;
  }
});

test('a refresh token past its 30 days is refused with 11012 (refresh token expired)', async () => {
  const t = await issue(h.account.secret);
  h.clock.offsetMs = (30 * 86_400 + 1) * 1000;
  try {
    const r = await refresh('/oauth/token', { client_id: h.account.id, client_secret: h.account.secret, refresh_token: t.refresh_token });
    assert.equal(r.body.code, 11012, JSON.stringify(r.body));
  } finally {
    h.clock.offsetMs = 0;
  }
});

test('after its key is revoked, the refresh token is refused (11002) with that secret and with another key of the account', async () => {
  const acct = await h.newAccount('revokes-a-key');
  const spare = await native(h, 'POST', '/v1/keys', acct.secret);
  assert.equal(spare.status, 201);
  const t = await issue(acct.secret);
  const del = await native(h, 'DELETE', `/v1/keys/${acct.accessKeyId}`, spare.body.secret);
  assert.equal(del.status, 204);
  for (const secret of [acct.secret, spare.body.secret]) {
    const r = await refresh('/oauth/refresh_token', { client_id: acct.id, client_secret: secret, refresh_token: t.refresh_token });
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 11002, JSON.stringify(r.body));
  }
  await assert.rejects(h.app.accounts.verifyAccessToken(t.access_token), { code: 'InvalidToken' });
});

test("a client_secret of another account, or a refresh token of another account, is refused", async () => {
  const other = await h.newAccount('other-tenant');
  const mine = await issue(h.account.secret);
  const theirs = await issue(other.secret);
  const wrongSecret = await refresh('/oauth/refresh_token', { client_id: h.account.id, client_secret: other.secret, refresh_token: mine.refresh_token });
  assert.equal(wrongSecret.body.code, 11002, JSON.stringify(wrongSecret.body));
  const wrongToken = await refresh('/oauth/refresh_token', { client_id: h.account.id, client_secret: h.account.secret, refresh_token: theirs.refresh_token });
  assert.equal(wrongToken.body.code, 11002, JSON.stringify(wrongToken.body));
});

test('missing refresh parameters are named: client_id, client_secret, refresh_token', async () => {
  const full = { client_id: h.account.id, client_secret: h.account.secret, refresh_token: 'x' };
  for (const name of ['client_id', 'client_secret', 'refresh_token'] as const) {
    const { [name]: _gone, ...rest } = full;
    const r = await refresh('/oauth/refresh_token', rest);
    assert.equal(r.body.code, 31001, JSON.stringify(r.body));
    assert.ok(r.body.message_cn.includes(name), r.body.message_cn);
  }
  const grant = await fetchJson(`${h.url}/oauth/token?${new URLSearchParams({ ...full, grant_type: 'authorization_code' })}`);
  assert.equal(grant.body.code, 31002);
});
