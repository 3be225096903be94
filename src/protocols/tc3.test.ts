import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { signTc3, tc3CanonicalRequest, tc3StringToSign, verifyTc3, type VerifyTc3Options } from './tc3.js';
import { SignatureError, type SignedRequest } from './types.js';

const SECRET_ID = 'AKIDtc3Example0001';
const SECRET_KEY = 'tc3SecretKeyExample0001';
const secrets: Record<string, string> = { [SECRET_ID]: SECRET_KEY };
const opts = (now?: Date): VerifyTc3Options => ({ lookupSecret: (id) => secrets[id], now });

interface Captured {
  req: SignedRequest;
  body: Buffer;
}

// A throwaway server that records what the vendor's client sends.
const captured: Captured[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    captured.push({
      req: {
        method: req.method ?? 'GET',
        rawPath: q < 0 ? url : url.slice(0, q),
        rawQuery: q < 0 ? '' : url.slice(q + 1),
        headers: req.headers,
      },
      body: Buffer.concat(chunks),
    });
    res.setHeader('content-type', 'application/json');
    res.end('{"Response":{"RequestId":"r"}}');
  });
});
let port = 0;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends one CreateUploadUrl through CommonClient and returns what the server saw. */
async function viaSdk(endpoint: string, agent: http.Agent, reqMethod: 'POST' | 'GET' = 'POST', params: object = { TargetAction: 'x' }): Promise<Captured> {
  const client = new CommonClient(endpoint.split(':')[0], '2018-03-01', {
    credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
    region: 'ap-singapore',
    profile: { httpProfile: { endpoint, protocol: 'http://', reqMethod, agent } },
  });
  const before = captured.length;
  const answer = await client.request('CreateUploadUrl', params);
  assert.equal(answer.RequestId, 'r');
  assert.equal(captured.length, before + 1);
  return captured[captured.length - 1];
}

/** An agent that dials our server whatever host the URL names (so the SDK can keep its real endpoint). */
function loopbackAgent(): http.Agent {
  const agent = new http.Agent();
  (agent as unknown as { createConnection: () => net.Socket }).createConnection = () =>
    net.createConnection({ host: '127.0.0.1', port });
  return agent;
}

function refuses(fn: () => unknown, code: string, label = ''): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureError, `${label}: expected SignatureError, got ${String(err)}`);
    assert.equal(err.code, code, label);
    assert.equal(err.status, 200, label); // API 3.0 answers errors with HTTP 200
    return true;
  });
}

function withHeaders(c: Captured, headers: Record<string, string | undefined>): SignedRequest {
  return { ...c.req, headers: { ...c.req.headers, ...headers } };
}

test('the documented example canonical request and string to sign come out exactly', () => {
  // Tencent Cloud "Signature v3": DescribeInstances, timestamp 1551113065.
  const body = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}';
  const canonical = tc3CanonicalRequest({
    method: 'POST',
    rawPath: '/',
    rawQuery: '',
    headers: { 'Content-Type': 'application/json; charset=utf-8', Host: 'cvm.tencentcloudapi.com', 'X-TC-Action': 'DescribeInstances' },
    body,
  });
  assert.equal(
    canonical.text,
    'POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\n' +
      'content-type;host;x-tc-action\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064',
  );
  assert.equal(createHash('sha256').update(canonical.text).digest('hex'), '7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84');
  assert.equal(
    tc3StringToSign(1551113065, 'cvm', canonical.text),
    'TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84',
  );
});

test('a CommonClient POST to 127.0.0.1:PORT verifies (service "127", host signed without its port)', async () => {
  const c = await viaSdk(`127.0.0.1:${port}`, new http.Agent());
  assert.equal(c.req.headers.host, `127.0.0.1:${port}`);
  assert.match(String(c.req.headers.authorization), /\/127\/tc3_request, SignedHeaders=content-type;host, /);
  const got = verifyTc3(c.req, c.body, opts());
  assert.equal(got.secretId, SECRET_ID);
  assert.equal(got.service, '127');
  assert.equal(got.action, 'CreateUploadUrl');
  assert.equal(got.region, 'ap-singapore');
  assert.equal(got.version, '2018-03-01');
  assert.equal(got.timestamp, Number(c.req.headers['x-tc-timestamp']));
  // The SDK signs URL.hostname (no port) although it sends URL.host.
  const signed = signTc3({
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    service: '127',
    timestamp: got.timestamp,
    headers: { 'content-type': 'application/json', host: '127.0.0.1' },
    body: c.body,
  });
  assert.equal(signed, c.req.headers.authorization);
  refuses(() => verifyTc3(withHeaders(c, { host: `127.0.0.2:${port}` }), c.body, opts()), 'AuthFailure.SignatureFailure');
});

test('a CommonClient POST for faceid.tencentcloudapi.com verifies and signTc3 reproduces it byte for byte', async () => {
  const c = await viaSdk('faceid.tencentcloudapi.com', loopbackAgent());
  assert.equal(c.req.headers.host, 'faceid.tencentcloudapi.com');
  assert.equal(c.body.toString(), '{"TargetAction":"x"}');
  const got = verifyTc3(c.req, c.body, opts());
  assert.equal(got.service, 'faceid');
  const ours = signTc3({
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    service: 'faceid',
    timestamp: got.timestamp,
    headers: { 'content-type': String(c.req.headers['content-type']), host: 'faceid.tencentcloudapi.com' },
    body: c.body,
  });
  assert.equal(ours, c.req.headers.authorization);
});

test('a CommonClient GET with a query string verifies', async () => {
  const c = await viaSdk('faceid.tencentcloudapi.com', loopbackAgent(), 'GET', {
    TargetAction: 'x',
    Filters: [{ Name: 'a b', Values: ['c/d+é'] }],
  });
  assert.equal(c.req.method, 'GET');
  assert.match(c.req.rawQuery, /^TargetAction=x&Filters\.0\.Name=a%20b&/);
  assert.equal(c.body.length, 0);
  assert.equal(verifyTc3(c.req, c.body, opts()).action, 'CreateUploadUrl');
  refuses(() => verifyTc3({ ...c.req, rawQuery: c.req.rawQuery.replace('TargetAction=x', 'TargetAction=y') }, c.body, opts()), 'AuthFailure.SignatureFailure');
});

test('our own signTc3 output verifies, with extra signed headers', () => {
  const timestamp = 1_700_000_000;
  const body = Buffer.from('{"TargetAction":"x"}');
  const headers = { 'Content-Type': 'application/json', Host: 'faceid.example.org', 'X-TC-Action': 'CreateUploadUrl' };
  const authorization = signTc3({ secretId: SECRET_ID, secretKey: SECRET_KEY, service: 'faceid', timestamp, headers, body });
  assert.match(authorization, /SignedHeaders=content-type;host;x-tc-action, /);
  const req: SignedRequest = {
    method: 'POST',
    rawPath: '/',
    rawQuery: '',
    headers: { 'content-type': 'application/json', host: 'faceid.example.org', 'x-tc-action': 'CreateUploadUrl', 'x-tc-timestamp': String(timestamp), authorization },
  };
  assert.equal(verifyTc3(req, body, opts(new Date(timestamp * 1000))).action, 'CreateUploadUrl');
  refuses(() => verifyTc3(withHeaders({ req, body }, { 'x-tc-action': 'DeleteEverything' }), body, opts(new Date(timestamp * 1000))), 'AuthFailure.SignatureFailure');
});

test('tampering refuses with the Tencent Cloud codes', async () => {
  const c = await viaSdk('faceid.tencentcloudapi.com', loopbackAgent());
  const ts = Number(c.req.headers['x-tc-timestamp']);
  const auth = String(c.req.headers.authorization);
  const sig = /Signature=([0-9a-f]+)/.exec(auth)![1];
  const failure: Array<[string, SignedRequest, Buffer]> = [
    ['body', c.req, Buffer.from('{"TargetAction":"y"}')],
    ['content-type', withHeaders(c, { 'content-type': 'text/plain' }), c.body],
    ['host', withHeaders(c, { host: 'cvm.tencentcloudapi.com' }), c.body],
    ['method', { ...c.req, method: 'PUT' }, c.body],
    ['path', { ...c.req, rawPath: '/x' }, c.body],
    ['timestamp + 1', withHeaders(c, { 'x-tc-timestamp': String(ts + 1) }), c.body],
    ['signature', withHeaders(c, { authorization: auth.replace(sig, (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)) }), c.body],
    ['scope date', withHeaders(c, { authorization: auth.replace(/\/\d{4}-\d{2}-\d{2}\//, '/2001-01-01/') }), c.body],
    ['scope service', withHeaders(c, { authorization: auth.replace('/faceid/', '/cvm/') }), c.body],
  ];
  for (const [label, req, body] of failure) refuses(() => verifyTc3(req, body, opts()), 'AuthFailure.SignatureFailure', label);
  refuses(() => verifyTc3(c.req, c.body, { ...opts(), lookupSecret: () => 'wrong' }), 'AuthFailure.SignatureFailure', 'secret');
  refuses(() => verifyTc3(c.req, c.body, { ...opts(), lookupSecret: () => undefined }), 'AuthFailure.SecretIdNotFound');

  const at = (s: number) => opts(new Date((ts + s) * 1000));
  assert.ok(verifyTc3(c.req, c.body, at(300)));
  assert.ok(verifyTc3(c.req, c.body, at(-300)));
  refuses(() => verifyTc3(c.req, c.body, at(301)), 'AuthFailure.SignatureExpire', 'late');
  refuses(() => verifyTc3(c.req, c.body, at(-301)), 'AuthFailure.SignatureExpire', 'early');
  refuses(() => verifyTc3(withHeaders(c, { 'x-tc-timestamp': String(ts - 3600) }), c.body, opts()), 'AuthFailure.SignatureExpire', 'old timestamp');
  assert.ok(verifyTc3(c.req, c.body, { ...at(600), maxSkewSeconds: 600 }));

  refuses(() => verifyTc3(withHeaders(c, { 'x-tc-timestamp': undefined }), c.body, opts()), 'MissingParameter');
  refuses(() => verifyTc3(withHeaders(c, { 'x-tc-timestamp': 'yesterday' }), c.body, opts()), 'InvalidParameterValue');
});

test('a malformed Authorization header is AuthFailure.InvalidAuthorization', async () => {
  const c = await viaSdk('faceid.tencentcloudapi.com', loopbackAgent());
  const auth = String(c.req.headers.authorization);
  const bad: Array<string | undefined> = [
    undefined,
    '',
    auth.replace('TC3-HMAC-SHA256', 'TC3-HMAC-SHA1'),
    auth.replace('Credential=', 'Cred='),
    auth.replace(/, Signature=[0-9a-f]+/, ''),
    `${auth}, Signature=00`,
    auth.replace('/tc3_request', '/aws4_request'),
    auth.replace(/\/(\d{4})-(\d{2})-(\d{2})\//, '/$1$2$3/'),
    auth.replace('SignedHeaders=content-type;host', 'SignedHeaders=host'),
    auth.replace('SignedHeaders=content-type;host', 'SignedHeaders=host;content-type'),
    auth.replace('SignedHeaders=content-type;host', 'SignedHeaders=Content-Type;host'),
  ];
  for (const authorization of bad) {
    refuses(() => verifyTc3(withHeaders(c, { authorization }), c.body, opts()), 'AuthFailure.InvalidAuthorization', String(authorization));
  }
});
