// Aliyun RPC signature V1, driven by the vendor's @alicloud/pop-core client.
// Refusals use the OpenAPI gateway's client error codes and statuses
// ("管控OpenAPI的客户端公用错误码"): InvalidTimeStamp.Expired 400,
// SignatureNonceUsed 400, InvalidAccessKeyId.NotFound 404,
// InvalidAccessKeyId.Inactive 400, SignatureDoesNotMatch 400,
// Missing{Parameter} 400, in {RequestId, HostId, Code, Message, Recommend}.
// Authentication happens before the action is looked up, so these hold
// whatever ICE actions exist.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startHarness, type Harness } from './support/harness.js';
import { aliCall, fetchJson, type Key } from './support/vendor-clients.js';

let h: Harness;
let revoked: Key;
before(async () => {
  h = await startHarness();
  revoked = await h.newRevokedKey('revoked-key-owner');
});
after(() => h.close());

const AUTH_CODES = ['InvalidTimeStamp.Expired', 'SignatureNonceUsed', 'InvalidAccessKeyId.NotFound', 'InvalidAccessKeyId.Inactive', 'SignatureDoesNotMatch'];
const ACTION = 'GetMediaInfo';

// pop-core stamps whole seconds; 305 s keeps the skew above 300 s whatever the sub-second parts.
const rows: Array<{ name: string; key: () => Key; clockMs?: number; code: string; status: number }> = [
  { name: 'a client clock 305 s behind the server', key: () => h.account, clockMs: 305_000, code: 'InvalidTimeStamp.Expired', status: 400 },
  { name: 'a client clock 305 s ahead of the server', key: () => h.account, clockMs: -305_000, code: 'InvalidTimeStamp.Expired', status: 400 },
  { name: 'an AccessKeyId nobody has', key: () => ({ accessKeyId: 'AHKNOSUCHKEY000000000000', secret: h.account.secret }), code: 'InvalidAccessKeyId.NotFound', status: 404 },
  { name: 'a revoked AccessKeyId', key: () => revoked, code: 'InvalidAccessKeyId.Inactive', status: 400 },
  { name: 'a signature made with the wrong secret', key: () => ({ ...h.account, secret: 'not-the-secret' }), code: 'SignatureDoesNotMatch', status: 400 },
];

for (const row of rows) {
  for (const method of ['POST', 'GET'] as const) {
    test(`${method} ${ACTION} signed with ${row.name} is refused: HTTP ${row.status} ${row.code}`, async () => {
      h.clock.offsetMs = row.clockMs ?? 0;
      try {
        const r = await aliCall(h, row.key(), ACTION, { MediaId: 'a'.repeat(32) }, method);
        assert.equal(r.code, row.code, JSON.stringify(r.body));
        assert.equal(r.status, row.status);
        assert.deepEqual(Object.keys(r.body).sort(), ['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
      } finally {
        h.clock.offsetMs = 0;
      }
    });
  }
}

test('a SignatureNonce used twice with the same key is refused the second time with SignatureNonceUsed (400)', async () => {
  const nonce = randomUUID();
  const first = await aliCall(h, h.account, ACTION, { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  assert.ok(!AUTH_CODES.includes(first.code), JSON.stringify(first.body));
  const second = await aliCall(h, h.account, ACTION, { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  assert.equal(second.code, 'SignatureNonceUsed');
  assert.equal(second.status, 400);
});

test("a nonce is remembered per key: another account may use the same SignatureNonce", async () => {
  const other = await h.newAccount('nonce-neighbour');
  const nonce = randomUUID();
  const a = await aliCall(h, h.account, ACTION, { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  const b = await aliCall(h, other, ACTION, { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  assert.ok(!AUTH_CODES.includes(a.code), JSON.stringify(a.body));
  assert.ok(!AUTH_CODES.includes(b.code), JSON.stringify(b.body));
});

test('a refused request does not use up its nonce: after a bad signature the same nonce still works', async () => {
  const nonce = randomUUID();
  const bad = await aliCall(h, { ...h.account, secret: 'wrong' }, ACTION, { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  assert.equal(bad.code, 'SignatureDoesNotMatch');
  const good = await aliCall(h, h.account, ACTION, { MediaId: 'a'.repeat(32), SignatureNonce: nonce });
  assert.ok(!AUTH_CODES.includes(good.code), JSON.stringify(good.body));
});

test('a request with no credentials is refused with MissingAccessKeyId (400)', async () => {
  const r = await fetchJson(`${h.url}/?Action=${ACTION}&Version=2020-11-09&Format=JSON&MediaId=x`);
  assert.equal(r.status, 400);
  assert.equal(r.body.Code, 'MissingAccessKeyId');
});

test('a signed request without its Signature is refused with MissingSignature (400)', async () => {
  const q = new URLSearchParams({
    Action: ACTION,
    Version: '2020-11-09',
    Format: 'JSON',
    AccessKeyId: h.account.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: randomUUID(),
    Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  });
  const r = await fetchJson(`${h.url}/?${q}`);
  assert.equal(r.status, 400);
  assert.equal(r.body.Code, 'MissingSignature');
});

test('within the window (290 s of skew either way) the same key is accepted', async () => {
  for (const offset of [290_000, -290_000]) {
    h.clock.offsetMs = offset;
    try {
      const r = await aliCall(h, h.account, ACTION, { MediaId: 'a'.repeat(32) });
      assert.ok(!AUTH_CODES.includes(r.code), JSON.stringify(r.body));
    } finally {
      h.clock.offsetMs = 0;
    }
  }
});
