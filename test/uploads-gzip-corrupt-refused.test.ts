// A gzip that cannot be decompressed to its end — corrupt in the middle, or
// truncated — is refused as GzipCorrupt, and nothing is kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startHarness, type Harness } from './support/harness.js';
import { assertNothingKept, mintegralUpload, putUrl, uploadByDataPath, xmlCode, xmlMessage } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

// Numbers that do not repeat, so the deflate stream carries real literals.
const text = Array.from({ length: 30_000 }, (_, i) => `${(i * 2654435761) % 4294967296}`).join('\n') + '\n';
const good = gzipSync(text);

async function refused(name: string, body: Buffer, why: RegExp) {
  const d = await mintegralUpload(h, 1, name, body);
  const r = await putUrl(h, d.s3.url, body);
  assert.equal(r.status, 400, r.body);
  assert.equal(xmlCode(r.body), 'GzipCorrupt');
  assert.match(xmlMessage(r.body)!, why);
  const u = await uploadByDataPath(h, d.s3.data_path);
  await assertNothingKept(h, u.id, { code: 'GzipCorrupt', messageMatches: /gzip/ });
}

test('a gzip with damaged bytes in the middle is refused as GzipCorrupt', async () => {
  const bad = Buffer.from(good);
  for (let i = 100; i < 200; i++) bad[i] ^= 0x5a;
  await refused('corrupt.txt.gz', bad, /corrupt/);
});

test('a gzip cut short by its last 100 bytes is refused as GzipCorrupt', async () => {
  await refused('truncated.txt.gz', good.subarray(0, good.length - 100), /truncated|unexpected end|corrupt/);
});

test('a gzip missing only its 8-byte trailer (CRC and length) is refused as GzipCorrupt', async () => {
  await refused('no-trailer.csv.gz', good.subarray(0, good.length - 8), /truncated|unexpected end|corrupt/);
});

test('a gzip whose CRC does not match its content is refused as GzipCorrupt', async () => {
  const bad = Buffer.from(good);
  bad[bad.length - 8] ^= 0xff;
  await refused('crc.txt.gz', bad, /corrupt|check/);
});

test('the gzip magic followed by garbage is refused as GzipCorrupt', async () => {
  await refused('garbage.gz', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('this is not deflate data\n')]), /corrupt/);
});

test('the intact gzip is accepted (the refusals above are about the damage)', async () => {
  const d = await mintegralUpload(h, 1, 'intact.txt.gz', good);
  assert.equal((await putUrl(h, d.s3.url, good)).status, 200);
  assert.equal((await uploadByDataPath(h, d.s3.data_path)).format, 'gzip');
});
