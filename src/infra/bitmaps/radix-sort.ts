// LSD radix sort of uint32 ids, in place with a caller-supplied scratch buffer.
//
// Why: a Roaring bitmap builds ~80x faster from sorted ids (DESIGN.md: 30 M
// ids, 0.14 s sorted vs 11.6 s unsorted), and the dictionary hands ids back
// in file order. Three passes of 11 bits (11 + 11 + 10) keep each histogram
// at 2048 counters (8 KiB, inside L1); one counting pass fills all three, and
// a pass whose digit is the same for every id is skipped (dense ids below
// 2^22 need only two passes). Stable, O(n), no comparisons.

import { addon } from '../native.js';

/** Below this length the engine's comparison sort is faster than three histograms. */
const SMALL = 256;

/**
 * Sorts `data` ascending in place. `scratch` (at least `data.length` long)
 * is overwritten; pass one in to sort many batches without allocating.
 * The passes run natively (native/radix_sort.cc); the counting pass also
 * notices input that is sorted already (a file of ids in dictionary order,
 * as a re-upload of the same file gives) and stops there.
 */
export function radixSortU32(data: Uint32Array, scratch?: Uint32Array): void {
  const n = data.length;
  if (n < 2) return;
  if (n < SMALL) {
    data.sort();
    return;
  }
  if (scratch === undefined) scratch = new Uint32Array(n);
  else if (scratch.length < n) throw new RangeError(`scratch holds ${scratch.length} ids, ${n} needed`);
  addon.radixSort(data, scratch);
}

/**
 * Drops repeats from a sorted array in place; returns the view of the
 * distinct prefix (same buffer, no copy).
 */
export function dedupeSorted(data: Uint32Array): Uint32Array {
  const n = data.length;
  if (n < 2) return data;
  const w = n < SMALL ? dedupeSmall(data) : addon.dedupeSorted(data);
  return w === n ? data : data.subarray(0, w);
}

function dedupeSmall(data: Uint32Array): number {
  const n = data.length;
  let w = 1;
  let last = data[0];
  for (let i = 1; i < n; i++) {
    const v = data[i];
    if (v !== last) {
      data[w++] = v;
      last = v;
    }
  }
  return w;
}
