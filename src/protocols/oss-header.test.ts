// Requests signed by the real ali-oss client, recorded by a throwaway HTTP
// server, must verify; altered copies must be refused with OSS's codes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import OSS from 'ali-oss';
import { signOssV1, signOssV4, verifyOssHeader, type VerifyOssHeaderOptions } from './oss-header.js';
import type { SignedRequest } from './types.js';
import { recordRequests } from '../../test/support/recording-server.js';
import { refused } from '../../test/support/signature.js';

interface Recorded {
  req: SignedRequest;
  bucket: string;
  objectKey: string;
  body: Buffer;
}

const CREDENTIALS: Record<string, { secret: string; securityToken?: string }> = {
  'STS.x': { secret: 's', securityToken: 'tok' },
};

/** Answers just enough of OSS for put and multipartUpload. */
function answer(req: SignedRequest, res: ServerResponse): void {
  const query = new URLSearchParams(req.rawQuery);
  const xml = (body: string) => {
    res.writeHead(200, { 'content-type': 'application/xml', 'x-oss-request-id': 'r1' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };
  if (req.method === 'POST' && query.has('uploads')) {
    return xml('<InitiateMultipartUploadResult><Bucket>bkt1</Bucket><Key>k</Key><UploadId>UPLOAD1</UploadId></InitiateMultipartUploadResult>');
  }
  if (req.method === 'POST' && query.has('uploadId')) {
    return xml('<CompleteMultipartUploadResult><Bucket>bkt1</Bucket><Key>k</Key><ETag>"E"</ETag></CompleteMultipartUploadResult>');
  }
  res.writeHead(200, { etag: '"0123456789abcdef"', 'x-oss-request-id': 'r1' });
  res.end();
}

/** Runs `work` against a local server and returns every request it received. */
function record(work: (endpoint: string) => Promise<void>): Promise<Recorded[]> {
  const seen = recordRequests(
    (port) => work(`http://127.0.0.1:${port}`),
    (r, res) => answer(r.req, res),
  );
  // With an IP endpoint ali-oss keeps the path /key and names the bucket in Host.
  return seen.then((all) =>
    all.map(({ msg, req, body }) => ({ req, bucket: String(msg.headers.host).split('.')[0], objectKey: decodeURIComponent(req.rawPath.slice(1)), body })),
  );
}

function client(endpoint: string, authorizationV4: boolean): OSS {
  return new OSS({
    endpoint,
    bucket: 'bkt1', // ali-oss refuses bucket names shorter than 3 characters
    accessKeyId: 'STS.x',
    accessKeySecret: 's',
    stsToken: 'tok',
    region: 'oss-cn-shanghai',
    authorizationV4,
    // Never due within a test; set only so ali-oss does not warn about STS refresh.
    refreshSTSToken: async () => ({ accessKeyId: 'STS.x', accessKeySecret: 's', stsToken: 'tok' }),
    refreshSTSTokenInterval: 3_600_000,
  });
}

const KEY = 'dir/hello wörld+(1).txt';

async function uploads(authorizationV4: boolean): Promise<Recorded[]> {
  return record(async (endpoint) => {
    const oss = client(endpoint, authorizationV4);
    await oss.put(KEY, Buffer.from('hello'));
    await oss.multipartUpload('big.bin', Buffer.alloc(250 * 1024, 7), { partSize: 100 * 1024 });
  });
}

// Recorded once per signature version; every test below works on copies.
const v1 = uploads(false);
const v4 = uploads(true);

function opts(r: Recorded, extra: Partial<VerifyOssHeaderOptions> = {}): VerifyOssHeaderOptions {
  return {
    bucket: r.bucket,
    objectKey: r.objectKey,
    lookupCredential: (id) => CREDENTIALS[id],
    ...extra,
  };
}

function copy(r: Recorded, change: (req: SignedRequest) => void): Recorded {
  const req: SignedRequest = { ...r.req, headers: { ...r.req.headers } };
  change(req);
  return { ...r, req };
}

function signedAt(r: Recorded): number {
  return new Date(String(r.req.headers['x-oss-date']).replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')).getTime();
}

test('V1: every request of put and multipartUpload verifies', async () => {
  const seen = await v1;
  assert.deepEqual(
    seen.map((r) => `${r.req.method} ${r.req.rawPath}?${r.req.rawQuery}`),
    [
      'PUT /dir/hello%20w%C3%B6rld%2B(1).txt?',
      'POST /big.bin?uploads=',
      'PUT /big.bin?partNumber=1&uploadId=UPLOAD1',
      'PUT /big.bin?partNumber=2&uploadId=UPLOAD1',
      'PUT /big.bin?partNumber=3&uploadId=UPLOAD1',
      'POST /big.bin?uploadId=UPLOAD1',
    ],
  );
  assert.deepEqual(seen.slice(2, 5).map((r) => r.body.length), [102400, 102400, 51200]);
  for (const r of seen) {
    assert.match(String(r.req.headers.authorization), /^OSS STS\.x:/);
    assert.equal(r.req.headers.host, 'bkt1.oss-cn-shanghai.aliyuncs.com');
    assert.deepEqual(verifyOssHeader(r.req, opts(r)), { accessKeyId: 'STS.x', signatureVersion: 'OSS' });
  }
});

test('V1: signOssV1 reproduces the Authorization ali-oss sent', async () => {
  for (const r of await v1) {
    const auth = signOssV1(r.req, { accessKeyId: 'STS.x', secret: 's', bucket: r.bucket, objectKey: r.objectKey });
    assert.equal(auth, r.req.headers.authorization);
  }
});

test('V1: altered requests are refused with OSS codes', async () => {
  const [put, , part] = await v1;
  const ok = (r: Recorded, extra?: Partial<VerifyOssHeaderOptions>) => verifyOssHeader(r.req, opts(r, extra));
  const mismatch = (r: Recorded, extra?: Partial<VerifyOssHeaderOptions>) =>
    refused(() => ok(r, extra), 'SignatureDoesNotMatch', 403);

  mismatch(copy(put, (q) => (q.headers['content-type'] = 'text/html')));
  mismatch(copy(put, (q) => (q.headers['content-md5'] = '1B2M2Y8AsgTpgAmY7PhCfg==')));
  mismatch(copy(put, (q) => (q.headers['x-oss-meta-extra'] = 'added')));
  mismatch(copy(put, (q) => (q.method = 'DELETE')));
  mismatch(put, { objectKey: 'dir/other.txt' });
  mismatch(put, { bucket: 'other-bucket' });
  mismatch(copy(part, (q) => (q.rawQuery = q.rawQuery.replace('partNumber=1', 'partNumber=2'))));
  mismatch(put, { lookupCredential: () => ({ secret: 'wrong', securityToken: 'tok' }) });
  // Query parameters outside the sub-resource list are not signed in V1.
  ok(copy(part, (q) => (q.rawQuery += '&unsigned=1')));

  refused(() => ok(put, { lookupCredential: () => undefined }), 'InvalidAccessKeyId', 403);
  refused(() => ok(copy(put, (q) => delete q.headers['x-oss-security-token'])), 'InvalidAccessKeyId', 403);
  refused(() => ok(copy(put, (q) => (q.headers['x-oss-security-token'] = 'other'))), 'InvalidSecurityToken', 403);
  refused(() => ok(put, { lookupCredential: () => ({ secret: 's' }) }), 'InvalidSecurityToken', 403);
  refused(() => ok(copy(put, (q) => delete q.headers.authorization)), 'AccessDenied', 403);
  refused(() => ok(copy(put, (q) => (q.headers.authorization = 'OSS STS.x'))), 'InvalidArgument', 400);
  refused(() => ok(copy(put, (q) => (q.headers.authorization = 'Bearer abc'))), 'InvalidArgument', 400);
  refused(() => ok(copy(put, (q) => delete q.headers['x-oss-date'])), 'AccessDenied', 403);
});

test('V1: the request date may be at most 15 minutes off', async () => {
  const [put] = await v1;
  const at = new Date(String(put.req.headers['x-oss-date'])).getTime();
  const minutes = (m: number) => new Date(at + m * 60_000);
  verifyOssHeader(put.req, opts(put, { now: minutes(14) }));
  verifyOssHeader(put.req, opts(put, { now: minutes(-14) }));
  refused(() => verifyOssHeader(put.req, opts(put, { now: minutes(16) })), 'RequestTimeTooSkewed', 403);
  refused(() => verifyOssHeader(put.req, opts(put, { now: minutes(-16) })), 'RequestTimeTooSkewed', 403);
  refused(() => verifyOssHeader(put.req, opts(put, { now: minutes(3), maxSkewSeconds: 60 })), 'RequestTimeTooSkewed', 403);
});

test('V1: a Date header is used when x-oss-date is absent', () => {
  const req: SignedRequest = {
    method: 'GET',
    rawPath: '/a.txt',
    rawQuery: 'acl',
    headers: { date: 'Tue, 20 Dec 2022 08:48:18 GMT', 'content-type': '' },
  };
  const key = { accessKeyId: 'AK', secret: 'sk', bucket: 'bkt1', objectKey: 'a.txt' };
  req.headers.authorization = signOssV1(req, key);
  const now = new Date('2022-12-20T08:50:00Z');
  assert.deepEqual(
    verifyOssHeader(req, { bucket: 'bkt1', objectKey: 'a.txt', now, lookupCredential: () => ({ secret: 'sk' }) }),
    { accessKeyId: 'AK', signatureVersion: 'OSS' },
  );
});

test('V4: every request of put and multipartUpload verifies', async () => {
  const seen = await v4;
  assert.equal(seen.length, 6);
  for (const r of seen) {
    assert.match(String(r.req.headers.authorization), /^OSS4-HMAC-SHA256 Credential=STS\.x\/\d{8}\/cn-shanghai\/oss\/aliyun_v4_request,Signature=[0-9a-f]{64}$/);
    assert.deepEqual(verifyOssHeader(r.req, opts(r, { region: 'cn-shanghai' })), {
      accessKeyId: 'STS.x',
      signatureVersion: 'OSS4-HMAC-SHA256',
    });
  }
});

test('V4: signOssV4 reproduces the Authorization ali-oss sent', async () => {
  for (const r of await v4) {
    const auth = signOssV4(r.req, {
      accessKeyId: 'STS.x',
      secret: 's',
      bucket: r.bucket,
      objectKey: r.objectKey,
      region: 'cn-shanghai',
    });
    assert.equal(auth, r.req.headers.authorization);
  }
});

test('V4: AdditionalHeaders and the Python SDK layout (", " separators, any order) verify', () => {
  const req: SignedRequest = {
    method: 'GET',
    rawPath: '/a%20b.txt',
    rawQuery: 'versionId=v%2F1&acl',
    headers: {
      host: 'bkt1.oss-cn-hangzhou.aliyuncs.com',
      range: 'bytes=0-9',
      'x-oss-date': '20231203T121212Z',
      'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    },
  };
  const key = { accessKeyId: 'AK', secret: 'sk', bucket: 'bkt1', objectKey: 'a b.txt', region: 'cn-hangzhou' };
  const auth = signOssV4(req, { ...key, additionalHeaders: ['Range', 'host'] });
  assert.match(auth, /,AdditionalHeaders=host;range,Signature=/);
  const [scheme, rest] = [auth.slice(0, 16), auth.slice(17)];
  const parts = rest.split(',');
  req.headers.authorization = `${scheme} ${[parts[0], parts[2], parts[1]].join(', ')}`;
  const now = new Date('2023-12-03T12:20:00Z');
  const base = { bucket: 'bkt1', objectKey: 'a b.txt', now, lookupCredential: () => ({ secret: 'sk' }) };
  assert.equal(verifyOssHeader(req, base).signatureVersion, 'OSS4-HMAC-SHA256');
  refused(() => verifyOssHeader({ ...req, headers: { ...req.headers, range: 'bytes=0-10' } }, base), 'SignatureDoesNotMatch', 403);
  const noRange = { ...req.headers };
  delete noRange.range;
  refused(() => verifyOssHeader({ ...req, headers: noRange }, base), 'InvalidArgument', 400);
});

test('V4: altered requests are refused with OSS codes', async () => {
  const [put, , part] = await v4;
  const ok = (r: Recorded, extra?: Partial<VerifyOssHeaderOptions>) => verifyOssHeader(r.req, opts(r, extra));
  const mismatch = (r: Recorded, extra?: Partial<VerifyOssHeaderOptions>) =>
    refused(() => ok(r, extra), 'SignatureDoesNotMatch', 403);

  mismatch(copy(put, (q) => (q.headers['content-type'] = 'text/html')));
  mismatch(copy(put, (q) => (q.headers['x-oss-meta-extra'] = 'added')));
  mismatch(put, { objectKey: 'dir/other.txt' });
  mismatch(copy(part, (q) => (q.rawQuery = q.rawQuery.replace('partNumber=1', 'partNumber=2'))));
  // V4 signs every query parameter.
  mismatch(copy(part, (q) => (q.rawQuery += '&unsigned=1')));
  mismatch(put, { lookupCredential: () => ({ secret: 'wrong', securityToken: 'tok' }) });

  refused(() => ok(put, { region: 'cn-hangzhou' }), 'InvalidArgument', 400);
  refused(() => ok(copy(put, (q) => (q.headers['x-oss-content-sha256'] = 'abc'))), 'InvalidArgument', 400);
  refused(() => ok(put, { lookupCredential: () => undefined }), 'InvalidAccessKeyId', 403);
  refused(() => ok(copy(put, (q) => delete q.headers['x-oss-security-token'])), 'InvalidAccessKeyId', 403);
  refused(() => ok(copy(put, (q) => (q.headers['x-oss-security-token'] = 'other'))), 'InvalidSecurityToken', 403);
  refused(() => ok(copy(put, (q) => (q.headers.authorization = 'OSS4-HMAC-SHA256 Signature=00'))), 'InvalidArgument', 400);

  const at = signedAt(put);
  refused(() => ok(put, { now: new Date(at + 16 * 60_000) }), 'RequestTimeTooSkewed', 403);
  ok(put, { now: new Date(at + 14 * 60_000) });
});
