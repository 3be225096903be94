import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  and,
  andCardinality,
  andMany,
  andNot,
  cardinality,
  deserialize,
  fromIds,
  fromSorted,
  hasMany,
  or,
  orMany,
  serialize,
  serializedSize,
} from './roaring.js';

const ids = (...v: number[]) => Uint32Array.from(v);
const members = (b: { toArray(): number[] }) => b.toArray();

test('portable bytes of a small array-container bitmap follow the spec layout (cookie 12346)', () => {
  // RoaringFormatSpec: cookie 12346 (u32), container count (u32), per container
  // key and cardinality - 1 (u16 each), per container a u32 byte offset, then
  // array containers as sorted u16 values. All little-endian.
  const b = fromSorted(ids(1, 2, 3, 65536 + 5));
  const bytes = serialize(b);
  const expected = Buffer.alloc(32);
  expected.writeUInt32LE(12346, 0);
  expected.writeUInt32LE(2, 4);
  expected.writeUInt16LE(0, 8); // key of container 0: ids >>> 16
  expected.writeUInt16LE(2, 10); // cardinality 3
  expected.writeUInt16LE(1, 12);
  expected.writeUInt16LE(0, 14); // cardinality 1
  expected.writeUInt32LE(24, 16); // container 0 starts after the 24-byte header
  expected.writeUInt32LE(30, 20); // three u16 later
  [1, 2, 3, 5].forEach((v, i) => expected.writeUInt16LE(v, 24 + 2 * i));
  assert.deepEqual(bytes, expected);
  assert.equal(serializedSize(b), 32);
});

test('portable bytes of a run container follow the spec layout (cookie 12347)', () => {
  // Cookie 12347 in the low 16 bits, container count - 1 in the high 16, a
  // bitset marking run containers, keys and cardinalities, no offsets under 4
  // containers, then the run container: run count, (start, length - 1) pairs.
  const b = fromSorted(Uint32Array.from({ length: 100 }, (_, i) => i));
  const bytes = serialize(b);
  const expected = Buffer.alloc(15);
  expected.writeUInt32LE(12347 | (0 << 16), 0);
  expected.writeUInt8(0b1, 4);
  expected.writeUInt16LE(0, 5);
  expected.writeUInt16LE(99, 7);
  expected.writeUInt16LE(1, 9);
  expected.writeUInt16LE(0, 11);
  expected.writeUInt16LE(99, 13);
  assert.deepEqual(bytes, expected);
});

test('portable bytes round-trip with array, bitmap and run containers', () => {
  const parts: number[] = [];
  for (let i = 0; i < 5_000; i++) parts.push(i * 7); // array container (key 0)
  for (let i = 0; i < 20_000; i++) parts.push(65536 + i * 3); // bitmap container (key 1)
  for (let i = 0; i < 70_000; i++) parts.push(200_000 + i); // runs across keys 3 and 4
  parts.push(0xffffffff);
  const b = fromSorted(Uint32Array.from(parts));
  const bytes = serialize(b);
  assert.equal(bytes.readUInt16LE(0), 12347);
  const back = deserialize(bytes);
  assert.equal(back.size, parts.length);
  assert.ok(back.isEqual(b));
  assert.deepEqual(Array.from(back.toUint32Array()), parts);
  assert.deepEqual(serialize(back), bytes);
});

test('deserialize refuses truncated bytes', () => {
  const bytes = serialize(fromSorted(ids(1, 2, 3, 70_000)));
  assert.throws(() => deserialize(bytes.subarray(0, bytes.length - 1)));
  assert.throws(() => deserialize(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])));
});

test('fromIds sorts ids in any order and drops repeats', () => {
  const b = fromIds(ids(9, 3, 0xffffffff, 3, 70_000, 0, 9));
  assert.deepEqual(members(b), [0, 3, 9, 70_000, 0xffffffff]);
  assert.equal(cardinality(b), 5);
});

test('and, or, andNot and their cardinalities on known sets', () => {
  const a = fromSorted(ids(1, 2, 3, 4, 100_000, 100_001));
  const b = fromSorted(ids(3, 4, 5, 100_001, 200_000));
  assert.deepEqual(members(and(a, b)), [3, 4, 100_001]);
  assert.deepEqual(members(or(a, b)), [1, 2, 3, 4, 5, 100_000, 100_001, 200_000]);
  assert.deepEqual(members(andNot(a, b)), [1, 2, 100_000]);
  assert.deepEqual(members(andNot(b, a)), [5, 200_000]);
  assert.equal(andCardinality(a, b), 3);
  assert.equal(a.size, 6, 'operands are left untouched');
});

test('orMany and andMany over several bitmaps', () => {
  const evens = fromSorted(Uint32Array.from({ length: 5_000 }, (_, i) => i * 2));
  const threes = fromSorted(Uint32Array.from({ length: 4_000 }, (_, i) => i * 3));
  const fives = fromSorted(Uint32Array.from({ length: 3_000 }, (_, i) => i * 5));
  const union = orMany([evens, threes, fives]);
  const expectUnion = new Set([...members(evens), ...members(threes), ...members(fives)]);
  assert.equal(union.size, expectUnion.size);
  assert.ok(members(union).every((v) => expectUnion.has(v)));
  const all = andMany([evens, threes, fives]);
  assert.deepEqual(members(all), Array.from({ length: 334 }, (_, i) => i * 30));
  assert.equal(orMany([]).size, 0);
  assert.deepEqual(members(andMany([evens])), members(evens));
  assert.equal(andMany([evens, fromSorted(ids()), threes]).size, 0);
  assert.throws(() => andMany([]), RangeError);
});

test('hasMany flags the members of a batch', () => {
  const b = fromSorted(ids(1, 5, 70_000, 0xffffffff));
  const out = new Uint8Array(6);
  assert.equal(hasMany(b, ids(5, 6, 0xffffffff, 0, 70_000, 1), out), 4);
  assert.deepEqual(Array.from(out), [1, 0, 1, 0, 1, 1]);
  assert.throws(() => hasMany(b, ids(1, 2), new Uint8Array(1)), RangeError);
});
