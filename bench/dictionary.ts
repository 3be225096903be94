// Throughput of the dictionary and the bitmap build, run by hand:
//   npm run bench -- dictionary [keys=10000000] [ids=30000000]
// Prints figures only (the ingest benchmark will set targets).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromIds, fromSorted, radixSortU32, serialize } from '../src/infra/bitmaps/index.js';
import { DictionaryStore } from '../src/infra/identities/store.js';
import { KeyTable } from '../src/infra/identities/table.js';

const BATCH = 65_536;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function rate(n: number, s: number): string {
  return `${(n / s / 1e6).toFixed(2)} M/s (${s.toFixed(2)} s)`;
}

function dictionary(n: number): void {
  const width = 16;
  const keys = randomBytes(n * width);
  const out = new Uint32Array(BATCH);
  const t = new KeyTable(width);

  let start = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) {
    const c = Math.min(BATCH, n - i);
    t.insertMissing(keys.subarray(i * width, (i + c) * width), c, out);
  }
  console.log(`insert ${n} new 16-byte keys, growing from empty: ${rate(n, seconds(start))}`);

  start = process.hrtime.bigint();
  let found = 0;
  for (let i = 0; i < n; i += BATCH) {
    const c = Math.min(BATCH, n - i);
    found += t.lookupMany(keys.subarray(i * width, (i + c) * width), c, out);
  }
  console.log(`lookup ${n} present keys: ${rate(n, seconds(start))}, found ${found}`);

  // The same keys in another order than they were added (a different file of known ids).
  const shuffled = Buffer.alloc(n * width);
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % n;
    keys.copy(shuffled, i * width, j * width, (j + 1) * width);
  }
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) {
    const c = Math.min(BATCH, n - i);
    t.lookupMany(shuffled.subarray(i * width, (i + c) * width), c, out);
  }
  console.log(`lookup ${n} present keys in random order: ${rate(n, seconds(start))}`);

  const absent = randomBytes(n * width);
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) {
    const c = Math.min(BATCH, n - i);
    t.lookupMany(absent.subarray(i * width, (i + c) * width), c, out);
  }
  console.log(`lookup ${n} absent keys: ${rate(n, seconds(start))}`);

  start = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) {
    const c = Math.min(BATCH, n - i);
    t.insertMissing(keys.subarray(i * width, (i + c) * width), c, out);
  }
  console.log(`re-insert ${n} present keys: ${rate(n, seconds(start))}`);

  const pre = new KeyTable(width, n);
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) {
    const c = Math.min(BATCH, n - i);
    pre.insertMissing(keys.subarray(i * width, (i + c) * width), c, out);
  }
  console.log(`insert ${n} new keys into a table sized for them: ${rate(n, seconds(start))}`);
  console.log(`memory: ${(t.memoryBytes / t.size).toFixed(1)} B/key grown, ${(pre.memoryBytes / pre.size).toFixed(1)} B/key presized`);

  const file = Buffer.concat(t.arena.slices());
  start = process.hrtime.bigint();
  KeyTable.fromKeys(width, file);
  console.log(`reload ${n} keys from their bytes (index rebuilt): ${rate(n, seconds(start))}`);
}

/** The durable dictionary: resolve n new 16-byte keys, commit them (fsync included), reopen the folder. */
async function persistence(n: number): Promise<void> {
  const width = 16;
  const keys = randomBytes(n * width);
  const folder = await mkdtemp(join(tmpdir(), 'ah-bench-dictionary-'));
  try {
    const store = await DictionaryStore.open(folder);
    let start = process.hrtime.bigint();
    for (let i = 0; i < n; i += BATCH) {
      const c = Math.min(BATCH, n - i);
      store.resolve([{ type: 'gaid_md5', width, keys: keys.subarray(i * width, (i + c) * width), count: c }], 'open');
    }
    console.log(`resolve ${n} new keys into the store (open mode): ${rate(n, seconds(start))}`);
    start = process.hrtime.bigint();
    const { bytes } = await store.commit();
    console.log(`commit ${n} keys (${(bytes / 1e6).toFixed(0)} MB appended and fsynced, manifest replaced): ${seconds(start).toFixed(2)} s`);
    start = process.hrtime.bigint();
    const again = await DictionaryStore.open(folder);
    console.log(`reopen ${again.stats().users} users / ${n} keys (read, index rebuilt): ${seconds(start).toFixed(2)} s`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

function bitmaps(n: number): void {
  // Ids in file order: a permutation-like spread over [0, 1.25 n).
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = Math.imul(i, 0x9e3779b1) >>> 0;
  for (let i = 0; i < n; i++) ids[i] = ids[i] % Math.ceil(n * 1.25);
  const copy = ids.slice();

  let start = process.hrtime.bigint();
  radixSortU32(ids);
  console.log(`radix sort ${n} ids: ${seconds(start).toFixed(3)} s`);

  start = process.hrtime.bigint();
  const b = fromSorted(ids);
  console.log(`bitmap from ${n} sorted ids: ${seconds(start).toFixed(3)} s, ${b.size} members`);

  start = process.hrtime.bigint();
  fromIds(copy);
  console.log(`bitmap from ${n} unsorted ids (sort + build): ${seconds(start).toFixed(3)} s`);

  start = process.hrtime.bigint();
  const bytes = serialize(b);
  console.log(`serialize portable: ${seconds(start).toFixed(3)} s, ${(bytes.length / 1e6).toFixed(1)} MB`);
}

export async function run(args: string[]): Promise<number> {
  const keys = Number(args[0] ?? 10_000_000);
  const ids = Number(args[1] ?? 30_000_000);
  dictionary(keys);
  await persistence(keys);
  bitmaps(ids);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await run(process.argv.slice(2));
}
