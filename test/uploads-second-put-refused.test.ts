// A credential takes one file: once a body has been accepted, another write
// through the same URL or form is refused with 409 UploadAlreadyCompleted and
// the first object stays exactly as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { md5, mintegralUpload, objectFile, putUrl, seedCurlPost, seedCurlPut, tempFiles, uploadByDataPath, xmlCode } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-twice-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const first = 'first-1\nfirst-2\n';

test('a second PUT to a used S3 URL is refused with 409 UploadAlreadyCompleted; the first object is intact', async () => {
  const d = await mintegralUpload(h, 1, 'once.txt', first);
  const path = join(dir, 'once.txt');
  writeFileSync(path, first);
  assert.equal((await seedCurlPut('PUT', path, d.s3.url)).stdout, '');
  const u1 = await uploadByDataPath(h, d.s3.data_path);
  const mtime = statSync(objectFile(h, u1)).mtimeMs;

  // The same bytes again, and a different body: both refused.
  const again = await putUrl(h, d.s3.url, first);
  assert.equal(again.status, 409, again.body);
  assert.equal(xmlCode(again.body), 'UploadAlreadyCompleted');
  const other = await putUrl(h, d.s3.url, 'second\n');
  assert.equal(other.status, 409);

  const u2 = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(u2.status, 'READY');
  assert.equal(u2.md5, md5(first));
  assert.equal(u2.error, null);
  assert.equal(u2.completed_at, u1.completed_at);
  assert.equal(readFileSync(objectFile(h, u2), 'utf8'), first);
  assert.equal(statSync(objectFile(h, u2)).mtimeMs, mtime);
  assert.deepEqual(tempFiles(h), []);
});

test('a second post of a used OSS form is refused with 409 FileAlreadyExists; the first object is intact', async () => {
  const d = await mintegralUpload(h, 2, 'once.txt', first);
  const path = join(dir, 'form.txt');
  writeFileSync(path, first);
  assert.equal((await seedCurlPost(d.oss, path)).stdout, '');
  const out = await seedCurlPost(d.oss, path);
  assert.equal(xmlCode(out.stdout), 'FileAlreadyExists', out.stdout);
  const u = await uploadByDataPath(h, d.oss.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(readFileSync(objectFile(h, u), 'utf8'), first);
});
