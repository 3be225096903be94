// Accounts and key pairs on PostgreSQL: creation (through the service and the
// CLI's --database-url), listing, revoking and rotating keys through the
// native API, with every dialect's authenticator reading the same rows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { onPostgres } from './support/pg-harness.js';
import { aliCall, cli, createUploadUrl, fetchJson, mintegralHeaders, native, serviceSeconds, type Key } from './support/vendor-clients.js';
import type { Harness } from './support/harness.js';

const pg = onPostgres();

/** What three dialects answer for this key: 'ok' or their refusal. */
async function answers(h: Harness, key: Key) {
  const nat = await native(h, 'GET', '/v1/uploads', key.secret);
  const qs = new URLSearchParams({ area_type: '1', file_name: 'a.txt', file_md5: 'd41d8cd98f00b204e9800998ecf8427e' });
  const mtg = await fetchJson(`${h.url}/api/open/v1/audience/presigned-upload-data?${qs}`, { headers: mintegralHeaders(key, serviceSeconds(h)) });
  const tc = await createUploadUrl(h, key);
  return [nat.status === 200 ? 'ok' : nat.body.error.code, mtg.body.code === 200 ? 'ok' : String(mtg.body.code), tc.ok ? 'ok' : tc.code];
}
const WORKS = ['ok', 'ok', 'ok'];
const REFUSED = ['RevokedKey', '403', 'AuthFailure.SecretIdNotFound'];

pg.test('the service runs on PostgreSQL: no SQLite file in the data folder; a created account and its key work in every dialect', async (h) => {
  assert.match(h.config.database.url ?? '', /^postgres:\/\//);
  assert.equal(existsSync(join(h.config.dataDir, 'metadata.sqlite')), false);
  const acct = await h.newAccount('pg-created');
  const got = await h.app.accounts.get(acct.id);
  assert.equal(got.name, 'pg-created');
  assert.ok(Date.parse(got.createdAt) > 0);
  await assert.rejects(h.app.accounts.create('pg-created'), { code: 'AccountExists' });
  assert.deepEqual(await answers(h, acct), WORKS);
});

pg.test('the CLI creates an account in the same PostgreSQL database with --database-url', async (h) => {
  const env = { AUDIENCEHUB_MASTER_KEY: h.config.masterKey! };
  const r = await cli(['account', 'create', '--name', 'from-cli', '--json', '--database-url', h.config.database.url!, '--data-dir', h.config.dataDir], { env });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal((await h.app.accounts.get(out.account.id)).name, 'from-cli');
  assert.deepEqual(await answers(h, { accessKeyId: out.key.access_key_id, secret: out.key.secret }), WORKS);
  const refused = await cli(['account', 'list', '--database-url', h.config.database.url!, '--data-dir', h.config.dataDir]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /master key/);
});

pg.test('keys: a second key is created and listed; revoking one refuses it everywhere while the other works', async (h) => {
  const acct = await h.newAccount('pg-revokes');
  const r = await native(h, 'POST', '/v1/keys', acct.secret);
  assert.equal(r.status, 201);
  const spare: Key = { accessKeyId: r.body.access_key_id, secret: r.body.secret };
  const list = await native(h, 'GET', '/v1/keys', acct.secret);
  assert.deepEqual(list.body.items.map((k: { id: string }) => k.id).sort(), [acct.accessKeyId, spare.accessKeyId].sort());

  assert.equal((await native(h, 'DELETE', `/v1/keys/${acct.accessKeyId}`, spare.secret)).status, 204);
  assert.deepEqual(await answers(h, acct), REFUSED);
  assert.deepEqual(await answers(h, spare), WORKS);
  const after = await native(h, 'GET', '/v1/keys', spare.secret);
  const revoked = after.body.items.find((k: { id: string }) => k.id === acct.accessKeyId);
  assert.equal(revoked.status, 'revoked');
  assert.ok(Date.parse(revoked.revokedAt) > 0);
  assert.equal((await native(h, 'DELETE', `/v1/keys/${acct.accessKeyId}`, spare.secret)).status, 204, 'revoking again is not an error');
  assert.equal((await native(h, 'DELETE', `/v1/keys/AHK${'X'.repeat(21)}`, spare.secret)).status, 404);
});

pg.test('rotation issues a new key and revokes the old one and its tokens in one transaction; rotating it again is refused', async (h) => {
  const acct = await h.newAccount('pg-rotates');
  const tokens = (await native(h, 'POST', '/v1/tokens', acct.secret)).body;
  assert.deepEqual(await h.app.accounts.verifyAccessToken(tokens.access_token), { accountId: acct.id, keyId: acct.accessKeyId });
  const r = await native(h, 'POST', `/v1/keys/${acct.accessKeyId}/rotate`, acct.secret);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const fresh: Key = { accessKeyId: r.body.access_key_id, secret: r.body.secret };
  assert.deepEqual(await answers(h, acct), REFUSED);
  assert.deepEqual(await answers(h, fresh), WORKS);
  await assert.rejects(h.app.accounts.verifyAccessToken(tokens.access_token), { code: 'InvalidToken' });
  const again = await native(h, 'POST', `/v1/keys/${acct.accessKeyId}/rotate`, fresh.secret);
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'KeyAlreadyRevoked');
});

pg.test('a nonce is refused the second time in its scope, also when both uses race; expired nonces are pruned', async (h) => {
  const accounts = h.app.accounts;
  assert.equal(await accounts.useNonce('pg:a', 'n-1', 60_000), false);
  assert.equal(await accounts.useNonce('pg:a', 'n-1', 60_000), true);
  assert.equal(await accounts.useNonce('pg:b', 'n-1', 60_000), false, 'another scope may use the same nonce');
  const race = await Promise.all(Array.from({ length: 8 }, () => accounts.useNonce('pg:a', 'n-2', 60_000)));
  assert.equal(race.filter((seen) => !seen).length, 1, 'exactly one of the racing uses is first');
  h.clock.offsetMs = 61_000;
  try {
    assert.equal(await accounts.pruneNonces(), 3, 'the three nonces of this test; the dialects keep theirs for 600 s');
    assert.equal(await accounts.useNonce('pg:a', 'n-1', 60_000), false);
  } finally {
    h.clock.offsetMs = 0;
  }
});

pg.test('Aliyun: a SignatureNonce used twice with the same key is refused the second time (SignatureNonceUsed)', async (h) => {
  const nonce = randomUUID();
  const first = await aliCall(h, h.account, 'GetMediaInfo', { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  assert.notEqual(first.code, 'SignatureNonceUsed');
  const second = await aliCall(h, h.account, 'GetMediaInfo', { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  assert.deepEqual([second.status, second.code], [400, 'SignatureNonceUsed']);
});
