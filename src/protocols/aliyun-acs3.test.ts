// Requests signed by the vendor's own @alicloud/openapi-client (signature V3,
// ACS3-HMAC-SHA256), recorded by a throwaway HTTP server, must verify; altered
// ones must not. signAcs3 must reproduce what the client sent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import OpenApi, * as $OpenApi from '@alicloud/openapi-client';
import * as $Util from '@alicloud/tea-util';
import { acs3AccessKeyId, acs3CanonicalQuery, acs3CanonicalRequest, acs3StringToSign, signAcs3, verifyAcs3, type VerifyAcs3Options } from './aliyun-acs3.js';
import type { SignedRequest } from './types.js';
import { recordRequests } from '../../test/support/recording-server.js';
import { refused } from '../../test/support/signature.js';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function record(work: (endpoint: string) => Promise<void>): Promise<Recorded[]> {
  const seen = recordRequests(
    (port) => work(`127.0.0.1:${port}`),
    (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end('{"RequestId":"x"}');
    },
  );
  return seen.then((all) => all.map(({ msg, body }) => ({ method: msg.method ?? '', url: msg.url ?? '/', headers: msg.headers, body })));
}

const TITLE = "audience (1) *é* ~'!+&=";

const recorded = record(async (endpoint) => {
  const client = new OpenApi.default(
    new $OpenApi.Config({ accessKeyId: 'AKID', accessKeySecret: 'secret', endpoint, protocol: 'http', signatureAlgorithm: 'ACS3-HMAC-SHA256' }),
  );
  const params = (action: string) =>
    new $OpenApi.Params({ action, version: '2020-11-09', protocol: 'HTTP', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
  const runtime = new $Util.RuntimeOptions({});
  // Parameters in the query (how ICE's generated client sends RPC calls) …
  const a = await client.callApi(params('CreateUploadMedia'), new $OpenApi.OpenApiRequest({ query: { FileInfo: '{"Type":"text"}', Title: TITLE } }), runtime);
  assert.equal(a.body.RequestId, 'x');
  // … and in a form body.
  await client.callApi(params('GetMediaInfo'), new $OpenApi.OpenApiRequest({ body: { MediaId: 'a/b c+d' } }), runtime);
});

function requestOf(r: Recorded): SignedRequest {
  const q = r.url.indexOf('?');
  return { method: r.method, rawPath: q < 0 ? r.url : r.url.slice(0, q), rawQuery: q < 0 ? '' : r.url.slice(q + 1), headers: { ...r.headers } };
}

function options(extra: Partial<VerifyAcs3Options> = {}): VerifyAcs3Options {
  return { lookupSecret: (id) => (id === 'AKID' ? 'secret' : undefined), ...extra };
}

/** The recorded request with some headers replaced (undefined removes one). */
function withHeaders(r: Recorded, headers: Record<string, string | undefined>): SignedRequest {
  const req = requestOf(r);
  return { ...req, headers: { ...req.headers, ...headers } };
}

test('the vendor client signs host, every x-acs-* header and content-type, and both of its requests verify', async () => {
  const [query, form] = await recorded;
  assert.equal(query.method, 'POST');
  assert.match(query.url, /^\/\?FileInfo=/);
  assert.equal(query.body.length, 0);
  assert.match(String(query.headers.authorization), /^ACS3-HMAC-SHA256 Credential=AKID,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=[0-9a-f]{64}$/);
  assert.equal(form.url, '/');
  assert.equal(form.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.match(String(form.headers.authorization), /SignedHeaders=content-type;host;x-acs-action;/);

  const a = verifyAcs3(requestOf(query), query.body, options());
  assert.deepEqual(a, { accessKeyId: 'AKID', action: 'CreateUploadMedia', version: '2020-11-09', nonce: query.headers['x-acs-signature-nonce'] });
  const b = verifyAcs3(requestOf(form), form.body, options());
  assert.equal(b.action, 'GetMediaInfo');
  assert.equal(acs3AccessKeyId(query.headers), 'AKID');
});

test('signAcs3 produces the Authorization the vendor client sent', async () => {
  for (const r of await recorded) {
    const req = requestOf(r);
    const query = Object.fromEntries(new URLSearchParams(req.rawQuery));
    const mine = signAcs3({
      accessKeyId: 'AKID',
      secret: 'secret',
      action: String(r.headers['x-acs-action']),
      version: String(r.headers['x-acs-version']),
      host: String(r.headers.host),
      query,
      body: r.body,
      contentType: r.headers['content-type'],
      date: new Date(String(r.headers['x-acs-date'])),
      nonce: String(r.headers['x-acs-signature-nonce']),
      headers: { 'x-acs-credentials-provider': String(r.headers['x-acs-credentials-provider']) },
    });
    assert.equal(mine.headers.authorization, r.headers.authorization);
    assert.equal(mine.headers['x-acs-content-sha256'], r.headers['x-acs-content-sha256']);
  }
});

test('the canonical request follows the documented layout', () => {
  const empty = createHash('sha256').update('').digest('hex');
  const { text, signedHeaders } = acs3CanonicalRequest({
    method: 'post',
    rawPath: '/',
    rawQuery: 'b=2&a=x%20y&a=*&c',
    headers: { 'X-Acs-Date': ' 2026-01-01T00:00:00Z ', Host: 'example.com' },
    hashedPayload: empty,
  });
  assert.equal(signedHeaders, 'host;x-acs-date');
  assert.equal(text, ['POST', '/', 'a=%2A&a=x%20y&b=2&c=', 'host:example.com\nx-acs-date:2026-01-01T00:00:00Z\n', 'host;x-acs-date', empty].join('\n'));
  assert.equal(acs3StringToSign(text), `ACS3-HMAC-SHA256\n${createHash('sha256').update(text).digest('hex')}`);
  // RFC 3986: only A-Z a-z 0-9 - _ . ~ stay literal; '+' in a query is a space, as in a form.
  assert.equal(acs3CanonicalQuery("k=%7E!'()*%2B+"), 'k=~%21%27%28%29%2A%2B%20');
});

test('tampering with the query, the body, a signed header or the method is refused', async () => {
  const [query, form] = await recorded;
  const q = requestOf(query);
  refused(() => verifyAcs3({ ...q, rawQuery: q.rawQuery.replace('text', 'video') }, query.body, options()), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAcs3({ ...q, rawQuery: `${q.rawQuery}&Extra=1` }, query.body, options()), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAcs3({ ...q, method: 'GET' }, query.body, options()), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAcs3(withHeaders(query, { 'x-acs-action': 'RegisterMediaInfo' }), query.body, options()), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAcs3(withHeaders(query, { host: 'elsewhere.example' }), query.body, options()), 'SignatureDoesNotMatch', 400);
  // A different body: x-acs-content-sha256 no longer matches it.
  refused(() => verifyAcs3(requestOf(form), Buffer.from('MediaId=other'), options()), 'SignatureDoesNotMatch', 400);
  // A different body with its hash put in x-acs-content-sha256: that header is signed too.
  const forged = createHash('sha256').update('MediaId=other').digest('hex');
  refused(() => verifyAcs3(withHeaders(form, { 'x-acs-content-sha256': forged }), Buffer.from('MediaId=other'), options()), 'SignatureDoesNotMatch', 400);
  const sig = /Signature=([0-9a-f]+)/.exec(String(query.headers.authorization))![1];
  const flipped = String(query.headers.authorization).replace(sig, (sig[0] === '0' ? '1' : '0') + sig.slice(1));
  refused(() => verifyAcs3(withHeaders(query, { authorization: flipped }), query.body, options()), 'SignatureDoesNotMatch', 400);
});

test('a wrong secret, an unknown key and a stale or future x-acs-date are refused', async () => {
  const [query] = await recorded;
  const q = requestOf(query);
  refused(() => verifyAcs3(q, query.body, options({ lookupSecret: () => 'other' })), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAcs3(q, query.body, options({ lookupSecret: () => undefined })), 'InvalidAccessKeyId.NotFound', 404);
  const at = new Date(String(query.headers['x-acs-date'])).getTime();
  verifyAcs3(q, query.body, options({ now: new Date(at + 14 * 60_000) }));
  refused(() => verifyAcs3(q, query.body, options({ now: new Date(at + 16 * 60_000) })), 'InvalidTimeStamp.Expired', 400);
  refused(() => verifyAcs3(q, query.body, options({ now: new Date(at - 16 * 60_000) })), 'InvalidTimeStamp.Expired', 400);
  refused(() => verifyAcs3(q, query.body, options({ now: new Date(at + 305_000), maxSkewSeconds: 300 })), 'InvalidTimeStamp.Expired', 400);
  refused(() => verifyAcs3(withHeaders(query, { 'x-acs-date': '2026-01-01 00:00:00' }), query.body, options()), 'InvalidTimeStamp.Format', 400);
});

test('missing common headers are refused with Missing{Parameter}', async () => {
  const [query] = await recorded;
  const missing: Array<[string, string]> = [
    ['x-acs-action', 'MissingAction'],
    ['x-acs-version', 'MissingVersion'],
    ['x-acs-date', 'MissingTimestamp'],
    ['x-acs-signature-nonce', 'MissingSignatureNonce'],
    ['x-acs-content-sha256', 'MissingParameter'],
    ['authorization', 'MissingSignature'],
  ];
  for (const [header, code] of missing) refused(() => verifyAcs3(withHeaders(query, { [header]: undefined }), query.body, options()), code, 400);
});

test('malformed Authorization headers and unsigned headers are refused', async () => {
  const [query, form] = await recorded;
  const auth = String(query.headers.authorization);
  const bad = (authorization: string, code: string) => refused(() => verifyAcs3(withHeaders(query, { authorization }), query.body, options()), code, 400);
  bad(auth.replace('ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3'), 'InvalidSignatureMethod');
  bad(auth.replace(/,Signature=.*$/, ''), 'IncompleteSignature');
  bad(auth.replace(/Signature=([0-9a-f]+)/, (_m, s: string) => `Signature=${s.toUpperCase()}`), 'IncompleteSignature');
  bad(auth.replace('Credential=AKID', 'Credential='), 'MissingAccessKeyId');
  bad(`${auth},Credential=AKID`, 'IncompleteSignature');
  bad(auth.replace('host;x-acs-action', 'x-acs-action;host'), 'IncompleteSignature');
  // Leaving a required or a present x-acs-* header out of the signature is refused before any key is looked up.
  bad(auth.replace('host;', ''), 'IncompleteSignature');
  bad(auth.replace('x-acs-credentials-provider;', ''), 'IncompleteSignature');
  refused(() => verifyAcs3(withHeaders(query, { 'x-acs-extra': '1' }), query.body, options()), 'IncompleteSignature', 400);
  const formAuth = String(form.headers.authorization).replace('content-type;', '');
  refused(() => verifyAcs3(withHeaders(form, { authorization: formAuth }), form.body, options()), 'IncompleteSignature', 400);
});

test('signAcs3 and verifyAcs3 agree on GET, paths and odd characters, and the nonce is returned', () => {
  const date = new Date('2026-03-04T05:06:07Z');
  const signed = signAcs3({
    accessKeyId: 'AKID',
    secret: 'secret',
    action: 'GetMediaInfo',
    version: '2020-11-09',
    host: 'ice.example:8080',
    method: 'GET',
    rawPath: '/a%20b/c',
    query: { MediaId: "x y+z/é*~'", Empty: '' },
    date,
    nonce: 'n-1',
  });
  assert.equal(signed.rawQuery, 'Empty=&MediaId=x%20y%2Bz%2F%C3%A9%2A~%27');
  const req: SignedRequest = { method: 'GET', rawPath: '/a%20b/c', rawQuery: signed.rawQuery, headers: signed.headers };
  assert.deepEqual(verifyAcs3(req, Buffer.alloc(0), options({ now: date })), { accessKeyId: 'AKID', action: 'GetMediaInfo', version: '2020-11-09', nonce: 'n-1' });
  // The same parameters encoded another way (as a browser form would) still verify: the canonical form is rebuilt.
  const loose = { ...req, rawQuery: "Empty&MediaId=x+y%2bz/%C3%A9*~'" };
  verifyAcs3(loose, Buffer.alloc(0), options({ now: date }));
  refused(() => verifyAcs3({ ...req, rawPath: '/a%20b/d' }, Buffer.alloc(0), options({ now: date })), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAcs3({ ...req, rawQuery: 'MediaId=%E0%A4%A' }, Buffer.alloc(0), options({ now: date })), 'InvalidParameter', 400);
});
