// A gzip that expands far beyond any real audience file (here ~200 MiB of
// "a\n" squeezed into ~200 KB) is refused as GzipBomb while it streams, with
// the shipped limits (200x the compressed size, checked above 64 MiB), and
// nothing is kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { startHarness, type Harness } from './support/harness.js';
import { assertNothingKept, md5, mintegralUpload, putUrl, uploadByDataPath, xmlCode, xmlMessage } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

/** gzip -9 of `mib` MiB of "a\n" lines, built a chunk at a time. */
async function gzipOfLines(mib: number): Promise<Buffer> {
  const chunk = Buffer.from('a\n'.repeat(1 << 19));
  async function* source() {
    for (let i = 0; i < mib; i++) yield chunk;
  }
  const parts: Buffer[] = [];
  for await (const c of Readable.from(source()).pipe(createGzip({ level: 9 }))) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('~200 MiB of lines in a ~200 KB gzip is refused as GzipBomb and nothing is kept', async () => {
  const bomb = await gzipOfLines(200);
  assert.ok(bomb.length < 300_000, `compressed to ${bomb.length} bytes`);
  assert.equal(h.config.uploads.gzipMaxRatio, 200, 'the shipped ratio');
  const d = await mintegralUpload(h, 1, 'bomb.txt.gz', bomb);
  const r = await putUrl(h, d.s3.url, bomb);
  assert.equal(r.status, 400, r.body);
  assert.equal(xmlCode(r.body), 'GzipBomb');
  assert.match(xmlMessage(r.body)!, /more than 200 times/);
  const u = await uploadByDataPath(h, d.s3.data_path);
  await assertNothingKept(h, u.id, { code: 'GzipBomb', messageMatches: /expands/ });
});

test('a highly compressible file below the ratio floor (64 MiB expanded) is still accepted', async () => {
  const gz = await gzipOfLines(8);
  const d = await mintegralUpload(h, 1, 'small.txt.gz', gz);
  const r = await putUrl(h, d.s3.url, gz);
  assert.equal(r.status, 200, r.body);
  const u = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.md5, md5(gz));
});
