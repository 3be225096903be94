// Tencent Cloud API 3.0 authentication (TC3-HMAC-SHA256), driven by the
// vendor's own client (tencentcloud-sdk-nodejs-common CommonClient). API 3.0
// answers refusals with HTTP 200 and {"Response": {"Error": {Code, Message},
// RequestId}}; the codes are the common ones of the "Error Codes" page
// (AuthFailure.SignatureExpire for more than five minutes of skew,
// AuthFailure.SecretIdNotFound for a key that does not exist or is disabled,
// AuthFailure.SignatureFailure, AuthFailure.InvalidAuthorization). TC3 has no
// nonce: its replay window is the five minutes of the timestamp.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { createUploadUrl, fetchJson, type Key } from './support/vendor-clients.js';

let h: Harness;
let revoked: Key;
before(async () => {
  h = await startHarness();
  revoked = await h.newRevokedKey('revoked-key-owner');
});
after(() => h.close());

// The SDK stamps whole seconds; 305 s keeps the skew above 300 s whatever the sub-second parts.
const rows: Array<{ name: string; key: () => Key; clockMs?: number; code: string }> = [
  { name: 'a client clock 305 s behind the server', key: () => h.account, clockMs: 305_000, code: 'AuthFailure.SignatureExpire' },
  { name: 'a client clock 305 s ahead of the server', key: () => h.account, clockMs: -305_000, code: 'AuthFailure.SignatureExpire' },
  { name: 'a SecretId nobody has', key: () => ({ accessKeyId: 'AHKNOSUCHKEY000000000000', secret: h.account.secret }), code: 'AuthFailure.SecretIdNotFound' },
  { name: 'a revoked SecretId', key: () => revoked, code: 'AuthFailure.SecretIdNotFound' },
  { name: 'a signature made with the wrong SecretKey', key: () => ({ ...h.account, secret: 'not-the-secret-key' }), code: 'AuthFailure.SignatureFailure' },
];

for (const row of rows) {
  test(`CreateUploadUrl signed with ${row.name} is refused with ${row.code} (HTTP 200, Response.Error)`, async () => {
    h.clock.offsetMs = row.clockMs ?? 0;
    try {
      const r = await createUploadUrl(h, row.key());
      assert.equal(r.ok, false, JSON.stringify(r));
      if (r.ok) return;
      assert.equal(r.code, row.code, r.message);
      // The SDK reports an HTTP status only when it is not 200.
      assert.equal(r.httpCode, undefined);
      assert.match(r.requestId, /^[0-9a-f-]{36}$/);
    } finally {
      h.clock.offsetMs = 0;
    }
  });
}

test('a request with no Authorization header is refused with AuthFailure.InvalidAuthorization', async () => {
  const r = await fetchJson(`${h.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tc-action': 'CreateUploadUrl', 'x-tc-version': '2018-03-01', 'x-tc-region': 'ap-singapore', 'x-tc-timestamp': String(Math.floor(Date.now() / 1000)) },
    body: JSON.stringify({ TargetAction: 'ApplyWebVerificationToken' }),
  });
  assert.equal(r.status, 200);
  assert.equal(r.body.Response.Error.Code, 'AuthFailure.InvalidAuthorization');
  assert.equal(typeof r.body.Response.RequestId, 'string');
});

test('a request with no X-TC-Timestamp is refused with MissingParameter', async () => {
  const r = await fetchJson(`${h.url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-tc-action': 'CreateUploadUrl',
      authorization: `TC3-HMAC-SHA256 Credential=${h.account.accessKeyId}/2024-01-01/faceid/tc3_request, SignedHeaders=content-type;host, Signature=${'0'.repeat(64)}`,
    },
    body: '{}',
  });
  assert.equal(r.body.Response.Error.Code, 'MissingParameter');
});

test('a signed body changed in transit is refused with AuthFailure.SignatureFailure', async () => {
  // Record what the SDK sends, then replay it to the service with another body.
  const { createServer } = await import('node:http');
  let seen: { headers: Record<string, string>; body: string } | undefined;
  const spy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = { headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString() };
      res.setHeader('content-type', 'application/json');
      res.end('{"Response":{"RequestId":"spy"}}');
    });
  });
  await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
  try {
    const port = (spy.address() as { port: number }).port;
    const r = await createUploadUrl({ ...h, url: `http://127.0.0.1:${port}` }, h.account);
    assert.equal(r.ok, true);
  } finally {
    spy.close();
  }
  const { host: _host, 'content-length': _len, connection: _c, ...headers } = seen!.headers;
  const original = await fetchJson(`${h.url}/`, { method: 'POST', headers, body: seen!.body });
  // The service signs with the port-less host the SDK signed, so the untouched request passes.
  assert.equal(original.body.Response.Error, undefined, JSON.stringify(original.body));
  const tampered = await fetchJson(`${h.url}/`, { method: 'POST', headers, body: seen!.body.replace('ApplyWebVerificationToken', 'DetectAuth') });
  assert.equal(tampered.body.Response.Error.Code, 'AuthFailure.SignatureFailure');
});

test('within the five minutes (290 s of skew either way) the same key is accepted', async () => {
  for (const offset of [290_000, -290_000]) {
    h.clock.offsetMs = offset;
    try {
      const r = await createUploadUrl(h, h.account);
      assert.equal(r.ok, true, JSON.stringify(r));
    } finally {
      h.clock.offsetMs = 0;
    }
  }
});
