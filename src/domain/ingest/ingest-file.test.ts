// ingestFile: an audience file → a bitmap of dictionary users and a report,
// on small generated files and a real DictionaryStore in a temp folder.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AppError } from '../../errors.js';
import { andCardinality, deserialize } from '../../infra/bitmaps/index.js';
import { DictionaryStore } from '../../infra/identities/index.js';
import { normalizeLine } from '../identities/index.js';
import { ingestFile, IngestError, type IngestFileInput, type IngestResult } from './ingest-file.js';
import { reasons } from './lines.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

async function dictionary(t: TestContext): Promise<DictionaryStore> {
  const folder = await mkdtemp(join(tmpdir(), 'ah-ingest-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  return DictionaryStore.open(folder);
}

/** The input cut into `size`-byte chunks, so that lines and magic bytes straddle them. */
async function* chunks(input: string | Buffer, size = 7): AsyncGenerator<Buffer> {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  for (let i = 0; i < bytes.length; i += size) yield Buffer.from(bytes.subarray(i, i + size));
}

type Options = Omit<IngestFileInput, 'source' | 'dictionary' | 'mode'> & { mode?: IngestFileInput['mode'] };

function ingest(store: DictionaryStore, input: string | Buffer, options: Options): Promise<IngestResult> {
  return ingestFile({ source: chunks(input), dictionary: store, mode: 'open', batchLines: 5, ...options });
}

/** n mainland mobile numbers, 11 digits each. */
const phones = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `139${String(from + i).padStart(8, '0')}`);
/** The same numbers written the ways people type them. */
const FORMATS = [(p: string) => p, (p: string) => `+86 ${p.slice(0, 3)} ${p.slice(3, 7)} ${p.slice(7)}`, (p: string) => `0086-${p}`, (p: string) => `(${p.slice(0, 3)}) ${p.slice(3)}`];
const mixed = (ps: string[]) => ps.map((p, i) => FORMATS[i % FORMATS.length](p)).join('\n') + '\n';
const md5File = (ps: string[]) => ps.map((p, i) => (i % 2 ? md5(p).toUpperCase() : md5(p))).join('\r\n');

const members = (r: IngestResult) => deserialize(r.bitmap).toArray();

test('raw phones in mixed formats and a file of their MD5s give the same bitmap', async (t) => {
  const store = await dictionary(t);
  const ps = phones(40);
  const raw = await ingest(store, mixed(ps), { idType: 'phone' });
  assert.equal(raw.userCount, 40);
  assert.deepEqual(members(raw), Array.from({ length: 40 }, (_, i) => i));
  assert.deepEqual([raw.report.validLines, raw.report.newIds, raw.report.matched, raw.report.duplicates], [40, 40, 0, 0]);

  const hashed = await ingest(store, md5File(ps), { idType: 'phone_md5' });
  assert.deepEqual(hashed.bitmap, raw.bitmap);
  assert.equal(andCardinality(deserialize(raw.bitmap), deserialize(hashed.bitmap)), 40);
  assert.deepEqual([hashed.report.matched, hashed.report.newIds, hashed.report.unmatched], [40, 0, 0]);
  assert.equal(store.stats().users, 40, 'the MD5 file added no users');

  // Half known, half new: the overlap is exactly the known half.
  const more = await ingest(store, md5File([...ps.slice(20), ...phones(10, 1000)]), { idType: 'phone_md5' });
  assert.deepEqual([more.userCount, more.report.matched, more.report.newIds], [30, 20, 10]);
  assert.equal(andCardinality(deserialize(raw.bitmap), deserialize(more.bitmap)), 20);
});

test('a CSV file by column name gives the same users as the plain file', async (t) => {
  const store = await dictionary(t);
  const ps = phones(12);
  const plain = await ingest(store, ps.join('\n'), { idType: 'phone' });
  const csv = ['name,"Phone Number",city', ...ps.map((p, i) => `"user ${i}, x","${FORMATS[i % 4](p)}",c${i}`)].join('\r\n');
  const r = await ingest(store, csv, { idType: 'phone', csv: { header: true, column: 'phone number' } });
  assert.deepEqual(r.bitmap, plain.bitmap);
  assert.deepEqual(r.report.header, ['name', 'Phone Number', 'city']);
  assert.deepEqual([r.report.lines, r.report.validLines, r.report.matched, r.report.invalidLines], [13, 12, 12, 0]);

  // header 'auto' with a column index: the registry decides whether the first row is data.
  const headless = await ingest(store, ps.map((p) => `x,${p}`).join('\n'), { idType: 'phone', csv: { header: 'auto', column: 1 } });
  assert.deepEqual([headless.report.header, headless.report.validLines], [null, 12]);
});

test('gzip input is told by its magic bytes and gives the same bitmap as the text', async (t) => {
  const store = await dictionary(t);
  const text = md5File(phones(30));
  const plain = await ingest(store, text, { idType: 'phone_md5' });
  const gz = gzipSync(text);
  for (const size of [1, 2, 1000]) {
    const r = await ingestFile({ source: chunks(gz, size), idType: 'phone_md5', dictionary: store, mode: 'open' });
    assert.equal(r.report.format, 'gzip');
    assert.deepEqual([r.report.bytes, r.report.contentBytes], [gz.length, Buffer.byteLength(text)]);
    assert.deepEqual(r.bitmap, plain.bitmap);
  }
  assert.equal(plain.report.format, 'text');

  const truncated = gz.subarray(0, gz.length - 20);
  await assert.rejects(ingest(store, truncated, { idType: 'phone_md5' }), (e: unknown) => e instanceof AppError && e.code === 'GzipCorrupt');
});

test('lines whose user an earlier line of the file already had are counted as duplicates', async (t) => {
  const store = await dictionary(t);
  const [a, b, c] = phones(3);
  const lines = [a, `+86 ${a}`, b, a, `0086-${b}`, c, '', '  '];
  const r = await ingest(store, lines.join('\n'), { idType: 'phone' });
  assert.deepEqual(
    { lines: r.report.lines, blank: r.report.blankLines, valid: r.report.validLines, users: r.userCount, dup: r.report.duplicates, added: r.report.newIds },
    { lines: 8, blank: 2, valid: 6, users: 3, dup: 3, added: 3 },
  );
  // Duplicates stay per file: a second file with the same users has none, and matches them all.
  const again = await ingest(store, md5File([c, a, b]), { idType: 'phone_md5' });
  assert.deepEqual([again.report.duplicates, again.report.matched, again.report.newIds], [0, 3, 0]);
});

test('invalid lines are counted and the first 100 kept with their line numbers and reasons', async (t) => {
  const store = await dictionary(t);
  const lines = ['13900000001', '', '1390000', 'abc', '13900000002', 'bad\0line', '+1 415 555 0100'];
  const r = await ingest(store, lines.join('\n'), { idType: 'phone' });
  const reason = (l: string) => {
    const n = normalizeLine('phone', l);
    assert.ok(!n.ok);
    return n.reason;
  };
  assert.deepEqual(r.report.samples, [
    { line: 3, reason: reason('1390000') },
    { line: 4, reason: reason('abc') },
    { line: 6, reason: reasons.nul },
    { line: 7, reason: reason('+1 415 555 0100') },
  ]);
  assert.deepEqual([r.report.lines, r.report.validLines, r.report.invalidLines, r.report.blankLines], [7, 2, 4, 1]);

  // Scanner and registry refusals interleaved past the cap: one list, lowest line numbers first.
  const many = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? `x${i}` : i % 4 === 1 ? `nul\0${i}` : md5(String(i)))).join('\n');
  const m = await ingest(store, many, { idType: 'phone_md5' });
  assert.equal(m.report.invalidLines, 200);
  assert.equal(m.report.samples.length, 100);
  assert.deepEqual(m.report.samples.map((s) => s.line), Array.from({ length: 100 }, (_, i) => (i >> 1) * 4 + 1 + (i & 1)));
  assert.match(m.report.samples[0].reason, /phone_md5 expects 32 hex digits/);
  assert.equal(m.report.samples[1].reason, reasons.nul);
});

test('the hex fast path and the registry agree on every line', async (t) => {
  // A plain file of a hashed type is decoded from bytes; the same lines as one-column CSV go through normalizeInto.
  const hex = md5('x');
  const lines = [hex, hex.toUpperCase(), ` ${hex}\t`, hex.slice(0, 31), `${hex}0`, `${hex.slice(0, 30)}g0`, `\uFEFF${hex}`, `${hex.slice(0, 16)} ${hex.slice(16)}`, 'é'.repeat(16), md5('y')];
  const input = lines.join('\n');
  const fast = await ingest(await dictionary(t), input, { idType: 'gaid_md5' });
  const slow = await ingest(await dictionary(t), input, { idType: 'gaid_md5', csv: { header: false, column: 0 } });
  assert.deepEqual(fast.report.samples, slow.report.samples);
  assert.deepEqual(fast.bitmap, slow.bitmap);
  assert.deepEqual([fast.report.validLines, fast.report.invalidLines, fast.userCount], [5, 5, 2]);
  assert.deepEqual([slow.report.validLines, slow.report.invalidLines, slow.userCount], [5, 5, 2]);
});

test('closed mode counts unmatched lines and adds nothing to the dictionary', async (t) => {
  const store = await dictionary(t);
  const known = phones(10);
  await ingest(store, mixed(known), { idType: 'phone' });
  const before = store.stats();
  const r = await ingest(store, md5File([...phones(5, 500), ...known.slice(0, 6), ...phones(2, 900)]), { idType: 'phone_md5', mode: 'closed' });
  assert.deepEqual(members(r), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual([r.report.validLines, r.report.matched, r.report.newIds, r.report.unmatched, r.report.duplicates], [13, 6, 0, 7, 0]);
  assert.deepEqual(store.stats(), before);

  // Nothing known: an empty audience, not an error.
  const none = await ingest(store, md5File(phones(3, 700)), { idType: 'phone_md5', mode: 'closed' });
  assert.deepEqual([none.userCount, none.report.unmatched, members(none).length], [0, 3, 0]);
});

test('a committed dictionary finds the same users after a reopen', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'ah-ingest-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  const ps = phones(25);
  const first = await DictionaryStore.open(folder);
  const r = await ingest(first, mixed(ps), { idType: 'phone' });
  await first.commit(); // after the bitmap object is written, before the metadata row
  const reopened = await DictionaryStore.open(folder);
  const again = await ingest(reopened, md5File(ps), { idType: 'phone_md5', mode: 'closed' });
  assert.deepEqual(again.bitmap, r.bitmap);
});

test('a file with no valid line is an error that carries the report', async (t) => {
  const store = await dictionary(t);
  const ps = phones(4);
  // MD5s declared as raw phones: every line refused with the registry's reason.
  await assert.rejects(ingest(store, md5File(ps), { idType: 'phone' }), (e: unknown) => {
    assert.ok(e instanceof IngestError);
    assert.equal(e.code, 'InvalidParameter');
    assert.equal(e.field, 'idType');
    assert.deepEqual([e.report.lines, e.report.invalidLines, e.report.validLines], [4, 4, 0]);
    const expected = normalizeLine('phone', md5(ps[0]));
    assert.ok(!expected.ok);
    assert.deepEqual(e.report.samples[0], { line: 1, reason: expected.reason });
    assert.match(e.message, /no line of the file is a valid phone: 4 of 4 lines refused/);
    return true;
  });
  assert.equal(store.stats().users, 0, 'the dictionary is untouched');

  for (const input of ['', '\n \n\t\n']) {
    await assert.rejects(ingest(store, input, { idType: 'phone' }), (e: unknown) => e instanceof IngestError && e.field === 'file' && e.report.validLines === 0);
  }
  await assert.rejects(ingest(store, '1\n', { idType: 'phone_number' }), (e: unknown) => e instanceof AppError && e.code === 'InvalidParameter' && e.field === 'idType');
});

test('the report adds up and names its format and stages', async (t) => {
  const store = await dictionary(t);
  const ps = phones(50);
  const r = await ingest(store, `${mixed(ps)}${mixed(ps.slice(0, 10))}oops\n`, { idType: 'phone', batchLines: 7 });
  const p = r.report;
  assert.equal(p.validLines, p.userCount + p.duplicates + p.unmatched);
  assert.deepEqual([p.validLines, p.userCount, p.duplicates, p.invalidLines, p.lines], [60, 50, 10, 1, 61]);
  assert.deepEqual(Object.keys(p.timings), ['scan', 'normalize', 'dictionary', 'sort', 'bitmap', 'total']);
  for (const v of Object.values(p.timings)) assert.ok(v >= 0 && Number.isFinite(v));
});
