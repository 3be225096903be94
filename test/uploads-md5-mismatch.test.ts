// A body whose MD5 differs from the declared one (Mintegral's file_md5, the
// native API's md5, a Content-MD5 header) is refused, nothing of it is kept,
// and the upload says why. The same credential still takes the right file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { assertNothingKept, getUpload, md5, mintegralUpload, nativeCreate, objectFile, putUrl, seedCurlPost, seedCurlPut, uploadByDataPath, xmlCode, xmlMessage } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-md5-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const declared = 'id1\nid2\nid3\n';
const other = 'id1\nid2\nid4\n';

test('S3 PUT (area_type=1): a body that differs from file_md5 is refused with BadDigest and nothing is kept', async () => {
  const d = await mintegralUpload(h, 1, 'audience.txt', declared);
  const r = await putUrl(h, d.s3.url, other);
  assert.equal(r.status, 400);
  assert.equal(xmlCode(r.body), 'BadDigest');
  assert.match(xmlMessage(r.body)!, new RegExp(`MD5 is ${md5(other)}.*${md5(declared)}`));
  const u = await uploadByDataPath(h, d.s3.data_path);
  await assertNothingKept(h, u.id, { code: 'Md5Mismatch', messageMatches: /MD5/ });
});

test('after a refused body the same URL still accepts the declared file, and the refusal is cleared', async () => {
  const d = await mintegralUpload(h, 1, 'retry.txt', declared);
  assert.equal((await putUrl(h, d.s3.url, other)).status, 400);
  const path = join(dir, 'retry.txt');
  writeFileSync(path, declared);
  const out = await seedCurlPut('PUT', path, d.s3.url);
  assert.equal(out.stdout, '');
  const u = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.error, null);
  assert.equal(u.md5, md5(declared));
  assert.equal(readFileSync(objectFile(h, u), 'utf8'), declared);
});

test('OSS form (area_type=2): a file that differs from file_md5 is refused with InvalidDigest and nothing is kept', async () => {
  const d = await mintegralUpload(h, 2, 'audience.txt', declared);
  const path = join(dir, 'wrong.txt');
  writeFileSync(path, other);
  const out = await seedCurlPost(d.oss, path);
  assert.equal(xmlCode(out.stdout), 'InvalidDigest', out.stdout);
  const u = await uploadByDataPath(h, d.oss.data_path);
  await assertNothingKept(h, u.id, { code: 'Md5Mismatch' });
});

test('native API: a body that differs from the declared md5 is refused and nothing is kept', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'n.txt', md5: md5(declared) });
  const r = await putUrl(h, put.url, other, put.headers);
  assert.equal(r.status, 400);
  assert.equal(xmlCode(r.body), 'BadDigest');
  await assertNothingKept(h, upload.id, { code: 'Md5Mismatch' });
});

test('a Content-MD5 header the body does not match is refused, even with no declared MD5', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'c.txt' });
  const r = await putUrl(h, put.url, other, { 'content-md5': Buffer.from(md5(declared), 'hex').toString('base64') });
  assert.equal(r.status, 400);
  assert.equal(xmlCode(r.body), 'BadDigest');
  assert.match(xmlMessage(r.body)!, /Content-MD5/);
  await assertNothingKept(h, upload.id, { code: 'Md5Mismatch' });
  assert.equal((await getUpload(h, upload.id)).accepts_writes, true);
});
