// Mintegral open API authentication: headers access-key, timestamp and
// token = md5(secret + md5(timestamp)). Mintegral publishes no table of
// authentication codes; ours (src/protocols/mintegral.ts) are 401 for a
// missing header or a wrong token, 402 for a timestamp more than 300 s off
// (HTTP 401), 403 for an unknown or revoked access-key, all in Mintegral's
// envelope {code, msg, data}. The scheme has no nonce.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startHarness, type Harness } from './support/harness.js';
import { fetchJson, mintegralHeaders, serviceSeconds, type Key } from './support/vendor-clients.js';

let h: Harness;
let revoked: Key;
before(async () => {
  h = await startHarness();
  revoked = await h.newRevokedKey('revoked-key-owner');
});
after(() => h.close());

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const CONTENT = 'id\n00000000-0000-0000-0000-000000000001\n';

function presign(headers: Record<string, string>) {
  const qs = new URLSearchParams({ area_type: '1', file_name: 'audience.txt', file_md5: md5(CONTENT) });
  return fetchJson(`${h.url}/api/open/v1/audience/presigned-upload-data?${qs}`, { headers });
}

const without = (headers: Record<string, string>, name: string) => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));

const rows: Array<{ name: string; headers: () => Record<string, string>; status: number; code: number }> = [
  { name: 'no credentials at all', headers: () => ({}), status: 401, code: 401 },
  { name: 'no token header', headers: () => without(mintegralHeaders(h.account, serviceSeconds(h)), 'token'), status: 401, code: 401 },
  { name: 'no timestamp header', headers: () => without(mintegralHeaders(h.account, serviceSeconds(h)), 'timestamp'), status: 401, code: 401 },
  { name: 'a timestamp that is not Unix seconds', headers: () => ({ ...mintegralHeaders(h.account, serviceSeconds(h)), timestamp: 'yesterday' }), status: 401, code: 401 },
  { name: 'an access-key nobody has', headers: () => mintegralHeaders({ accessKeyId: 'AHKNOSUCHKEY000000000000', secret: h.account.secret }, serviceSeconds(h)), status: 403, code: 403 },
  { name: 'a revoked access-key', headers: () => mintegralHeaders(revoked, serviceSeconds(h)), status: 403, code: 403 },
  { name: 'a token made with the wrong secret', headers: () => mintegralHeaders({ ...h.account, secret: 'not-the-secret' }, serviceSeconds(h)), status: 401, code: 401 },
  {
    name: 'a token made for another timestamp',
    headers: () => ({ ...mintegralHeaders(h.account, serviceSeconds(h) - 1), timestamp: String(serviceSeconds(h)) }),
    status: 401,
    code: 401,
  },
  // 302 rather than 301: the header is whole seconds, the server's clock is not.
  { name: 'a timestamp 302 s in the past', headers: () => mintegralHeaders(h.account, serviceSeconds(h) - 302), status: 401, code: 402 },
  { name: 'a timestamp 302 s in the future', headers: () => mintegralHeaders(h.account, serviceSeconds(h) + 302), status: 401, code: 402 },
];

for (const row of rows) {
  test(`presigned-upload-data with ${row.name} is refused: HTTP ${row.status}, code ${row.code}`, async () => {
    const r = await presign(row.headers());
    assert.equal(r.status, row.status, JSON.stringify(r.body));
    assert.equal(r.body.code, row.code, JSON.stringify(r.body));
    assert.equal(r.body.data, null);
    assert.equal(typeof r.body.msg, 'string');
    assert.equal(r.body.msg, r.body.message);
  });
}

test('a timestamp within the 300 s window (290 s off either way) is accepted', async () => {
  for (const skew of [-290, 290]) {
    const r = await presign(mintegralHeaders(h.account, serviceSeconds(h) + skew));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.code, 200);
  }
});

test("the window follows the server's clock: a client 10 minutes behind is refused with 402, then accepted once it catches up", async () => {
  const clientSeconds = serviceSeconds(h);
  h.clock.offsetMs = 600_000;
  try {
    const r = await presign(mintegralHeaders(h.account, clientSeconds));
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 402);
    const ok = await presign(mintegralHeaders(h.account, serviceSeconds(h)));
    assert.equal(ok.body.code, 200, JSON.stringify(ok.body));
  } finally {
    h.clock.offsetMs = 0;
  }
});

test('a refused call issues no upload', async () => {
  const before = (await h.app.db.selectFrom('uploads').select('id').execute()).length;
  await presign(mintegralHeaders(revoked, serviceSeconds(h)));
  await presign(mintegralHeaders(h.account, serviceSeconds(h) - 400));
  const afterCount = (await h.app.db.selectFrom('uploads').select('id').execute()).length;
  assert.equal(afterCount, before);
});
