// Seed 002, Tencent Cloud CreateUploadUrl, as a Tencent customer uses it: the
// vendor's SDK asks for the URLs, a plain HTTP PUT (curl -T, or fetch) sends
// the file to UploadUrl, and ResourceUrl gives the same bytes back. The URLs
// are COS q-sign URLs, checked here against cos-nodejs-sdk-v5's own signer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import COS from 'cos-nodejs-sdk-v5';
import { signTc3 } from '../src/protocols/tc3.js';
import { startHarness, type Harness } from './support/harness.js';
import { createUploadUrl, type TcResult } from './support/vendor-clients.js';

const run = promisify(execFile);
const BUCKET = 'audiencehub-intl';
let h: Harness;
let dir: string;

before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-tc-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Urls {
  UploadUrl: string;
  ResourceUrl: string;
  ExpiredTimestamp: number;
  RequestId: string;
}

async function urls(target = 'ApplyWebVerificationToken'): Promise<Urls> {
  const r: TcResult = await createUploadUrl(h, h.account, { TargetAction: target });
  assert.ok(r.ok, JSON.stringify(r));
  return r.response as Urls;
}

function audience(n: number): string {
  return Array.from({ length: n }, (_, i) => `${String(i).padStart(8, '0')}-7177-4937-a474-74937a102630`).join('\n') + '\n';
}

/** The COS error document's Code. */
async function cosError(res: Response): Promise<string> {
  const xml = await res.text();
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? `no Code in ${xml}`;
}

/** A request to the store signed by the COS SDK itself with the bucket's store credential. */
function cosSdkAuthorization(method: 'PUT' | 'GET', objectPath: string): string {
  const cred = h.app.storeCredentials.forBucket(BUCKET);
  return COS.getAuthorization({
    SecretId: cred.accessKeyId,
    SecretKey: cred.secret,
    Method: method,
    Pathname: objectPath,
    Headers: { Host: new URL(h.url).host },
    SystemClockOffset: h.clock.offsetMs,
  });
}

const decodedPath = (url: string) => decodeURIComponent(new URL(url).pathname);

test('the vendor client receives UploadUrl, ResourceUrl, ExpiredTimestamp and RequestId', async () => {
  const before = Math.floor(Date.now() / 1000);
  const u = await urls();
  assert.deepEqual(Object.keys(u).sort(), ['ExpiredTimestamp', 'RequestId', 'ResourceUrl', 'UploadUrl']);
  assert.ok(Number.isInteger(u.ExpiredTimestamp) && String(u.ExpiredTimestamp).length === 10);
  // Links last two hours, like the data.
  assert.ok(u.ExpiredTimestamp >= before + 7200 && u.ExpiredTimestamp <= before + 7205, String(u.ExpiredTimestamp - before));
  assert.match(u.RequestId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  for (const url of [u.UploadUrl, u.ResourceUrl]) {
    const q = new URL(url).searchParams;
    assert.ok(url.startsWith(`${h.url}/${BUCKET}/`), url);
    assert.deepEqual([...q.keys()], ['q-sign-algorithm', 'q-ak', 'q-sign-time', 'q-key-time', 'q-header-list', 'q-url-param-list', 'q-signature']);
    assert.equal(q.get('q-sign-algorithm'), 'sha1');
    assert.equal(q.get('q-header-list'), 'host');
    assert.equal(q.get('q-url-param-list'), '');
    assert.equal(q.get('q-key-time')!.split(';')[1], String(u.ExpiredTimestamp));
    assert.match(q.get('q-signature')!, /^[0-9a-f]{40}$/);
  }
  // One object, two capabilities: the same path, signed once for PUT and once for GET.
  assert.equal(new URL(u.UploadUrl).pathname, new URL(u.ResourceUrl).pathname);
  assert.notEqual(new URL(u.UploadUrl).searchParams.get('q-signature'), new URL(u.ResourceUrl).searchParams.get('q-signature'));
  assert.match(decodedPath(u.UploadUrl), /\/ApplyWebVerificationToken-[^/]+$/);
});

test('on the wire the answer is the {"Response": {…}} envelope with HTTP 200', async () => {
  const timestamp = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ TargetAction: 'DetectAuth' });
  const headers = { 'content-type': 'application/json', host: new URL(h.url).host };
  const authorization = signTc3({ secretId: h.account.accessKeyId, secretKey: h.account.secret, service: 'faceid', timestamp, headers, body });
  const res = await fetch(`${h.url}/`, {
    method: 'POST',
    headers: { ...headers, authorization, 'x-tc-action': 'CreateUploadUrl', 'x-tc-version': '2018-03-01', 'x-tc-region': 'ap-hongkong', 'x-tc-timestamp': String(timestamp) },
    body,
  });
  assert.equal(res.status, 200);
  const json = await res.json();
  assert.deepEqual(Object.keys(json), ['Response']);
  assert.deepEqual(Object.keys(json.Response).sort(), ['ExpiredTimestamp', 'RequestId', 'ResourceUrl', 'UploadUrl']);
});

test('the q-signatures are the ones the COS SDK computes for the same path and key time', async () => {
  const u = await urls();
  const cred = h.app.storeCredentials.forBucket(BUCKET);
  for (const [url, method] of [[u.UploadUrl, 'PUT'], [u.ResourceUrl, 'GET']] as const) {
    const q = new URL(url).searchParams;
    const sdk = COS.getAuthorization({
      SecretId: cred.accessKeyId,
      SecretKey: cred.secret,
      Method: method,
      Pathname: decodedPath(url),
      Headers: { Host: new URL(h.url).host },
      KeyTime: q.get('q-key-time')!,
    });
    assert.equal(new URLSearchParams(sdk).get('q-signature'), q.get('q-signature'), method);
  }
});

test('curl -X PUT -T file "UploadUrl" stores the file and ResourceUrl downloads the same bytes', async () => {
  const u = await urls();
  const content = audience(3000);
  const file = join(dir, 'audience.txt');
  writeFileSync(file, content);
  const put = await run('curl', ['-sS', '-X', 'PUT', '-T', file, '-o', '/dev/null', '-w', '%{http_code}', u.UploadUrl]);
  assert.equal(put.stdout, '200');
  const got = await fetch(u.ResourceUrl);
  assert.equal(got.status, 200);
  assert.equal(await got.text(), content);
  // curl, as a customer would fetch it.
  const viaCurl = await run('curl', ['-sS', '--fail', u.ResourceUrl], { maxBuffer: 1 << 24 });
  assert.equal(viaCurl.stdout, content);
});

test('a fetch PUT to UploadUrl works the same, and ResourceUrl gives those bytes back', async () => {
  const u = await urls('DetectAuth');
  const content = Buffer.from(audience(10));
  const put = await fetch(u.UploadUrl, { method: 'PUT', body: content });
  assert.equal(put.status, 200, await put.text());
  assert.match(put.headers.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
  const got = Buffer.from(await (await fetch(u.ResourceUrl)).arrayBuffer());
  assert.ok(got.equals(content));
});

test('ResourceUrl answers NoSuchKey (404) until the file has been uploaded', async () => {
  const u = await urls();
  const res = await fetch(u.ResourceUrl);
  assert.equal(res.status, 404);
  assert.equal(await cosError(res), 'NoSuchKey');
});

test('a request signed by the COS SDK with the store credential for that object is accepted, for PUT and GET', async () => {
  const u = await urls();
  const path = decodedPath(u.UploadUrl);
  const base = `${h.url}${new URL(u.UploadUrl).pathname}`;
  const content = audience(5);
  const put = await fetch(base, { method: 'PUT', body: content, headers: { authorization: cosSdkAuthorization('PUT', path) } });
  assert.equal(put.status, 200, await put.text());
  const get = await fetch(base, { headers: { authorization: cosSdkAuthorization('GET', path) } });
  assert.equal(get.status, 200);
  assert.equal(await get.text(), content);
});

test('a tampered q-signature is refused with SignatureDoesNotMatch (403) and nothing is stored', async () => {
  const u = await urls();
  const url = new URL(u.UploadUrl);
  const sig = url.searchParams.get('q-signature')!;
  url.searchParams.set('q-signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
  const put = await fetch(url, { method: 'PUT', body: 'x\n' });
  assert.equal(put.status, 403);
  assert.equal(await cosError(put), 'SignatureDoesNotMatch');
  const res = await fetch(u.ResourceUrl);
  assert.equal(res.status, 404);
});

test('UploadUrl cannot read and ResourceUrl cannot write: the method is part of the signature', async () => {
  const u = await urls();
  assert.equal((await fetch(u.UploadUrl, { method: 'PUT', body: 'y\n' })).status, 200);
  const read = await fetch(u.UploadUrl);
  assert.equal(read.status, 403);
  assert.equal(await cosError(read), 'SignatureDoesNotMatch');
  const write = await fetch(u.ResourceUrl, { method: 'PUT', body: 'overwrite\n' });
  assert.equal(write.status, 403);
  assert.equal(await cosError(write), 'SignatureDoesNotMatch');
  assert.equal(await (await fetch(u.ResourceUrl)).text(), 'y\n');
});

test("an UploadUrl's signature does not open another object", async () => {
  const a = await urls();
  const b = await urls();
  const crossed = `${h.url}${new URL(b.UploadUrl).pathname}${new URL(a.UploadUrl).search}`;
  const put = await fetch(crossed, { method: 'PUT', body: 'z\n' });
  assert.equal(put.status, 403);
  assert.equal(await cosError(put), 'SignatureDoesNotMatch');
});

test('an UploadUrl past ExpiredTimestamp is refused with AccessDenied (403, "Request has expired")', async () => {
  const u = await urls();
  h.clock.offsetMs = 7201_000;
  try {
    const put = await fetch(u.UploadUrl, { method: 'PUT', body: 'late\n' });
    assert.equal(put.status, 403);
    const xml = await put.text();
    assert.match(xml, /<Code>AccessDenied<\/Code>/);
    assert.match(xml, /<Message>Request has expired<\/Message>/);
  } finally {
    h.clock.offsetMs = 0;
  }
  // Nothing was stored by the refused PUT.
  assert.equal((await fetch(u.ResourceUrl)).status, 404);
});
