// Upload credentials die with their ttl: an S3 URL or an OSS policy used
// after it expired is refused and nothing is kept; the record is marked
// EXPIRED by housekeeping, so the user sees why the upload never completed.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { allObjectFiles, closeHarness, rawExchange, waitFor, md5, mintegralUpload, nativeCreate, putUrl, seedCurlPost, seedCurlPut, tempFiles, uploadByDataPath, getUpload, xmlCode, xmlMessage } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-expired-'));
});
afterEach(() => {
  h.clock.offsetMs = 0;
});
after(async () => {
  await closeHarness(h);
  rmSync(dir, { recursive: true, force: true });
});

const content = 'id1\nid2\n';

test('an S3 URL used 301 s after issue (ttl 300) is refused with AccessDenied "Request has expired"; nothing is kept', async () => {
  const d = await mintegralUpload(h, 1, 'late.txt', content);
  const path = join(dir, 'late.txt');
  writeFileSync(path, content);
  h.clock.offsetMs = 301_000;
  const out = await seedCurlPut('PUT', path, d.s3.url);
  assert.equal(xmlCode(out.stdout), 'AccessDenied', out.stdout);
  assert.match(xmlMessage(out.stdout)!, /expired/);
  const u = await uploadByDataPath(h, d.s3.data_path);
  assert.notEqual(u.status, 'READY');
  assert.equal(u.md5, null);
  assert.deepEqual(allObjectFiles(h), []);
  assert.deepEqual(tempFiles(h), []);
});

test('an OSS policy used after its expiration is refused with "Policy expired"; nothing is kept', async () => {
  const d = await mintegralUpload(h, 2, 'late.txt', content);
  const path = join(dir, 'late2.txt');
  writeFileSync(path, content);
  h.clock.offsetMs = (d.oss.expire * 1000 - Date.now()) + 1_000;
  const out = await seedCurlPost(d.oss, path);
  assert.equal(xmlCode(out.stdout), 'AccessDenied', out.stdout);
  assert.match(xmlMessage(out.stdout)!, /Policy expired/);
  const u = await uploadByDataPath(h, d.oss.data_path);
  assert.notEqual(u.status, 'READY');
  assert.deepEqual(allObjectFiles(h), []);
  assert.deepEqual(tempFiles(h), []);
});

test('an expired, unused credential shows as EXPIRED (no longer accepting writes) once housekeeping has run', async () => {
  const d = await mintegralUpload(h, 1, 'never.txt', content);
  h.clock.offsetMs = 301_000;
  assert.equal((await putUrl(h, d.s3.url, content)).status, 403);
  h.clock.offsetMs = 400_000;
  await h.app.uploads.sweep();
  const u = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(u.status, 'EXPIRED');
  assert.equal(u.accepts_writes, false);
  assert.ok(Date.parse(u.expires_at) < h.app.now());
});

test('a native URL issued with ttl_seconds is refused one second after that', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'n.txt', ttl_seconds: 60, md5: md5(content) });
  h.clock.offsetMs = 61_000;
  const r = await putUrl(h, put.url, content);
  assert.equal(r.status, 403);
  assert.equal(xmlCode(r.body), 'AccessDenied');
  assert.notEqual((await getUpload(h, upload.id)).status, 'READY');
});

test('a body that started before the URL expired is accepted when it ends after expiry (and housekeeping ran meanwhile)', async () => {
  const big = Buffer.from('row\n'.repeat(50_000));
  const d = await mintegralUpload(h, 1, 'slow.txt', big);
  const id = (await uploadByDataPath(h, d.s3.data_path)).id;
  const x = await rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': big.length });
  await x.write(big.subarray(0, 1000));
  await waitFor('the upload to start', async () => (await getUpload(h, id)).status === 'UPLOADING');
  h.clock.offsetMs = 600_000;
  await h.app.uploads.sweep();
  assert.equal((await getUpload(h, id)).status, 'UPLOADING', 'a body in flight is not expired under the client');
  await x.write(big.subarray(1000));
  const res = await x.response;
  x.socket.destroy();
  assert.equal(res.status, 200, res.text);
  const u = await getUpload(h, id);
  assert.equal(u.status, 'READY');
  assert.equal(u.md5, md5(big));
});
