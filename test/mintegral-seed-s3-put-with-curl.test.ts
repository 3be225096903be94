// Seed 000, area_type=1: the pre-signed upload call answers exactly the
// documented shape, and the documented command
//   curl -X {data.s3.method} -T "{path_to_file}" "{data.s3.url}"
// (run with the real curl binary) stores the file under data.s3.data_path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { md5, mintegralPresign, objectFile, seedCurlPut, tempFiles, uploadByDataPath } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-seed-s3-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test('area_type=1 answers the seed response shape: code, msg, data {area_type, file_name, file_md5, ttl 300, s3 {method PUT, url, data_path}}', async () => {
  const content = 'id\n00000000-0000-0000-0000-000000000001\n';
  const res = await mintegralPresign(h, { area_type: '1', file_name: 'audience_file.txt', file_md5: md5(content) });
  assert.equal(res.status, 200);
  assert.equal(res.body.code, 200);
  assert.equal(res.body.msg, 'success');
  assert.equal(res.body.message, 'success');
  const d = res.body.data;
  assert.deepEqual(Object.keys(d).sort(), ['area_type', 'file_md5', 'file_name', 's3', 'ttl']);
  assert.equal(d.area_type, 1);
  assert.equal(d.file_name, 'audience_file.txt');
  assert.equal(d.file_md5, md5(content));
  assert.equal(d.ttl, 300);
  assert.deepEqual(Object.keys(d.s3).sort(), ['data_path', 'method', 'url']);
  assert.equal(d.s3.method, 'PUT');
  assert.equal(typeof d.s3.url, 'string');
  assert.ok(d.s3.url.startsWith(`${h.url}/`), d.s3.url);
  assert.match(d.s3.data_path, /^s3:\/\/audiencehub-intl\/.+\/audience_file\.txt$/);
});

test("the seed's curl -X PUT -T command uploads the file; the upload is READY with its MD5 and size under data_path", async () => {
  const content = Array.from({ length: 2000 }, (_, i) => `a1b2c3d4-0000-4000-8000-${String(i).padStart(12, '0')}`).join('\n') + '\n';
  const path = join(dir, 'audience.txt');
  writeFileSync(path, content);
  const d = (await mintegralPresign(h, { area_type: '1', file_name: 'audience.txt', file_md5: md5(content) })).body.data;

  const before = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(before.status, 'PENDING');

  const out = await seedCurlPut(d.s3.method, path, d.s3.url);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '', 'a successful PUT answers with an empty body (an error would print its XML here)');

  const u = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.md5, md5(content));
  assert.equal(u.size, Buffer.byteLength(content));
  assert.equal(u.format, 'text');
  assert.equal(u.data_path, d.s3.data_path);
  assert.equal(u.error, null);
  assert.equal(readFileSync(objectFile(h, u), 'utf8'), content);
  assert.deepEqual(tempFiles(h), []);
});

test("a file name with spaces and non-ASCII letters goes through the seed's curl command unchanged", async () => {
  const content = 'x1\nx2\n';
  const name = 'Audience été 2024 (v2).csv';
  const path = join(dir, 'upload.csv');
  writeFileSync(path, content);
  const res = await mintegralPresign(h, { area_type: '1', file_name: name, file_md5: md5(content) });
  assert.equal(res.body.code, 200, JSON.stringify(res.body));
  assert.equal(res.body.data.file_name, name);
  const out = await seedCurlPut(res.body.data.s3.method, path, res.body.data.s3.url);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '');
  const u = await uploadByDataPath(h, res.body.data.s3.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.file_name, name);
  assert.ok(u.data_path.endsWith(`/${name}`));
  assert.equal(readFileSync(objectFile(h, u), 'utf8'), content);
});

test('the signed URL stays valid for the whole ttl the response states', async () => {
  const content = 'late\n';
  const path = join(dir, 'late.txt');
  writeFileSync(path, content);
  const d = (await mintegralPresign(h, { area_type: '1', file_name: 'late.txt', file_md5: md5(content) })).body.data;
  h.clock.offsetMs = (d.ttl - 10) * 1000;
  try {
    const out = await seedCurlPut('PUT', path, d.s3.url);
    assert.equal(out.stdout, '');
    assert.equal((await uploadByDataPath(h, d.s3.data_path)).status, 'READY');
  } finally {
    h.clock.offsetMs = 0;
  }
});
