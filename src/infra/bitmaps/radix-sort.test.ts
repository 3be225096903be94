import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dedupeSorted, radixSortU32 } from './radix-sort.js';

/** xorshift32: reproducible ids without Math.random. */
function randomIds(n: number, seed: number, mask = 0xffffffff): Uint32Array {
  const a = new Uint32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = (x >>> 0) & mask;
  }
  return a;
}

function reference(a: Uint32Array): number[] {
  return Array.from(a).sort((x, y) => x - y);
}

function check(a: Uint32Array, label: string): void {
  const expected = reference(a);
  radixSortU32(a);
  assert.deepEqual(Array.from(a), expected, label);
}

test('sorts random ids over the full 32-bit range the same as Array.prototype.sort', () => {
  for (const n of [255, 256, 1000, 100_000]) check(randomIds(n, n), `n=${n}`);
});

test('sorts dense ids below 2^22, where the top pass is skipped', () => {
  check(randomIds(50_000, 7, (1 << 22) - 1), 'dense');
  check(randomIds(50_000, 9, 0x7ff), 'one low digit');
});

test('empty, one element, all equal, already sorted, reversed and maximum values', () => {
  check(new Uint32Array(0), 'empty');
  check(Uint32Array.of(42), 'one');
  check(new Uint32Array(10_000).fill(123_456_789), 'all equal');
  check(Uint32Array.from({ length: 10_000 }, (_, i) => i * 3), 'sorted');
  check(Uint32Array.from({ length: 10_000 }, (_, i) => 4_000_000_000 - i * 7), 'reversed');
  const max = Uint32Array.from({ length: 5_000 }, (_, i) => (i % 2 ? 0xffffffff : 0xffffffff - (i % 5)));
  check(max, 'max values');
  check(Uint32Array.from({ length: 4_096 }, (_, i) => (i % 2 ? 0 : 0xffffffff)), 'min and max');
});

test('a supplied scratch buffer is used, and a short one is refused', () => {
  const a = randomIds(10_000, 3);
  const expected = reference(a);
  radixSortU32(a, new Uint32Array(20_000));
  assert.deepEqual(Array.from(a), expected);
  assert.throws(() => radixSortU32(randomIds(1_000, 5), new Uint32Array(999)), RangeError);
});

test('dedupeSorted keeps one of each id, in place', () => {
  assert.deepEqual(Array.from(dedupeSorted(new Uint32Array(0))), []);
  assert.deepEqual(Array.from(dedupeSorted(Uint32Array.of(5))), [5]);
  assert.deepEqual(Array.from(dedupeSorted(Uint32Array.of(1, 1, 2, 3, 3, 3, 0xffffffff, 0xffffffff))), [1, 2, 3, 0xffffffff]);
  assert.deepEqual(Array.from(dedupeSorted(new Uint32Array(100).fill(9))), [9]);
  const distinct = Uint32Array.of(1, 2, 3);
  assert.equal(dedupeSorted(distinct), distinct);
  const a = randomIds(20_000, 11, 0xfff);
  radixSortU32(a);
  const d = dedupeSorted(a);
  assert.equal(d.buffer, a.buffer);
  assert.deepEqual(Array.from(d), [...new Set(reference(a))]);
});
