// A store request whose signature does not cover what it asks for is refused
// before a byte is kept: a changed signature, a changed key path, a removed
// signature (S3 URLs and OSS forms alike). Such a request proves nothing
// about who sent it, so it leaves the upload's record as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { allObjectFiles, getUpload, md5, mintegralUpload, putUrl, tempFiles, uploadByDataPath, xmlCode, xmlMessage } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const content = 'id1\nid2\n';

async function untouched(dataPath: string) {
  const u = await uploadByDataPath(h, dataPath);
  assert.equal(u.status, 'PENDING');
  assert.equal(u.error, null);
  assert.equal(u.accepts_writes, true);
  assert.deepEqual(allObjectFiles(h), [], 'nothing was written to the store');
  assert.deepEqual(tempFiles(h), []);
  return u;
}

function flip(hex: string): string {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}

test('a changed X-Amz-Signature is refused with SignatureDoesNotMatch', async () => {
  const d = await mintegralUpload(h, 1, 'sig.txt', content);
  const url = d.s3.url.replace(/X-Amz-Signature=([0-9a-f]{64})/, (_: string, s: string) => `X-Amz-Signature=${flip(s)}`);
  assert.notEqual(url, d.s3.url);
  const r = await putUrl(h, url, content);
  assert.equal(r.status, 403);
  assert.equal(xmlCode(r.body), 'SignatureDoesNotMatch');
  await untouched(d.s3.data_path);
});

test('a changed key path (another file name under the same upload) is refused with SignatureDoesNotMatch', async () => {
  const d = await mintegralUpload(h, 1, 'path.txt', content);
  const url = d.s3.url.replace('/path.txt?', '/other.txt?');
  assert.notEqual(url, d.s3.url);
  const r = await putUrl(h, url, content);
  assert.equal(r.status, 403);
  assert.equal(xmlCode(r.body), 'SignatureDoesNotMatch');
  await untouched(d.s3.data_path);
});

test('a changed signed parameter (a longer X-Amz-Expires) is refused', async () => {
  const d = await mintegralUpload(h, 1, 'exp.txt', content);
  const r = await putUrl(h, d.s3.url.replace('X-Amz-Expires=300', 'X-Amz-Expires=604800'), content);
  assert.equal(r.status, 403);
  assert.equal(xmlCode(r.body), 'SignatureDoesNotMatch');
  await untouched(d.s3.data_path);
});

test('a URL without its X-Amz-Signature is refused, naming the missing parameter', async () => {
  const d = await mintegralUpload(h, 1, 'nosig.txt', content);
  const r = await putUrl(h, d.s3.url.replace(/&?X-Amz-Signature=[0-9a-f]{64}/, ''), content);
  assert.equal(r.status, 400, r.body);
  assert.equal(xmlCode(r.body), 'AuthorizationQueryParametersError');
  assert.match(xmlMessage(r.body)!, /X-Amz-Signature/);
  await untouched(d.s3.data_path);
});

test('a URL with no signature at all is refused as anonymous', async () => {
  const d = await mintegralUpload(h, 1, 'anon.txt', content);
  const r = await putUrl(h, d.s3.url.split('?')[0], content);
  assert.equal(r.status, 403);
  assert.equal(xmlCode(r.body), 'AccessDenied');
  await untouched(d.s3.data_path);
});

async function postForm(host: string, fields: Record<string, string>, file: string) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([file]), 'audience.txt');
  const r = await fetch(host, { method: 'POST', body: form });
  return { status: r.status, body: await r.text() };
}

test('an OSS form with a changed signature, key or policy, or with no signature, is refused', async () => {
  const d = await mintegralUpload(h, 2, 'form.txt', content);
  const o = d.oss;
  const good = { key: o.dir, OSSAccessKeyId: o.accessid, policy: o.policy, signature: o.signature, success_action_status: '200' };
  const badSig = Buffer.from(o.signature, 'base64');
  badSig[0] ^= 1;

  let r = await postForm(o.host, { ...good, signature: badSig.toString('base64') }, content);
  assert.equal(r.status, 403, r.body);
  assert.equal(xmlCode(r.body), 'SignatureDoesNotMatch');

  // Another key: the policy names the exact key.
  r = await postForm(o.host, { ...good, key: o.dir.replace('form.txt', 'other.txt') }, content);
  assert.equal(r.status, 403, r.body);
  assert.equal(xmlCode(r.body), 'AccessDenied');
  assert.match(xmlMessage(r.body)!, /Policy Condition failed.*\$key/);

  // A policy rewritten to allow any key, still carrying the old signature.
  const policy = JSON.parse(Buffer.from(o.policy, 'base64').toString());
  policy.conditions = policy.conditions.map((c: unknown) => (Array.isArray(c) && c[1] === '$key' ? ['starts-with', '$key', ''] : c));
  r = await postForm(o.host, { ...good, policy: Buffer.from(JSON.stringify(policy)).toString('base64') }, content);
  assert.equal(r.status, 403, r.body);
  assert.equal(xmlCode(r.body), 'SignatureDoesNotMatch');

  const { signature: _drop, ...unsigned } = good;
  r = await postForm(o.host, unsigned, content);
  assert.equal(r.status, 400, r.body);
  assert.match(xmlMessage(r.body)!, /Signature/);

  await untouched(o.data_path);
});

test('a refused tampered copy does not spoil the genuine URL', async () => {
  const d = await mintegralUpload(h, 1, 'fine.txt', content);
  assert.equal((await putUrl(h, d.s3.url.replace('/fine.txt?', '/x.txt?'), content)).status, 403);
  assert.equal((await putUrl(h, d.s3.url, content)).status, 200);
  const u = await getUpload(h, (await uploadByDataPath(h, d.s3.data_path)).id);
  assert.equal(u.status, 'READY');
  assert.equal(u.md5, md5(content));
});
