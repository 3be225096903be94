// The Mintegral call refuses a caller it cannot trust with Mintegral's own
// envelope and code (see src/protocols/mintegral.ts), and issues nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { listAll, md5, mintegralHeaders, mintegralPresign, serviceSeconds } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const query = { area_type: '1', file_name: 'test.txt', file_md5: md5('a\n') };

async function refused(headers: Record<string, string>, want: { code: number; http: number; msg: RegExp }) {
  const before = (await listAll(h)).length;
  const res = await mintegralPresign(h, query, { headers });
  assert.equal(res.status, want.http, JSON.stringify(res.body));
  assert.equal(res.body.code, want.code, JSON.stringify(res.body));
  assert.match(res.body.msg, want.msg);
  assert.equal(res.body.data, null);
  assert.equal((await listAll(h)).length, before, 'no upload was issued');
}

test('the right headers are accepted (the baseline the refusals below differ from)', async () => {
  const res = await mintegralPresign(h, query);
  assert.equal(res.status, 200);
  assert.equal(res.body.code, 200);
});

test('an unknown access-key is refused with code 403', async () => {
  const ts = serviceSeconds(h);
  await refused(mintegralHeaders({ accessKeyId: 'AHKNOSUCHKEY000000000000', secret: h.account.secret }, ts), { code: 403, http: 403, msg: /access-key/ });
});

test('a revoked key is refused with code 403, though its token is right', async () => {
  const key = await h.app.accounts.createKey(h.account.id);
  assert.equal((await mintegralPresign(h, query, { key })).body.code, 200, 'the key works before it is revoked');
  await h.app.accounts.revokeKey(h.account.id, key.accessKeyId);
  await refused(mintegralHeaders(key, serviceSeconds(h)), { code: 403, http: 403, msg: /revoked/ });
});

test('a timestamp more than 300 s away from the server clock is refused with code 402 (either direction)', async () => {
  // Each timestamp is taken just before its call, a few seconds beyond the
  // window, so that a slow test machine cannot bring it back inside.
  await refused(mintegralHeaders(h.account, serviceSeconds(h) - 305), { code: 402, http: 401, msg: /timestamp/ });
  await refused(mintegralHeaders(h.account, serviceSeconds(h) + 310), { code: 402, http: 401, msg: /timestamp/ });
  // Just inside the window is fine.
  assert.equal((await mintegralPresign(h, query, { headers: mintegralHeaders(h.account, serviceSeconds(h) - 290) })).body.code, 200);
});

test('the same signed headers go stale when the server clock moves on by more than 300 s', async () => {
  const headers = mintegralHeaders(h.account, serviceSeconds(h));
  h.clock.offsetMs = 305_000;
  try {
    await refused(headers, { code: 402, http: 401, msg: /timestamp/ });
  } finally {
    h.clock.offsetMs = 0;
  }
});

test('a token that is not md5(api_key + md5(timestamp)) is refused with code 401', async () => {
  const ts = serviceSeconds(h);
  const good = mintegralHeaders(h.account, ts);
  await refused({ ...good, token: md5('not the token') }, { code: 401, http: 401, msg: /token/ });
  // A token made with the wrong secret, or for another timestamp.
  await refused({ ...good, token: mintegralHeaders({ accessKeyId: h.account.accessKeyId, secret: 'wrong-secret' }, ts).token }, { code: 401, http: 401, msg: /token/ });
  await refused({ ...good, token: mintegralHeaders(h.account, ts - 1).token }, { code: 401, http: 401, msg: /token/ });
});

test('each missing header is refused with code 401 naming the header', async () => {
  const good = mintegralHeaders(h.account, serviceSeconds(h));
  for (const name of ['access-key', 'token', 'timestamp']) {
    const headers = { ...good };
    delete headers[name as keyof typeof headers];
    await refused(headers, { code: 401, http: 401, msg: new RegExp(name) });
  }
  await refused({ ...good, timestamp: '2024-01-01T00:00:00Z' }, { code: 401, http: 401, msg: /timestamp/ });
});
