// Audience files are text (txt/csv, UTF-8) or gzip of text. Binary content —
// NUL bytes, an image, bytes that are not UTF-8 — is refused as
// NotAudienceFile even when its MD5 is the declared one, and nothing is kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startHarness, type Harness } from './support/harness.js';
import { assertNothingKept, mintegralUpload, putUrl, seedCurlPost, uploadByDataPath, xmlCode, xmlMessage } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-binary-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

const cases: Array<[string, Buffer, RegExp]> = [
  ['NUL bytes in an otherwise text file', Buffer.concat([Buffer.from('id1\nid2\n'), Buffer.from([0, 0, 0]), Buffer.from('id3\n')]), /NUL byte at offset 8/],
  ['a PNG image', PNG, /binary/],
  ['invalid UTF-8 (Latin-1 bytes)', Buffer.from('caf\xe9\nna\xefve\n', 'latin1'), /UTF-8/],
  ['a lone UTF-8 continuation byte at the very end', Buffer.concat([Buffer.from('id1\nid2\n'), Buffer.from([0x80])]), /UTF-8/],
  ['gzip whose content is binary', gzipSync(Buffer.concat([Buffer.from('id\n'), Buffer.alloc(64)])), /decompressed gzip content holds binary data/],
];

for (const [what, body, why] of cases) {
  test(`S3 PUT: ${what} is refused as NotAudienceFile and nothing is kept`, async () => {
    const d = await mintegralUpload(h, 1, 'audience.txt', body);
    const r = await putUrl(h, d.s3.url, body);
    assert.equal(r.status, 400, r.body);
    assert.equal(xmlCode(r.body), 'NotAudienceFile');
    assert.match(xmlMessage(r.body)!, why);
    const u = await uploadByDataPath(h, d.s3.data_path);
    await assertNothingKept(h, u.id, { code: 'NotAudienceFile', messageMatches: /audience files are txt or csv/ });
  });
}

test('OSS form: a PNG sent through the seed command is refused as NotAudienceFile and nothing is kept', async () => {
  const d = await mintegralUpload(h, 2, 'audience.csv', PNG);
  const path = join(dir, 'image.png');
  writeFileSync(path, PNG);
  const out = await seedCurlPost(d.oss, path);
  assert.equal(xmlCode(out.stdout), 'NotAudienceFile', out.stdout);
  const u = await uploadByDataPath(h, d.oss.data_path);
  await assertNothingKept(h, u.id, { code: 'NotAudienceFile' });
});

test('UTF-8 text in any script, with a BOM and CRLF line ends, is accepted', async () => {
  const body = Buffer.from('\ufeffid,名前\r\n1,Ünïcödé\r\n2,😀\r\n');
  const d = await mintegralUpload(h, 1, 'audience.csv', body);
  const r = await putUrl(h, d.s3.url, body);
  assert.equal(r.status, 200, r.body);
  assert.equal((await uploadByDataPath(h, d.s3.data_path)).status, 'READY');
});
