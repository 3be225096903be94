// The line kernels against the registry: every line a kernel takes must give
// exactly the keys normalizeLine gives, and a file must give the same report
// and bitmap whether its lines go through a kernel or through the registry.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { andCardinality, deserialize } from '../../infra/bitmaps/index.js';
import { DictionaryStore } from '../../infra/identities/index.js';
import { lookupIdType, normalizeLine } from '../identities/index.js';
import { ingestFile } from './ingest-file.js';
import { LineKernel } from './kernel.js';
import { scanLines } from './scanner.js';

/** xorshift32, so that failures reproduce. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const SPELLINGS: Array<(d: string) => string> = [
  (d) => d,
  (d) => `${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`,
  (d) => `${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
  (d) => `+86 ${d}`,
  (d) => `+86${d}`,
  (d) => `0086${d}`,
  (d) => `86${d}`,
  (d) => `(+86) ${d.slice(0, 3)} ${d.slice(3)}`,
  (d) => ` \t${d}  `,
  (d) => `${d}\r`,
  // Refused by the registry, or odd: the kernel must leave every one of them alone or agree.
  (d) => `+1${d}`,
  (d) => `${d}1`,
  (d) => d.slice(1),
  (d) => `12${d.slice(2)}`,
  (d) => `${d.slice(0, 5)}+${d.slice(5)}`,
  (d) => `++86${d}`,
  (d) => `${d.slice(0, 4)}.${d.slice(4)}`,
  (d) => `860${d}`,
  (d) => `0086 ${d}`,
  (d) => `00 86 ${d}`,
  (d) => `\uFEFF${d}`,
  (d) => `${d.slice(0, 3)}\t${d.slice(3)}`,
  (d) => `８${d.slice(1)}`,
  () => '',
  () => '   ',
];

function phoneLines(n: number, seed: number): string[] {
  const next = random(seed);
  return Array.from({ length: n }, () => {
    const d = `1${3 + (next() % 7)}${String(next() % 1_000_000_000).padStart(9, '0')}`;
    return SPELLINGS[next() % SPELLINGS.length](d);
  });
}

function hexLines(n: number, seed: number, bytes: number | (() => number) = 16): string[] {
  const next = random(seed);
  return Array.from({ length: n }, () => {
    const hex = randomBytes(typeof bytes === 'number' ? bytes : bytes()).toString('hex');
    switch (next() % 10) {
      case 0:
        return hex.toUpperCase();
      case 1:
        return ` ${hex}\t`;
      case 2:
        return `${hex}\r`;
      case 3:
        return hex.slice(1);
      case 4:
        return `${hex.slice(0, 20)}g${hex.slice(21)}`;
      case 5:
        return '';
      default:
        return hex;
    }
  });
}

/** Scans `text` with the type's kernel; returns each kernel line's keys by line number. */
async function kernelKeys(type: string, text: string, batchLines: number): Promise<Map<number, Buffer[]>> {
  const entry = lookupIdType(type)!;
  const kernel = LineKernel.for(entry, batchLines)!;
  const bytes = Buffer.from(text);
  const taken = new Map<number, Buffer[]>();
  // Uneven chunks, so that lines straddle them and some reach the kernel one by one.
  async function* chunks() {
    for (let i = 0, size = 1; i < bytes.length; i += size, size = (size * 7) % 65_521 || 1) yield Buffer.from(bytes.subarray(i, i + size));
  }
  await scanLines(
    chunks(),
    (b) => {
      kernel.finish();
      let j = 0;
      for (let i = 0; i < b.count; i++) {
        if (b.kinds[i] !== 1) continue;
        taken.set(b.lineNumbers[i], kernel.streams.map((s) => Buffer.from(s.keys.subarray(j * s.width, (j + 1) * s.width))));
        j++;
      }
      assert.equal(j, kernel.count);
    },
    { output: 'bytes', kernel, batchLines },
  );
  return taken;
}

function checkAgainstRegistry(type: string, lines: string[], taken: Map<number, Buffer[]>): void {
  for (const [no, keys] of taken) {
    const n = normalizeLine(type as 'phone', lines[no - 1]);
    assert.ok(n.ok, `line ${no} ${JSON.stringify(lines[no - 1])}: the kernel took a line the registry refuses`);
    assert.deepEqual(
      keys.map((k) => k.toString('hex')),
      n.keys.map((k) => k.bytes.toString('hex')),
      `line ${no} ${JSON.stringify(lines[no - 1])}`,
    );
  }
}

test('the phone kernel gives the registry its keys for every line it takes, and takes the usual spellings', async () => {
  // More than one batch, batches past the two-thread threshold, counts that are not multiples of 8.
  const lines = phoneLines(30_011, 7);
  const taken = await kernelKeys('phone', lines.join('\n'), 9_973);
  checkAgainstRegistry('phone', lines, taken);
  const plain = lines.filter((l) => /^1[3-9][0-9]{9}$/.test(l)).length;
  assert.ok(taken.size > plain, `the kernel took ${taken.size} lines, fewer than the ${plain} plain ones`);
  // MD5 and both SHA-256 forms against node:crypto directly, for one number.
  const one = await kernelKeys('phone', '+86 139 0000 1234\n', 16);
  const [md5, sha, e164] = one.get(1)!;
  assert.equal(md5.toString('hex'), createHash('md5').update('13900001234').digest('hex'));
  assert.equal(sha.toString('hex'), createHash('sha256').update('13900001234').digest('hex'));
  assert.equal(e164.toString('hex'), createHash('sha256').update('+8613900001234').digest('hex'));
});

for (const [type, bytes] of [
  ['gaid_md5', 16],
  ['phone_sha256', 32],
  // Two accepted lengths: the kernel takes the first (32 hex digits), the registry path the other.
  ['imei_salted', ((next) => () => (next() % 2 === 0 ? 16 : 32))(random(5))],
] as const) {
  test(`the hex kernel gives the registry its keys for every line it takes (${type})`, async () => {
    const lines = hexLines(20_000, 11, bytes);
    const taken = await kernelKeys(type, lines.join('\r\n'), 4_096);
    checkAgainstRegistry(type, lines, taken);
    const width = typeof bytes === 'number' ? bytes * 2 : 32;
    assert.ok(taken.size >= lines.filter((l) => new RegExp(`^[ \\t]*[0-9a-fA-F]{${width}}[ \\t]*$`).test(l)).length);
  });
}

async function dictionary(t: TestContext): Promise<DictionaryStore> {
  const folder = await mkdtemp(join(tmpdir(), 'ah-kernel-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  return DictionaryStore.open(folder);
}

async function* cut(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield Buffer.from(bytes.subarray(i, i + size));
}

for (const [type, make] of [
  ['phone', phoneLines],
  ['gaid_md5', hexLines],
  ['imei_salted', (n: number, seed: number) => hexLines(n, seed, () => (seed++ % 3 === 0 ? 32 : 16))],
] as const) {
  test(`a ${type} file gives the same report and bitmap through its kernel as through the registry (CSV)`, async (t) => {
    const lines = make(12_345, 3);
    // Repeats, so that duplicates and matches within and across batches are counted.
    const text = `${[...lines, ...lines.slice(0, 2_000)].join('\n')}\n`;
    const fast = await ingestFile({ source: cut(text, 4_099), idType: type, dictionary: await dictionary(t), mode: 'open', batchLines: 1_000 });
    const slow = await ingestFile({
      source: cut(text, 4_099),
      idType: type,
      dictionary: await dictionary(t),
      mode: 'open',
      batchLines: 1_000,
      csv: { header: false, column: 0 },
    });
    const { timings: _f, ...f } = fast.report;
    const { timings: _s, ...s } = slow.report;
    // CSV trims quotes and reads a field; a plain line is the whole line. These files have neither quotes nor commas.
    assert.deepEqual(f, s);
    assert.deepEqual(fast.bitmap, slow.bitmap);
    assert.ok(f.validLines > lines.length / 3 && f.duplicates > 500, `${f.validLines} valid, ${f.duplicates} duplicates`);
  });
}

test('ids in any order give the same bitmap: grown batch by batch while they ascend, sorted at the end when not', async (t) => {
  const store = await dictionary(t);
  const next = random(9);
  const hexes = Array.from({ length: 30_000 }, () => randomBytes(16).toString('hex'));
  const first = await ingestFile({ source: cut(`${hexes.join('\n')}\n`, 65_536), idType: 'gaid_md5', dictionary: store, mode: 'open', batchLines: 4_096 });
  assert.equal(first.userCount, hexes.length);
  // Shuffled, with repeats: far more ids below the largest so far than the incremental build takes.
  const shuffled = hexes.map((h, i) => [next(), i % 7 === 0 ? hexes[next() % hexes.length] : h] as const).sort((a, b) => a[0] - b[0]).map(([, h]) => h);
  const again = await ingestFile({ source: cut(`${shuffled.join('\n')}\n`, 65_536), idType: 'gaid_md5', dictionary: store, mode: 'open', batchLines: 4_096 });
  const distinct = new Set(shuffled).size;
  assert.equal(again.userCount, distinct);
  assert.equal(again.report.duplicates, shuffled.length - distinct);
  assert.equal(again.report.matched, distinct);
  const all = deserialize(first.bitmap);
  const some = deserialize(again.bitmap);
  assert.equal(andCardinality(all, some), distinct);
});
