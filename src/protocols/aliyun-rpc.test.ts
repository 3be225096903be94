// Requests signed by the vendor's own @alicloud/pop-core RPCClient, recorded
// by a throwaway HTTP server, must verify; altered or replayed ones must not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import RPCClient from '@alicloud/pop-core';
import {
  aliyunRpcStringToSign,
  collectAliyunRpcParams,
  signAliyunRpc,
  verifyAliyunRpc,
  type VerifyAliyunRpcOptions,
} from './aliyun-rpc.js';
import { recordRequests } from '../../test/support/recording-server.js';
import { refused } from '../../test/support/signature.js';

interface Recorded {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

function record(work: (endpoint: string) => Promise<void>): Promise<Recorded[]> {
  const seen = recordRequests(
    (port) => work(`http://127.0.0.1:${port}`),
    (_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"RequestId":"x"}');
    },
  );
  return seen.then((all) => all.map(({ msg, body }) => ({ method: msg.method ?? '', url: msg.url ?? '/', contentType: msg.headers['content-type'], body: body.toString('utf8') })));
}

const recorded = record(async (endpoint) => {
  const client = new RPCClient({ accessKeyId: 'AKID', accessKeySecret: 'secret', endpoint, apiVersion: '2020-11-09' });
  const post = await client.request<{ RequestId: string }>(
    'CreateUploadMedia',
    { FileInfo: '{"Type":"text"}', Title: "audience (1) *é* ~'!" },
    { method: 'POST' },
  );
  assert.equal(post.RequestId, 'x');
  await client.request('GetMediaInfo', { MediaId: 'a/b c+d' }, {});
});

function paramsOf(r: Recorded): Record<string, string> {
  const q = r.url.indexOf('?');
  return { ...collectAliyunRpcParams(q < 0 ? '' : r.url.slice(q + 1), r.body) };
}

function options(extra: Partial<VerifyAliyunRpcOptions> = {}): VerifyAliyunRpcOptions {
  const used = new Set<string>();
  return {
    lookupSecret: (id) => (id === 'AKID' ? 'secret' : undefined),
    seenNonce: (nonce, id) => used.has(`${id}/${nonce}`) || (used.add(`${id}/${nonce}`), false),
    ...extra,
  };
}

test('pop-core POST (params in the form body) and GET (params in the query) verify', async () => {
  const [post, get] = await recorded;
  assert.equal(post.method, 'POST');
  assert.equal(post.url, '/');
  assert.equal(post.contentType, 'application/x-www-form-urlencoded');
  assert.equal(get.method, 'GET');
  assert.equal(get.body, '');
  const opts = options();
  assert.deepEqual(verifyAliyunRpc(post.method, paramsOf(post), opts), { accessKeyId: 'AKID', action: 'CreateUploadMedia', version: '2020-11-09' });
  assert.deepEqual(verifyAliyunRpc(get.method, paramsOf(get), opts), { accessKeyId: 'AKID', action: 'GetMediaInfo', version: '2020-11-09' });
  assert.equal(paramsOf(post).Title, "audience (1) *é* ~'!");
  assert.equal(paramsOf(get).MediaId, 'a/b c+d');
});

test('signAliyunRpc produces the signature pop-core sent', async () => {
  for (const r of await recorded) {
    const sent = paramsOf(r);
    const { Signature, AccessKeyId: _a, SignatureMethod: _m, SignatureVersion: _v, SignatureNonce, Timestamp, ...rest } = sent;
    const mine = signAliyunRpc(r.method, rest, { accessKeyId: 'AKID', secret: 'secret', nonce: SignatureNonce, timestamp: new Date(Timestamp) });
    assert.equal(mine.Signature, Signature);
    assert.deepEqual(mine, sent);
  }
});

test('the string to sign follows the documented layout', () => {
  const s = aliyunRpcStringToSign('get', { Version: '2020-11-09', Action: 'A', Signature: 'ignored', 'Name.1': 'x y' });
  assert.equal(s, 'GET&%2F&Action%3DA%26Name.1%3Dx%2520y%26Version%3D2020-11-09');
});

test('tampered, wrong-key and unknown-key requests are refused', async () => {
  const [post, get] = await recorded;
  const p = paramsOf(post);
  refused(() => verifyAliyunRpc('POST', { ...p, FileInfo: '{"Type":"video"}' }, options()), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAliyunRpc('POST', { ...p, Extra: '1' }, options()), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAliyunRpc('GET', p, options()), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAliyunRpc('POST', p, options({ lookupSecret: () => 'other' })), 'SignatureDoesNotMatch', 400);
  refused(() => verifyAliyunRpc('POST', p, options({ lookupSecret: () => undefined })), 'InvalidAccessKeyId.NotFound', 404);
  refused(() => verifyAliyunRpc('GET', { ...paramsOf(get), Signature: 'abc' }, options()), 'IncompleteSignature', 400);
  refused(() => verifyAliyunRpc('PUT', p, options()), 'UnsupportedHTTPMethod', 403);
});

test('a replayed nonce is refused, and only verified requests consume nonces', async () => {
  const [post] = await recorded;
  const p = paramsOf(post);
  const opts = options();
  refused(() => verifyAliyunRpc('POST', { ...p, Title: 'forged' }, opts), 'SignatureDoesNotMatch', 400);
  verifyAliyunRpc('POST', p, opts);
  refused(() => verifyAliyunRpc('POST', p, opts), 'SignatureNonceUsed', 400);
});

test('the Timestamp may be at most 15 minutes off', async () => {
  const [post] = await recorded;
  const p = paramsOf(post);
  const at = new Date(p.Timestamp).getTime();
  verifyAliyunRpc('POST', p, options({ now: new Date(at + 14 * 60_000) }));
  refused(() => verifyAliyunRpc('POST', p, options({ now: new Date(at + 16 * 60_000) })), 'InvalidTimeStamp.Expired', 400);
  refused(() => verifyAliyunRpc('POST', p, options({ now: new Date(at - 16 * 60_000) })), 'InvalidTimeStamp.Expired', 400);
  refused(() => verifyAliyunRpc('POST', p, options({ now: new Date(at + 120_000), maxSkewSeconds: 60 })), 'InvalidTimeStamp.Expired', 400);
  refused(() => verifyAliyunRpc('POST', { ...p, Timestamp: '2026-01-01 00:00:00' }, options()), 'InvalidTimeStamp.Format', 400);
});

test('missing and unsupported common parameters', async () => {
  const [post] = await recorded;
  const p = paramsOf(post);
  for (const name of ['Action', 'Version', 'AccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'SignatureNonce', 'Timestamp']) {
    const without = { ...p };
    delete without[name];
    refused(() => verifyAliyunRpc('POST', without, options()), `Missing${name}`, 400);
  }
  refused(() => verifyAliyunRpc('POST', { ...p, SignatureMethod: 'HMAC-SHA256' }, options()), 'InvalidSignatureMethod', 400);
  refused(() => verifyAliyunRpc('POST', { ...p, SignatureVersion: '2.0' }, options()), 'IncompleteSignature', 400);
});

test('collectAliyunRpcParams merges query and form body and refuses duplicates', () => {
  assert.deepEqual({ ...collectAliyunRpcParams('Action=A&x=%20', 'Version=1&y=a%2Bb') }, { Action: 'A', x: ' ', Version: '1', y: 'a+b' });
  refused(() => collectAliyunRpcParams('Action=A', 'Action=B'), 'InvalidParameter', 400);
  refused(() => collectAliyunRpcParams('Action=%E0%A4%A', undefined), 'InvalidParameter', 400);
  assert.equal(Object.getPrototypeOf(collectAliyunRpcParams('__proto__=x')), null);
});
