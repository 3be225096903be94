// An account manages its own key pairs through the native API: list, create,
// revoke, rotate. One key pair signs for every dialect, so a revoked or
// rotated-away key must be refused by every dialect at once, and the new key
// must work in each of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { aliCall, createUploadUrl, fetchJson, mintegralHeaders, native, serviceSeconds, type Key } from './support/vendor-clients.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

interface KeyOut {
  access_key_id: string;
  secret: string;
}
const asKey = (k: KeyOut): Key => ({ accessKeyId: k.access_key_id, secret: k.secret });

const ALIYUN_AUTH = ['InvalidAccessKeyId.NotFound', 'InvalidAccessKeyId.Inactive', 'SignatureDoesNotMatch', 'InvalidTimeStamp.Expired', 'SignatureNonceUsed'];

/** What each dialect answers for this key: 'ok' or its refusal code. */
async function everywhere(key: Key): Promise<Record<string, string>> {
  const nat = await native(h, 'GET', '/v1/uploads', key.secret);
  const qs = new URLSearchParams({ area_type: '1', file_name: 'a.txt', file_md5: 'd41d8cd98f00b204e9800998ecf8427e' });
  const mtg = await fetchJson(`${h.url}/api/open/v1/audience/presigned-upload-data?${qs}`, { headers: mintegralHeaders(key, serviceSeconds(h)) });
  const tc = await createUploadUrl(h, key);
  const ali = await aliCall(h, key, 'GetMediaInfo', { MediaId: 'a'.repeat(32) });
  const tokens = await native(h, 'POST', '/v1/tokens', key.secret);
  return {
    native: nat.status === 200 ? 'ok' : nat.body.error.code,
    mintegral: mtg.body.code === 200 ? 'ok' : `${mtg.status}/${mtg.body.code}`,
    tencentCloud: tc.ok ? 'ok' : tc.code,
    aliyun: ALIYUN_AUTH.includes(ali.code) ? `${ali.status}/${ali.code}` : 'ok',
    tencentAdsTokens: tokens.status === 201 ? 'ok' : tokens.body.error.code,
  };
}

const WORKS = { native: 'ok', mintegral: 'ok', tencentCloud: 'ok', aliyun: 'ok', tencentAdsTokens: 'ok' };
const REFUSED = {
  native: 'RevokedKey',
  mintegral: '403/403',
  tencentCloud: 'AuthFailure.SecretIdNotFound',
  aliyun: '400/InvalidAccessKeyId.Inactive',
  tencentAdsTokens: 'RevokedKey',
};

test('GET /v1/keys lists the caller\'s keys with status and times, never a secret', async () => {
  const r = await native(h, 'GET', '/v1/keys', h.account.secret);
  assert.equal(r.status, 200);
  assert.equal(r.body.items.length, 1);
  const k = r.body.items[0];
  assert.deepEqual(Object.keys(k).sort(), ['accountId', 'createdAt', 'id', 'lastUsedAt', 'revokedAt', 'status']);
  assert.equal(k.id, h.account.accessKeyId);
  assert.equal(k.accountId, h.account.id);
  assert.equal(k.status, 'active');
  assert.equal(k.revokedAt, null);
});

test('POST /v1/keys creates a second key pair that works in every dialect, alongside the first', async () => {
  const acct = await h.newAccount('two-keys');
  const r = await native(h, 'POST', '/v1/keys', acct.secret);
  assert.equal(r.status, 201);
  assert.match(r.body.access_key_id, /^AHK[A-Z0-9]{21}$/);
  assert.notEqual(r.body.secret, acct.secret);
  assert.deepEqual(await everywhere(asKey(r.body)), WORKS);
  assert.deepEqual(await everywhere(acct), WORKS);
  const list = await native(h, 'GET', '/v1/keys', acct.secret);
  assert.deepEqual(list.body.items.map((k: { id: string }) => k.id).sort(), [acct.accessKeyId, r.body.access_key_id].sort());
});

test('DELETE /v1/keys/:id revokes the key in every dialect; the account\'s other key still works', async () => {
  const acct = await h.newAccount('revokes');
  const spare = asKey((await native(h, 'POST', '/v1/keys', acct.secret)).body);
  const r = await native(h, 'DELETE', `/v1/keys/${acct.accessKeyId}`, spare.secret);
  assert.equal(r.status, 204);
  assert.deepEqual(await everywhere(acct), REFUSED);
  assert.deepEqual(await everywhere(spare), WORKS);
  const list = await native(h, 'GET', '/v1/keys', spare.secret);
  const revoked = list.body.items.find((k: { id: string }) => k.id === acct.accessKeyId);
  assert.equal(revoked.status, 'revoked');
  assert.ok(Date.parse(revoked.revokedAt) > 0);
  // Revoking again changes nothing and is not an error.
  assert.equal((await native(h, 'DELETE', `/v1/keys/${acct.accessKeyId}`, spare.secret)).status, 204);
});

test('a key may revoke itself; its next call is refused', async () => {
  const acct = await h.newAccount('self-revoker');
  assert.equal((await native(h, 'DELETE', `/v1/keys/${acct.accessKeyId}`, acct.secret)).status, 204);
  const r = await native(h, 'GET', '/v1/keys', acct.secret);
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'RevokedKey');
});

test('POST /v1/keys/:id/rotate issues a new key and revokes the old one: the old key is refused everywhere, the new one works everywhere', async () => {
  const acct = await h.newAccount('rotates');
  // Tokens minted from the old key before rotation die with it.
  const oldTokens = (await native(h, 'POST', '/v1/tokens', acct.secret)).body;
  const r = await native(h, 'POST', `/v1/keys/${acct.accessKeyId}/rotate`, acct.secret);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.revoked, acct.accessKeyId);
  assert.notEqual(r.body.access_key_id, acct.accessKeyId);
  const fresh = asKey(r.body);

  assert.deepEqual(await everywhere(acct), REFUSED);
  assert.deepEqual(await everywhere(fresh), WORKS);
  await assert.rejects(h.app.accounts.verifyAccessToken(oldTokens.access_token), { code: 'InvalidToken' });
  const refresh = await fetchJson(`${h.url}/oauth/refresh_token?${new URLSearchParams({ client_id: acct.id, client_secret: fresh.secret, refresh_token: oldTokens.refresh_token })}`);
  assert.equal(refresh.body.code, 11002, JSON.stringify(refresh.body));

  const list = await native(h, 'GET', '/v1/keys', fresh.secret);
  assert.deepEqual(
    list.body.items.map((k: { id: string; status: string }) => [k.id, k.status]).sort(),
    [[acct.accessKeyId, 'revoked'], [fresh.accessKeyId, 'active']].sort(),
  );
});

test('rotating a key that is already revoked is refused and issues nothing', async () => {
  const acct = await h.newAccount('rotates-twice');
  const first = await native(h, 'POST', `/v1/keys/${acct.accessKeyId}/rotate`, acct.secret);
  const again = await native(h, 'POST', `/v1/keys/${acct.accessKeyId}/rotate`, first.body.secret);
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'KeyAlreadyRevoked');
  assert.equal(again.body.error.field, 'key_id');
  assert.equal((await native(h, 'GET', '/v1/keys', first.body.secret)).body.items.length, 2);
});

test("an account cannot revoke, rotate or see another account's keys (404, nothing changes)", async () => {
  const victim = await h.newAccount('victim');
  const del = await native(h, 'DELETE', `/v1/keys/${victim.accessKeyId}`, h.account.secret);
  assert.equal(del.status, 404);
  assert.equal(del.body.error.field, 'key_id');
  const rot = await native(h, 'POST', `/v1/keys/${victim.accessKeyId}/rotate`, h.account.secret);
  assert.equal(rot.status, 404);
  const mine = await native(h, 'GET', '/v1/keys', h.account.secret);
  assert.ok(!mine.body.items.some((k: { id: string }) => k.id === victim.accessKeyId));
  assert.deepEqual(await everywhere(victim), WORKS);
});
