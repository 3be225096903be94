import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { presignS3Url, verifyS3Presigned, type VerifyS3Options } from './s3-sigv4.js';
import { SignatureError, type HeaderMap, type SignedRequest } from './types.js';

const ACCESS_KEY = 'AKIDEXAMPLE0001';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const ENDPOINT = 'http://127.0.0.1:9000';
const SIGNED_AT = new Date('2024-01-02T03:04:05Z');
const KEY = "uploads/a b+c(1)*!'~é.txt";
const MD5 = '1B2M2Y8AsgTpgAmY7PhCfg=='; // MD5 of the empty body, base64

const client = new S3Client({
  region: 'us-east-1',
  endpoint: ENDPOINT,
  forcePathStyle: true,
  // Without this, SDK >= 3.729 signs a CRC32 of an empty body into the URL (aws-sdk-js-v3 #6994).
  requestChecksumCalculation: 'WHEN_REQUIRED',
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
});

function sdkUrl(extra: { ContentMD5?: string; Key?: string } = {}): Promise<string> {
  const cmd = new PutObjectCommand({ Bucket: 'bkt', Key: KEY, ...extra });
  return getSignedUrl(client, cmd, { expiresIn: 600, signingDate: SIGNED_AT });
}

/** The request a client would send for `url`: path and query exactly as written in it. */
function requestFor(url: string, method = 'PUT', headers: HeaderMap = {}): SignedRequest {
  const origin = new URL(url).origin;
  const rest = url.slice(origin.length);
  const q = rest.indexOf('?');
  return {
    method,
    rawPath: q < 0 ? rest : rest.slice(0, q),
    rawQuery: q < 0 ? '' : rest.slice(q + 1),
    headers: { host: new URL(url).host, ...headers },
  };
}

const secrets: Record<string, string> = { [ACCESS_KEY]: SECRET };
const opts = (now = new Date(SIGNED_AT.getTime() + 10_000)): VerifyS3Options => ({
  lookupSecret: (id) => secrets[id],
  now,
});

function refuses(fn: () => unknown, code: string, status: number, message?: RegExp, label = ''): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureError, `${label}: expected SignatureError, got ${String(err)}`);
    assert.equal(err.code, code, label);
    assert.equal(err.status, status);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Replaces one query parameter's raw value in a URL. */
function withParam(url: string, name: string, value: string | null): string {
  const [base, query] = url.split('?');
  const parts = query.split('&').filter((p) => !p.startsWith(`${name}=`));
  if (value !== null) parts.push(`${name}=${value}`);
  return `${base}?${parts.join('&')}`;
}

test('an AWS SDK pre-signed PutObject URL verifies', async () => {
  const url = await sdkUrl();
  const got = verifyS3Presigned(requestFor(url), opts());
  assert.equal(got.accessKeyId, ACCESS_KEY);
  assert.equal(got.bucketAndKeyPath, `/bkt/${KEY}`);
  assert.deepEqual(got.signedHeaders, ['host']);
  assert.equal(got.expiresAt.toISOString(), '2024-01-02T03:14:05.000Z');
  assert.equal(got.region, 'us-east-1');
  assert.equal(got.payloadHash, 'UNSIGNED-PAYLOAD');
});

test('an AWS SDK URL with ContentMD5 signs content-md5 and needs the same header', async () => {
  const url = await sdkUrl({ ContentMD5: MD5 });
  const got = verifyS3Presigned(requestFor(url, 'PUT', { 'content-md5': MD5 }), opts());
  assert.deepEqual(got.signedHeaders, ['content-md5', 'host']);
  refuses(() => verifyS3Presigned(requestFor(url), opts()), 'SignatureDoesNotMatch', 403);
  refuses(
    () => verifyS3Presigned(requestFor(url, 'PUT', { 'content-md5': 'XUFAKrxLKna5cZ2REBfFkg==' }), opts()),
    'SignatureDoesNotMatch',
    403,
  );
});

test('presignS3Url is byte-identical to the AWS SDK for the same inputs and time', async () => {
  for (const md5 of [undefined, MD5]) {
    const ours = presignS3Url({
      method: 'PUT',
      endpoint: ENDPOINT,
      bucket: 'bkt',
      key: KEY,
      region: 'us-east-1',
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET,
      expiresSeconds: 600,
      now: SIGNED_AT,
      contentMd5Base64: md5,
      // The SDK adds these two to every pre-signed PutObject.
      query: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', 'x-id': 'PutObject' },
    });
    assert.equal(ours, await sdkUrl(md5 ? { ContentMD5: md5 } : {}));
  }
});

test('our own minimal URL verifies, for PUT and GET, with and without content-md5', () => {
  for (const method of ['PUT', 'GET']) {
    for (const md5 of [undefined, MD5]) {
      const url = presignS3Url({
        method,
        endpoint: ENDPOINT,
        bucket: 'audiences',
        key: 'ta/42/ids part 1.csv',
        region: 'eu-west-1',
        accessKeyId: ACCESS_KEY,
        secretAccessKey: SECRET,
        expiresSeconds: 3600,
        now: SIGNED_AT,
        contentMd5Base64: md5,
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:9000\/audiences\/ta\/42\/ids%20part%201\.csv\?X-Amz-Algorithm=/);
      const headers = md5 ? { 'content-md5': md5 } : {};
      const got = verifyS3Presigned(requestFor(url, method, headers), { ...opts(), region: 'eu-west-1' });
      assert.equal(got.bucketAndKeyPath, '/audiences/ta/42/ids part 1.csv');
    }
  }
});

test('presignS3Url refuses an expiry beyond seven days', () => {
  const base = {
    method: 'PUT', endpoint: ENDPOINT, bucket: 'b', key: 'k', region: 'us-east-1',
    accessKeyId: ACCESS_KEY, secretAccessKey: SECRET,
  };
  assert.throws(() => presignS3Url({ ...base, expiresSeconds: 604_801 }), RangeError);
  assert.throws(() => presignS3Url({ ...base, expiresSeconds: 0 }), RangeError);
  assert.ok(presignS3Url({ ...base, expiresSeconds: 604_800 }));
});

test('tampering refuses with SignatureDoesNotMatch', async () => {
  const url = await sdkUrl();
  const sig = /X-Amz-Signature=([0-9a-f]+)/.exec(url)![1];
  const flipped = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
  const cases: Array<[string, SignedRequest]> = [
    ['tampered key', requestFor(url.replace('uploads/', 'upload2/'))],
    ['tampered bucket', requestFor(url.replace('/bkt/', '/bkx/'))],
    ['tampered signature', requestFor(withParam(url, 'X-Amz-Signature', flipped))],
    ['short signature', requestFor(withParam(url, 'X-Amz-Signature', sig.slice(2)))],
    ['wrong method', requestFor(url, 'GET')],
    ['other host', { ...requestFor(url), headers: { host: 'evil.example:9000' } }],
    ['added query parameter', requestFor(`${url}&acl=`)],
    ['longer expiry', requestFor(withParam(url, 'X-Amz-Expires', '6000'))],
  ];
  for (const [name, req] of cases) {
    refuses(() => verifyS3Presigned(req, opts()), 'SignatureDoesNotMatch', 403, /does not match/, name);
  }
  const wrongSecret: VerifyS3Options = { ...opts(), lookupSecret: () => 'not-the-secret' };
  refuses(() => verifyS3Presigned(requestFor(url), wrongSecret), 'SignatureDoesNotMatch', 403);
});

test('an unknown access key refuses with InvalidAccessKeyId', async () => {
  const url = await sdkUrl();
  refuses(() => verifyS3Presigned(requestFor(url), { ...opts(), lookupSecret: () => undefined }), 'InvalidAccessKeyId', 403);
});

test('expired and not-yet-valid URLs refuse with AccessDenied', async () => {
  const url = await sdkUrl();
  const at = (s: number) => opts(new Date(SIGNED_AT.getTime() + s * 1000));
  assert.ok(verifyS3Presigned(requestFor(url), at(600))); // the last valid second
  refuses(() => verifyS3Presigned(requestFor(url), at(601)), 'AccessDenied', 403, /Request has expired/);
  assert.ok(verifyS3Presigned(requestFor(url), at(-15 * 60))); // clock skew tolerated
  refuses(() => verifyS3Presigned(requestFor(url), at(-15 * 60 - 1)), 'AccessDenied', 403, /not yet valid/);
});

test('missing or malformed auth parameters refuse with AuthorizationQueryParametersError', async () => {
  const url = await sdkUrl();
  for (const name of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
    refuses(() => verifyS3Presigned(requestFor(withParam(url, name, null)), opts()), 'AuthorizationQueryParametersError', 400, undefined, name);
  }
  const bad: Array<[string, string]> = [
    ['X-Amz-Expires', '604801'],
    ['X-Amz-Expires', '-1'],
    ['X-Amz-Expires', 'ten'],
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA1'],
    ['X-Amz-Date', '2024-01-02T03:04:05Z'],
    ['X-Amz-Date', '20240231T030405Z'],
    ['X-Amz-Credential', `${ACCESS_KEY}%2F20240103%2Fus-east-1%2Fs3%2Faws4_request`],
    ['X-Amz-Credential', `${ACCESS_KEY}%2F20240102%2Fus-east-1%2Fs3`],
    ['X-Amz-Credential', `${ACCESS_KEY}%2F20240102%2Fus-east-1%2Fsqs%2Faws4_request`],
    ['X-Amz-SignedHeaders', 'content-md5'],
    ['X-Amz-SignedHeaders', 'host%3Bcontent-md5'],
  ];
  for (const [name, value] of bad) {
    refuses(() => verifyS3Presigned(requestFor(withParam(url, name, value)), opts()), 'AuthorizationQueryParametersError', 400, undefined, `${name}=${value}`);
  }
  refuses(() => verifyS3Presigned(requestFor(`${url}&X-Amz-Date=20240102T030405Z`), opts()), 'AuthorizationQueryParametersError', 400);
  refuses(() => verifyS3Presigned(requestFor(url), { ...opts(), region: 'eu-west-1' }), 'AuthorizationQueryParametersError', 400, /region/);
});

test('an unsigned request is AccessDenied; unsigned x-amz-* headers are AccessDenied', async () => {
  refuses(() => verifyS3Presigned(requestFor(`${ENDPOINT}/bkt/k`), opts()), 'AccessDenied', 403, /Access Denied/);
  const url = await sdkUrl();
  refuses(
    () => verifyS3Presigned(requestFor(url, 'PUT', { 'x-amz-acl': 'public-read' }), opts()),
    'AccessDenied',
    403,
    /not signed/,
  );
});

test('a malformed path escape is InvalidURI', async () => {
  const url = await sdkUrl();
  refuses(() => verifyS3Presigned({ ...requestFor(url), rawPath: '/bkt/%E0%A4%A' }, opts()), 'InvalidURI', 400);
});
