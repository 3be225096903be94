import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ABSENT, KeyTable } from './table.js';
import type { KeyWidth } from './arena.js';

/** `n` random keys, of which about one in ten repeats an earlier one (as files do). */
function keysWithRepeats(n: number, width: number): Buffer {
  const keys = randomBytes(n * width);
  for (let i = 10; i < n; i += 10) keys.copy(keys, i * width, (i >>> 1) * width, ((i >>> 1) + 1) * width);
  return keys;
}

/** The ids a Map hands out in insertion order: what the table must agree with. */
function expectedIds(keys: Buffer, n: number, width: number, map: Map<string, number>): Uint32Array {
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = keys.toString('latin1', i * width, (i + 1) * width);
    let id = map.get(k);
    if (id === undefined) map.set(k, (id = map.size));
    ids[i] = id;
  }
  return ids;
}

function agreesWithMap(width: KeyWidth, n: number, batch: number): void {
  const keys = keysWithRepeats(n, width);
  const map = new Map<string, number>();
  const expected = expectedIds(keys, n, width, map);
  const t = new KeyTable(width);
  const out = new Uint32Array(batch);
  let added = 0;
  for (let i = 0; i < n; i += batch) {
    const c = Math.min(batch, n - i);
    added += t.insertMissing(keys.subarray(i * width, (i + c) * width), c, out);
    for (let k = 0; k < c; k++) if (out[k] !== expected[i + k]) assert.fail(`key ${i + k}: id ${out[k]}, Map says ${expected[i + k]}`);
  }
  assert.equal(added, map.size);
  assert.equal(t.size, map.size);

  const all = new Uint32Array(n);
  assert.equal(t.lookupMany(keys, n, all), n);
  assert.deepEqual(all, expected);
  assert.equal(t.insertMissing(keys, n, all), 0, 're-inserting adds nothing');
  assert.deepEqual(all, expected, 're-inserting returns the same ids');
  for (const id of [0, 1, map.size >>> 1, map.size - 1]) {
    assert.equal(map.get(Buffer.from(t.keyOf(id)).toString('latin1')), id);
  }
}

test('1 M random 16-byte keys get the ids a Map gives, across many rehashes', () => {
  agreesWithMap(16, 1_000_000, 10_000);
});

test('200 k random 32-byte keys get the ids a Map gives, in one batch', () => {
  agreesWithMap(32, 200_000, 200_000);
});

test('absent keys look up as ABSENT and are then added in batch order', () => {
  const t = new KeyTable(16);
  const present = randomBytes(16 * 1000);
  const out = new Uint32Array(1000);
  t.insertMissing(present, 1000, out);
  const absent = randomBytes(16 * 1000);
  assert.equal(t.lookupMany(absent, 1000, out), 0);
  assert.ok(out.every((id) => id === ABSENT));
  const mixed = Buffer.concat([absent.subarray(0, 16), present.subarray(16, 32), absent.subarray(0, 16), absent.subarray(16, 32)]);
  assert.equal(t.insertMissing(mixed, 4, out), 2);
  assert.deepEqual(Array.from(out.subarray(0, 4)), [1000, 1, 1000, 1001]);
});

test('keys that share their first 8 bytes, and so their hash, stay distinct', () => {
  const t = new KeyTable(32);
  const n = 2000;
  const keys = Buffer.alloc(32 * n);
  for (let i = 0; i < n; i++) {
    keys.writeUInt32LE(0xdeadbeef, i * 32);
    keys.writeUInt32LE(0x01234567, i * 32 + 4);
    keys.writeUInt32LE(i, i * 32 + 28);
  }
  const out = new Uint32Array(n);
  assert.equal(t.insertMissing(keys, n, out), n);
  assert.deepEqual(Array.from(out), Array.from({ length: n }, (_, i) => i));
  assert.equal(t.lookupMany(keys, n, out), n);
  assert.deepEqual(Array.from(out), Array.from({ length: n }, (_, i) => i));
});

test('a batch that is not 4-byte aligned is read correctly', () => {
  const t = new KeyTable(16);
  const keys = randomBytes(16 * 100);
  const ids = new Uint32Array(100);
  t.insertMissing(keys, 100, ids);
  const shifted = Buffer.alloc(16 * 100 + 1);
  keys.copy(shifted, 1);
  const out = new Uint32Array(100);
  assert.equal(t.lookupMany(shifted.subarray(1), 100, out), 100);
  assert.deepEqual(out, ids);
  assert.equal(t.insertMissing(shifted.subarray(1), 100, out), 0);
});

test('the arena appended in slices and read back rebuilds the same dictionary', () => {
  const t = new KeyTable(16);
  const n = 600_000; // three arena chunks
  const keys = keysWithRepeats(n, 16);
  const ids = new Uint32Array(n);
  t.insertMissing(keys.subarray(0, 16 * 300_000), 300_000, ids);
  const firstCommit = Buffer.concat(t.arena.slices());
  const committed = t.size;
  t.insertMissing(keys.subarray(16 * 300_000), n - 300_000, ids.subarray(300_000));
  const file = Buffer.concat([firstCommit, ...t.arena.slices(committed)]);
  assert.equal(file.length, t.size * 16);

  const back = KeyTable.fromKeys(16, file);
  assert.equal(back.size, t.size);
  const out = new Uint32Array(n);
  assert.equal(back.lookupMany(keys, n, out), n);
  assert.deepEqual(out, ids);
  assert.equal(back.insertMissing(randomBytes(16), 1, out), 1);
  assert.equal(out[0], t.size);
});

test('reserve sizes the table once, and bad input is refused', () => {
  const t = new KeyTable(16);
  t.reserve(100_000);
  const before = t.memoryBytes;
  t.insertMissing(randomBytes(16 * 100_000), 100_000, new Uint32Array(100_000));
  assert.ok(t.memoryBytes - before <= 16 * 2 ** 18, 'only arena chunks were added');
  assert.throws(() => new KeyTable(20 as KeyWidth), RangeError);
  assert.throws(() => t.lookupMany(Buffer.alloc(31), 2, new Uint32Array(2)), RangeError);
  assert.throws(() => t.lookupMany(Buffer.alloc(32), 2, new Uint32Array(1)), RangeError);
  assert.throws(() => t.keyOf(t.size), RangeError);
  assert.throws(() => KeyTable.fromKeys(16, Buffer.alloc(17)), RangeError);
});
