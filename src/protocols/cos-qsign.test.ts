import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import COS from 'cos-nodejs-sdk-v5';
import { signCos, verifyCos, type VerifyCosOptions } from './cos-qsign.js';
import { rfc3986Encode } from './encoding.js';
import { SignatureError, type HeaderMap, type SignedRequest } from './types.js';

const SECRET_ID = 'AKIDcosExample0001';
const SECRET_KEY = 'cosSecretKeyExample0001';
const START = 1_700_000_000;
const END = START + 600;
const KEY = "dir/a b(1)*!'~é+.txt";
const RAW_PATH = '/' + KEY.split('/').map(rfc3986Encode).join('/');
const QUERY = { 'Part Number': '1', uploadId: 'x/y+z é' };
const RAW_QUERY = 'Part%20Number=1&uploadId=x%2Fy%2Bz%20%C3%A9';
const HEADERS = {
  host: 'bkt-1250000000.cos.localhost:8080',
  'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==',
  'x-cos-meta-note': 'Héllo  world',
};

const secrets: Record<string, string> = { [SECRET_ID]: SECRET_KEY };
const opts = (nowSec = START + 10): VerifyCosOptions => ({
  lookupSecret: (id) => secrets[id],
  now: new Date(nowSec * 1000),
});

function sdkAuth(): string {
  return COS.getAuthorization({
    SecretId: SECRET_ID,
    SecretKey: SECRET_KEY,
    Method: 'PUT',
    Key: KEY,
    Query: QUERY,
    Headers: { Host: HEADERS.host, 'Content-MD5': HEADERS['content-md5'], 'x-cos-meta-note': HEADERS['x-cos-meta-note'] },
    KeyTime: `${START};${END}`,
  });
}

function request(parts: Partial<SignedRequest> & { extraHeaders?: HeaderMap } = {}): SignedRequest {
  return {
    method: parts.method ?? 'PUT',
    rawPath: parts.rawPath ?? RAW_PATH,
    rawQuery: parts.rawQuery ?? RAW_QUERY,
    headers: parts.headers ?? { ...HEADERS, ...parts.extraHeaders },
  };
}

const inHeader = (auth: string, parts: Partial<SignedRequest> = {}) =>
  request({ ...parts, extraHeaders: { authorization: auth } });
const inQuery = (auth: string, parts: Partial<SignedRequest> = {}) =>
  request({ ...parts, rawQuery: `${parts.rawQuery ?? RAW_QUERY}&${auth}` });

function refuses(fn: () => unknown, code: string, status: number, label = '', message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureError, `${label}: expected SignatureError, got ${String(err)}`);
    assert.equal(err.code, code, label);
    assert.equal(err.status, status, label);
    if (message) assert.match(err.message, message, label);
    return true;
  });
}

/** Replaces one q-* field of an auth string. */
function withField(auth: string, name: string, value: string | null): string {
  const parts = auth.split('&').filter((p) => !p.startsWith(`${name}=`));
  if (value !== null) parts.push(`${name}=${value}`);
  return parts.join('&');
}

test('a COS.getAuthorization signature verifies in the Authorization header and in the query', () => {
  const auth = sdkAuth();
  assert.match(auth, /q-header-list=content-md5;host;x-cos-meta-note&q-url-param-list=part%20number;uploadid&/);
  const viaHeader = verifyCos(inHeader(auth), opts());
  assert.deepEqual(viaHeader, {
    secretId: SECRET_ID,
    path: `/${KEY}`,
    expiresAt: new Date(END * 1000),
    signedHeaders: ['content-md5', 'host', 'x-cos-meta-note'],
    signedParams: ['part%20number', 'uploadid'],
    source: 'header',
  });
  assert.equal(verifyCos(inQuery(auth), opts()).source, 'query');
  // Clients may percent-encode the q-* values in a URL; the ; separators then arrive as %3B.
  assert.ok(verifyCos(inQuery(auth.replace(/;/g, '%3B')), opts()));
  const fullyEncoded = auth
    .split('&')
    .map((p) => p.slice(0, p.indexOf('=') + 1) + encodeURIComponent(p.slice(p.indexOf('=') + 1)))
    .join('&');
  assert.match(fullyEncoded, /part%2520number%3Buploadid/);
  assert.ok(verifyCos(inQuery(fullyEncoded), opts()));
});

test('signCos is identical to COS.getAuthorization for the same inputs and time', () => {
  const ours = signCos({
    method: 'put',
    path: `/${KEY}`,
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    startTime: START,
    endTime: END,
    headers: { Host: HEADERS.host, 'Content-MD5': HEADERS['content-md5'], 'x-cos-meta-note': HEADERS['x-cos-meta-note'] },
    params: QUERY,
  });
  assert.equal(ours, sdkAuth());
  const bare = { SecretId: SECRET_ID, SecretKey: SECRET_KEY, Method: 'GET' as const, Key: 'k', KeyTime: `${START};${END}` };
  assert.equal(
    signCos({ method: 'GET', path: '/k', secretId: SECRET_ID, secretKey: SECRET_KEY, startTime: START, endTime: END }),
    COS.getAuthorization(bare),
  );
});

test('COS.getAuthorization with Expires (clock frozen) matches signCos', () => {
  mock.timers.enable({ apis: ['Date'], now: START * 1000 });
  try {
    const sdk = COS.getAuthorization({ SecretId: SECRET_ID, SecretKey: SECRET_KEY, Method: 'GET', Key: 'a/b', Expires: 300 });
    // The SDK starts the window one second in the past.
    const ours = signCos({ method: 'get', path: '/a/b', secretId: SECRET_ID, secretKey: SECRET_KEY, startTime: START - 1, endTime: START + 299 });
    assert.equal(ours, sdk);
  } finally {
    mock.timers.reset();
  }
});

test('a COS SDK pre-signed object URL (getObjectUrl) verifies as sent', () => {
  const cos = new COS({ SecretId: SECRET_ID, SecretKey: SECRET_KEY, Domain: '{Bucket}.cos.localhost:8080', Protocol: 'http:' });
  const url = cos.getObjectUrl(
    {
      Bucket: 'bkt-1250000000',
      Region: 'ap-guangzhou',
      Key: KEY,
      Sign: true,
      Method: 'PUT',
      Expires: 600,
      Query: { 'x-cos-traffic-limit': '819200' },
    },
    () => undefined,
  );
  const u = new URL(url);
  const rest = url.slice(u.origin.length);
  const req: SignedRequest = {
    method: 'PUT',
    rawPath: rest.slice(0, rest.indexOf('?')),
    rawQuery: rest.slice(rest.indexOf('?') + 1),
    headers: { host: u.host },
  };
  const got = verifyCos(req, { lookupSecret: (id) => secrets[id] });
  assert.equal(got.path, `/${KEY}`);
  assert.deepEqual(got.signedHeaders, ['host']); // the SDK signs the bucket's host on its own
  assert.deepEqual(got.signedParams, ['x-cos-traffic-limit']);
  refuses(() => verifyCos({ ...req, headers: { host: 'other-1250000000.cos.localhost:8080' } }, { lookupSecret: (id) => secrets[id] }), 'SignatureDoesNotMatch', 403);
});

test('our own signature verifies with our verifier', () => {
  const auth = signCos({
    method: 'GET',
    path: '/ta/42/ids.csv',
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    startTime: START,
    endTime: END,
    headers: { host: '127.0.0.1:8080' },
    params: { 'response-content-type': 'text/csv' },
  });
  const req: SignedRequest = {
    method: 'GET',
    rawPath: '/ta/42/ids.csv',
    rawQuery: `response-content-type=text%2Fcsv&${auth}`,
    headers: { host: '127.0.0.1:8080' },
  };
  assert.equal(verifyCos(req, opts()).path, '/ta/42/ids.csv');
});

test('tampering with any signed part refuses with SignatureDoesNotMatch', () => {
  const auth = sdkAuth();
  const sig = /q-signature=([0-9a-f]+)/.exec(auth)![1];
  const cases: Array<[string, SignedRequest]> = [
    ['path', inHeader(auth, { rawPath: RAW_PATH.replace('dir', 'dix') })],
    ['method', inHeader(auth, { method: 'POST' })],
    ['param value', inHeader(auth, { rawQuery: RAW_QUERY.replace('Number=1', 'Number=2') })],
    ['param missing', inHeader(auth, { rawQuery: 'uploadId=x%2Fy%2Bz%20%C3%A9' })],
    ['header value', request({ extraHeaders: { authorization: auth, 'content-md5': 'XUFAKrxLKna5cZ2REBfFkg==' } })],
    ['header missing', request({ headers: { host: HEADERS.host, 'x-cos-meta-note': HEADERS['x-cos-meta-note'], authorization: auth } })],
    ['host', request({ extraHeaders: { authorization: auth, host: 'evil.example' } })],
    ['signature', inHeader(withField(auth, 'q-signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)))],
    ['short signature', inHeader(withField(auth, 'q-signature', sig.slice(1)))],
    ['later sign end', inHeader(withField(auth, 'q-sign-time', `${START};${END + 1}`))],
    ['later key end', inHeader(withField(auth, 'q-key-time', `${START};${END + 1}`))],
    ['header dropped from list', inHeader(withField(auth, 'q-header-list', 'host;x-cos-meta-note'))],
    ['param dropped from list', inHeader(withField(auth, 'q-url-param-list', 'uploadid'))],
  ];
  for (const [label, req] of cases) refuses(() => verifyCos(req, opts()), 'SignatureDoesNotMatch', 403, label);
  refuses(() => verifyCos(inHeader(auth), { ...opts(), lookupSecret: () => 'wrong' }), 'SignatureDoesNotMatch', 403, 'secret');
});

test('unknown SecretId, expiry and clock skew refuse with COS codes', () => {
  const auth = sdkAuth();
  refuses(() => verifyCos(inHeader(auth), { ...opts(), lookupSecret: () => undefined }), 'InvalidAccessKeyId', 403);
  assert.ok(verifyCos(inHeader(auth), opts(END))); // last valid second
  refuses(() => verifyCos(inHeader(auth), opts(END + 1)), 'AccessDenied', 403, 'expired', /Request has expired/);
  refuses(() => verifyCos(inQuery(auth), opts(END + 1)), 'AccessDenied', 403, 'expired (query)', /Request has expired/);
  assert.ok(verifyCos(inHeader(auth), opts(START - 15 * 60)));
  refuses(() => verifyCos(inHeader(auth), opts(START - 15 * 60 - 1)), 'RequestTimeTooSkewed', 403);
});

test('missing and malformed q-sign fields refuse with 400 codes; no signature at all is AccessDenied', () => {
  const auth = sdkAuth();
  for (const field of ['q-sign-algorithm', 'q-ak', 'q-sign-time', 'q-key-time', 'q-header-list', 'q-url-param-list', 'q-signature']) {
    refuses(() => verifyCos(inHeader(withField(auth, field, null)), opts()), 'MissingParameter', 400, field);
  }
  const malformed: Array<[string, string]> = [
    ['q-sign-algorithm', 'sha256'],
    ['q-sign-time', `${END};${START}`],
    ['q-sign-time', `${START}`],
    ['q-key-time', 'soon;later'],
    ['q-header-list', 'host;;x-cos-meta-note'],
    ['q-header-list', 'host;host'],
  ];
  for (const [field, value] of malformed) {
    refuses(() => verifyCos(inHeader(withField(auth, field, value)), opts()), 'InvalidArgument', 400, `${field}=${value}`);
  }
  refuses(() => verifyCos(inQuery(`${auth}&q-ak=${SECRET_ID}`), opts()), 'InvalidArgument', 400, 'duplicate q-ak');
  refuses(() => verifyCos(inHeader(auth, { rawQuery: `${RAW_QUERY}&uploadId=other` }), opts()), 'InvalidArgument', 400, 'duplicate param');
  refuses(() => verifyCos(request(), opts()), 'AccessDenied', 403, 'unsigned', /Access Denied/);
  refuses(() => verifyCos(inHeader(auth, { rawPath: '/dir/%E0%A4%A' }), opts()), 'InvalidArgument', 400, 'bad path');
});
