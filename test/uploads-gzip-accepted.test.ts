// Valid .txt.gz and .csv.gz audience files are accepted as they are (the
// stored object is the gzip itself) and reported with format 'gzip'.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startHarness, type Harness } from './support/harness.js';
import { md5, mintegralUpload, objectFile, seedCurlPost, seedCurlPut, tempFiles, uploadByDataPath } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-gzip-ok-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (n: number) => Array.from({ length: n }, (_, i) => `${(i * 2654435761) % 4294967296}`).join('\n') + '\n';

test('a .txt.gz through the S3 URL (seed curl command) is READY with format gzip, stored byte for byte', async () => {
  const gz = gzipSync(lines(20_000));
  const path = join(dir, 'audience.txt.gz');
  writeFileSync(path, gz);
  const d = await mintegralUpload(h, 1, 'audience.txt.gz', gz);
  const out = await seedCurlPut('PUT', path, d.s3.url);
  assert.equal(out.stdout, '');
  const u = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.format, 'gzip');
  assert.equal(u.md5, md5(gz));
  assert.equal(u.size, gz.length);
  assert.deepEqual(readFileSync(objectFile(h, u)), gz);
});

test('a .csv.gz through the OSS form (seed curl command) is READY with format gzip', async () => {
  const gz = gzipSync('device_id,ts\n' + lines(5_000).replace(/\n/g, ',1700000000\n'), { level: 1 });
  const path = join(dir, 'audience.csv.gz');
  writeFileSync(path, gz);
  const d = await mintegralUpload(h, 2, 'audience.csv.gz', gz);
  const out = await seedCurlPost(d.oss, path);
  assert.equal(out.stdout, '');
  const u = await uploadByDataPath(h, d.oss.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.format, 'gzip');
  assert.equal(u.md5, md5(gz));
  assert.deepEqual(tempFiles(h), []);
});

test('a plain .txt is reported with format text', async () => {
  const body = lines(10);
  const d = await mintegralUpload(h, 1, 'plain.txt', body);
  const path = join(dir, 'plain.txt');
  writeFileSync(path, body);
  await seedCurlPut('PUT', path, d.s3.url);
  assert.equal((await uploadByDataPath(h, d.s3.data_path)).format, 'text');
});
