// The native API (/v1) authenticates with `Authorization: Bearer <secret>` or
// `Bearer <access key id>:<secret>` and refuses everything else in its own
// shape: {"error": {"code", "message", "field", "request_id"}} with the real
// HTTP status. A Bearer token carries no timestamp and no nonce, so clock
// skew and replay do not apply to this scheme (TLS protects the secret).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { native, type Key } from './support/vendor-clients.js';

let h: Harness;
let revoked: Key;
before(async () => {
  h = await startHarness();
  revoked = await h.newRevokedKey('revoked-key-owner');
});
after(() => h.close());

const rows: Array<{ name: string; token: () => string | undefined; status: number; code: string }> = [
  { name: 'no Authorization header', token: () => undefined, status: 401, code: 'Unauthenticated' },
  { name: 'an empty Bearer', token: () => '', status: 401, code: 'Unauthenticated' },
  { name: 'a secret no key has', token: () => 'x'.repeat(40), status: 401, code: 'UnknownKey' },
  { name: 'a known key id with a wrong secret', token: () => `${h.account.accessKeyId}:${'y'.repeat(40)}`, status: 401, code: 'UnknownKey' },
  { name: "a secret paired with another key's id", token: () => `${revoked.accessKeyId}:${h.account.secret}`, status: 401, code: 'UnknownKey' },
  { name: 'the secret of a revoked key', token: () => revoked.secret, status: 401, code: 'RevokedKey' },
  { name: 'id:secret of a revoked key', token: () => `${revoked.accessKeyId}:${revoked.secret}`, status: 401, code: 'RevokedKey' },
];

for (const row of rows) {
  test(`GET /v1/uploads with ${row.name} is refused: HTTP ${row.status} ${row.code}`, async () => {
    const r = await native(h, 'GET', '/v1/uploads', row.token());
    assert.equal(r.status, row.status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, row.code);
    assert.equal(r.body.error.field, 'Authorization');
    assert.equal(typeof r.body.error.request_id, 'string');
  });
}

test('a Basic Authorization header is refused as Unauthenticated, not treated as a Bearer', async () => {
  const r = await fetch(`${h.url}/v1/uploads`, { headers: { authorization: `Basic ${Buffer.from(`u:${h.account.secret}`).toString('base64')}` } });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error.code, 'Unauthenticated');
});

test('a refused POST /v1/uploads creates nothing', async () => {
  const r = await native(h, 'POST', '/v1/uploads', revoked.secret, { file_name: 'a.txt' });
  assert.equal(r.status, 401);
  const rows = await h.app.db.selectFrom('uploads').select('id').execute();
  assert.deepEqual(rows, []);
});

test('both accepted forms, the secret alone and id:secret, authenticate as the account', async () => {
  for (const token of [h.account.secret, `${h.account.accessKeyId}:${h.account.secret}`]) {
    const r = await native(h, 'GET', '/v1/account', token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.id, h.account.id);
  }
});
