// Audiences as Roaring bitmaps over dense uint32 user ids: a thin layer over
// CRoaring (npm `roaring`, native bindings) that fixes the two choices every
// caller would otherwise have to get right:
//
// - Bitmaps are built from sorted ids. CRoaring's add_many appends to the
//   last container when ids ascend, so building is ~80x faster than from
//   ids in file order (DESIGN.md); fromIds sorts first with radixSortU32.
// - Bytes leave the process only in the portable format
//   (https://github.com/RoaringBitmap/RoaringFormatSpec), which CRoaring,
//   Java/Go Roaring, ClickHouse and Doris read. CRoaring's own "croaring"
//   format is smaller for sparse sets but nothing else reads it.
import roaring from 'roaring';
import type { RoaringBitmap32 } from 'roaring';
import { radixSortU32 } from './radix-sort.js';

export type Bitmap = RoaringBitmap32;
export type ReadonlyBitmap = roaring.ReadonlyRoaringBitmap32;

const { RoaringBitmap32: Roaring } = roaring;
const PORTABLE = 'portable';

/**
 * Builds a bitmap from ascending ids (repeats allowed). Unsorted input still
 * gives the right set, only much slower; sort with radixSortU32 or use fromIds.
 * Runs are compressed, so dense id ranges cost 4 bytes per run.
 */
export function fromSorted(ids: Uint32Array): Bitmap {
  const b = new Roaring(ids);
  b.runOptimize();
  b.shrinkToFit();
  return b;
}

/** Builds a bitmap from ids in any order; sorts `ids` in place first. */
export function fromIds(ids: Uint32Array, scratch?: Uint32Array): Bitmap {
  radixSortU32(ids, scratch);
  return fromSorted(ids);
}

export function empty(): Bitmap {
  return new Roaring();
}

/** The portable serialization (cookie 12346, or 12347 when there are run containers). */
export function serialize(b: ReadonlyBitmap): Buffer {
  // roaring's typings declare their own Buffer (a bare Uint8Array); wrap without copying.
  const bytes = b.serialize(PORTABLE);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function serializedSize(b: ReadonlyBitmap): number {
  return b.getSerializationSizeInBytes(PORTABLE);
}

/** Reads the portable format; throws on truncated or malformed input. */
export function deserialize(bytes: Uint8Array): Bitmap {
  return Roaring.deserialize(bytes, PORTABLE);
}

/**
 * Reads the portable format straight from a file: CRoaring reads and
 * deserializes it on a libuv thread, with no stream chunks or copies in
 * JavaScript.
 */
export function deserializeFile(path: string): Promise<Bitmap> {
  return Roaring.deserializeFileAsync(path, PORTABLE);
}

export function cardinality(b: ReadonlyBitmap): number {
  return b.size;
}

/** |a ∩ b| without materializing the intersection (audience overlap). */
export function andCardinality(a: ReadonlyBitmap, b: ReadonlyBitmap): number {
  return a.andCardinality(b);
}

export function and(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap {
  return Roaring.and(a, b);
}

export function or(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap {
  return Roaring.or(a, b);
}

/** a \ b: members of a that are not in b (exclusion audiences). */
export function andNot(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap {
  return Roaring.andNot(a, b);
}

/** Union of any number of bitmaps in one pass (CRoaring or_many); empty for none. */
export function orMany(bitmaps: readonly ReadonlyBitmap[]): Bitmap {
  if (bitmaps.length === 0) return empty();
  return Roaring.orMany(bitmaps as ReadonlyBitmap[]);
}

/**
 * Intersection of one or more bitmaps, smallest first so every step works
 * on the least data and an empty result stops early.
 */
export function andMany(bitmaps: readonly ReadonlyBitmap[]): Bitmap {
  if (bitmaps.length === 0) throw new RangeError('andMany needs at least one bitmap');
  const bySize = [...bitmaps].sort((x, y) => x.size - y.size);
  let acc = bySize.length === 1 ? bySize[0].clone() : Roaring.and(bySize[0], bySize[1]);
  for (let i = 2; i < bySize.length && acc.size > 0; i++) acc.andInPlace(bySize[i]);
  return acc;
}

/**
 * Membership for a batch of ids: out[i] = 1 when ids[i] is in b, else 0.
 * Returns how many were members.
 */
export function hasMany(b: ReadonlyBitmap, ids: Uint32Array, out: Uint8Array): number {
  const n = ids.length;
  if (out.length < n) throw new RangeError(`out holds ${out.length} flags, ${n} needed`);
  let members = 0;
  for (let i = 0; i < n; i++) {
    const hit = b.has(ids[i]) ? 1 : 0;
    out[i] = hit;
    members += hit;
  }
  return members;
}
