// Aliyun signature V3 (ACS3-HMAC-SHA256) against the running server, driven
// by the vendor's own @alicloud/openapi-client: Action and Version travel in
// x-acs-action / x-acs-version, the ICE parameters in the query (or a form
// body). Refusals carry the same codes and statuses as V1
// (InvalidAccessKeyId.NotFound 404, InvalidAccessKeyId.Inactive 400,
// SignatureDoesNotMatch 400, InvalidTimeStamp.Expired 400, SignatureNonceUsed 400)
// in {RequestId, HostId, Code, Message, Recommend}.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import OpenApi, * as $OpenApi from '@alicloud/openapi-client';
import * as $Util from '@alicloud/tea-util';
import { signAcs3, type SignAcs3Options } from '../src/protocols/aliyun-acs3.js';
import { startHarness, type Harness } from './support/harness.js';
import { aliCall, type Key } from './support/vendor-clients.js';

let h: Harness;
let revoked: Key;
before(async () => {
  h = await startHarness();
  revoked = await h.newRevokedKey('acs3-revoked-key-owner');
});
after(() => h.close());

const VERSION = '2020-11-09';
const FILE_INFO = JSON.stringify({ Type: 'text', Name: 'ids', Ext: 'txt' });
const ERROR_KEYS = ['Code', 'HostId', 'Message', 'Recommend', 'RequestId'];

interface Result {
  status: number;
  code: string;
  body: Record<string, any>;
}

interface VendorRequest {
  query?: Record<string, string>;
  /** Sent as a form body (reqBodyType formData). */
  body?: Record<string, string>;
  /** Override the client's own headers, e.g. x-acs-signature-nonce. */
  headers?: Record<string, string>;
}

/** One call through @alicloud/openapi-client, signed ACS3-HMAC-SHA256; a refusal comes back as its code and status. */
async function vendorCall(key: Key, action: string, req: VendorRequest): Promise<Result> {
  const client = new OpenApi.default(
    new $OpenApi.Config({
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.secret,
      endpoint: new URL(h.url).host,
      protocol: 'http',
      signatureAlgorithm: 'ACS3-HMAC-SHA256',
    }),
  );
  const params = new $OpenApi.Params({
    action,
    version: VERSION,
    protocol: 'HTTP',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  try {
    const r = await client.callApi(params, new $OpenApi.OpenApiRequest(req), new $Util.RuntimeOptions({}));
    return { status: r.statusCode, code: '', body: r.body };
  } catch (e) {
    const x = e as { code?: string; data?: Record<string, any> };
    if (!x.data) throw e;
    return { status: Number(x.data.statusCode), code: String(x.code), body: x.data };
  }
}

/** A request signed with this project's signAcs3, sent as is. */
function sendSigned(opts: Omit<SignAcs3Options, 'host' | 'version'> & { tamper?: (headers: Record<string, string>) => void; sendBody?: string }): Promise<Result> {
  const signed = signAcs3({ ...opts, version: VERSION, host: new URL(h.url).host });
  opts.tamper?.(signed.headers);
  const body = opts.sendBody ?? opts.body ?? '';
  return new Promise((resolve, reject) => {
    const r = request(
      `${h.url}/${signed.rawQuery ? `?${signed.rawQuery}` : ''}`,
      { method: opts.method ?? 'POST', headers: { ...signed.headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve({ status: res.statusCode ?? 0, code: parsed.Code ?? '', body: parsed });
        });
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

function refusedWith(r: Result, code: string, status: number): void {
  assert.equal(r.code, code, JSON.stringify(r.body));
  assert.equal(r.status, status);
  assert.deepEqual(Object.keys(r.body).filter((k) => k !== 'statusCode').sort(), ERROR_KEYS);
}

function assertOk(r: Result): void {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.code, '');
}

test('the vendor client (ACS3-HMAC-SHA256, parameters in the query) creates an upload: MediaId and upload credentials', async () => {
  const r = await vendorCall(h.account, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO } });
  assertOk(r);
  assert.match(String(r.body.MediaId), /^\S{8,}$/);
  assert.ok(r.body.RequestId);
  assert.ok(r.body.UploadAddress && r.body.UploadAuth, JSON.stringify(r.body));

  // The same asset, read back with its MediaId in a form body this time.
  const got = await vendorCall(h.account, 'GetMediaInfo', { body: { MediaId: r.body.MediaId } });
  assertOk(got);
  assert.equal(got.body.MediaInfo.MediaBasicInfo.MediaId, r.body.MediaId);
});

test('a request signed with signAcs3 is accepted as well', async () => {
  const r = await sendSigned({ accessKeyId: h.account.accessKeyId, secret: h.account.secret, action: 'CreateUploadMedia', query: { FileInfo: FILE_INFO } });
  assertOk(r);
  assert.ok(r.body.MediaId);
});

const keyRows: Array<{ name: string; key: () => Key; code: string; status: number }> = [
  { name: 'a signature made with the wrong secret', key: () => ({ ...h.account, secret: 'not-the-secret' }), code: 'SignatureDoesNotMatch', status: 400 },
  { name: 'an AccessKeyId nobody has', key: () => ({ accessKeyId: 'AHKNOSUCHKEY000000000000', secret: h.account.secret }), code: 'InvalidAccessKeyId.NotFound', status: 404 },
  { name: 'a revoked AccessKeyId', key: () => revoked, code: 'InvalidAccessKeyId.Inactive', status: 400 },
];

for (const row of keyRows) {
  test(`the vendor client with ${row.name} is refused: HTTP ${row.status} ${row.code}`, async () => {
    refusedWith(await vendorCall(row.key(), 'CreateUploadMedia', { query: { FileInfo: FILE_INFO } }), row.code, row.status);
  });
}

test('an x-acs-date 305 s away from the server clock is refused with InvalidTimeStamp.Expired (400), either way; 290 s is accepted', async (t) => {
  t.after(() => {
    h.clock.offsetMs = 0;
  });
  // The client stamps whole seconds; 305 s keeps the skew above 300 s whatever the sub-second parts.
  for (const offset of [305_000, -305_000]) {
    h.clock.offsetMs = offset;
    refusedWith(await vendorCall(h.account, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO } }), 'InvalidTimeStamp.Expired', 400);
  }
  for (const offset of [290_000, -290_000]) {
    h.clock.offsetMs = offset;
    assertOk(await vendorCall(h.account, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO } }));
  }
});

test('an x-acs-signature-nonce used twice with the same key is refused the second time with SignatureNonceUsed (400)', async () => {
  const headers = { 'x-acs-signature-nonce': randomUUID() };
  assertOk(await vendorCall(h.account, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO }, headers }));
  refusedWith(await vendorCall(h.account, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO }, headers }), 'SignatureNonceUsed', 400);
});

test('a refused request does not use up its nonce: after a bad signature the same nonce still works', async () => {
  const headers = { 'x-acs-signature-nonce': randomUUID() };
  refusedWith(await vendorCall({ ...h.account, secret: 'wrong' }, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO }, headers }), 'SignatureDoesNotMatch', 400);
  assertOk(await vendorCall(h.account, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO }, headers }));
});

test('V1 and V3 share the nonces of a key: a SignatureNonce used by pop-core cannot be replayed as x-acs-signature-nonce', async () => {
  const nonce = randomUUID();
  const v1 = await aliCall(h, h.account, 'CreateUploadMedia', { FileInfo: FILE_INFO, SignatureNonce: nonce });
  assert.equal(v1.status, 200, JSON.stringify(v1.body));
  refusedWith(await vendorCall(h.account, 'CreateUploadMedia', { query: { FileInfo: FILE_INFO }, headers: { 'x-acs-signature-nonce': nonce } }), 'SignatureNonceUsed', 400);
});

test('a tampered signature, query, body or action is refused with SignatureDoesNotMatch (400)', async () => {
  const base = { accessKeyId: h.account.accessKeyId, secret: h.account.secret, action: 'CreateUploadMedia', query: { FileInfo: FILE_INFO } };
  const flip = (headers: Record<string, string>) => {
    headers.authorization = headers.authorization.replace(/Signature=(.)/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`);
  };
  refusedWith(await sendSigned({ ...base, tamper: flip }), 'SignatureDoesNotMatch', 400);
  refusedWith(
    await sendSigned({ ...base, tamper: (hd) => void (hd['x-acs-action'] = 'RegisterMediaInfo') }),
    'SignatureDoesNotMatch',
    400,
  );
  // A form body other than the one hashed into x-acs-content-sha256.
  const form = { ...base, query: {}, contentType: 'application/x-www-form-urlencoded', body: `FileInfo=${encodeURIComponent(FILE_INFO)}` };
  assertOk(await sendSigned(form));
  refusedWith(await sendSigned({ ...form, sendBody: `FileInfo=${encodeURIComponent(FILE_INFO.replace('ids', 'xyz'))}` }), 'SignatureDoesNotMatch', 400);
});

test('an x-acs-* header left out of SignedHeaders is refused with IncompleteSignature (400)', async () => {
  const r = await sendSigned({
    accessKeyId: h.account.accessKeyId,
    secret: h.account.secret,
    action: 'CreateUploadMedia',
    query: { FileInfo: FILE_INFO },
    tamper: (hd) => void (hd['x-acs-extra'] = 'unsigned'),
  });
  refusedWith(r, 'IncompleteSignature', 400);
});

test('a request naming its action only in x-acs-action, with no Authorization, is refused with MissingSignature (400)', async () => {
  const r = await sendSigned({
    accessKeyId: h.account.accessKeyId,
    secret: h.account.secret,
    action: 'CreateUploadMedia',
    query: { FileInfo: FILE_INFO },
    tamper: (hd) => void delete hd.authorization,
  });
  refusedWith(r, 'MissingSignature', 400);
});
