// The identity dictionary's keys, stored once, in id order.
//
// Key i lives at byte (i & CHUNK_MASK) * width of chunk i >>> CHUNK_SHIFT, so
// id → key is arithmetic, and the arena only ever grows at its end:
// - growth allocates one more chunk and never copies what is there (a single
//   1.6 GB buffer for 50 M SHA-256 keys would have to be copied on every
//   doubling, and needs twice its size while it is);
// - persistence is appending the bytes of the keys added since the last
//   commit to a file, and reloading is reading that file back into chunks and
//   rebuilding the hash index (the index is derived, never stored).
//
// Chunks are Uint32Arrays so a key compares in 4 or 8 word loads; their bytes
// are the key's bytes in order, whatever the platform's endianness. The
// native hash index (table.ts) reads and appends keys through pointers to
// these same chunks, so the arena stays the one copy of every key.

import { ChunkSupply } from '../native.js';

export type KeyWidth = 16 | 32;

/** 2^18 keys per chunk: 4 MiB of 16-byte keys, 8 MiB of 32-byte keys. */
export const CHUNK_SHIFT = 18;
export const CHUNK_KEYS = 1 << CHUNK_SHIFT;
export const CHUNK_MASK = CHUNK_KEYS - 1;

export class KeyArena {
  /** @internal Read directly by the hash index's hot loops. */
  readonly chunks: Uint32Array[] = [];
  private n = 0;
  private readonly supply: ChunkSupply;

  constructor(readonly width: KeyWidth) {
    if (width !== 16 && width !== 32) throw new RangeError(`key width must be 16 or 32 bytes, not ${width}`);
    this.supply = new ChunkSupply((CHUNK_KEYS * width) >>> 2);
  }

  /** Number of keys held; the next key gets this id. */
  get count(): number {
    return this.n;
  }

  /** Bytes held by the chunks (allocated, not only used). */
  get allocatedBytes(): number {
    return this.chunks.length * CHUNK_KEYS * this.width;
  }

  /** @internal Adds an empty chunk at the end (the native index appends into it) and returns it. */
  addChunk(): Uint32Array {
    const chunk = this.supply.next();
    this.chunks.push(chunk);
    return chunk;
  }

  /** @internal The native index appended keys up to `count`, into chunks already added. */
  setCount(count: number): void {
    if (!(count >= this.n && count <= this.chunks.length * CHUNK_KEYS)) throw new RangeError(`bad key count ${count}`);
    this.n = count;
  }

  /** Appends whole keys from raw bytes (a reloaded file); returns the first new id. */
  appendBytes(bytes: Uint8Array): number {
    if (bytes.length % this.width !== 0) throw new RangeError(`${bytes.length} bytes is not a whole number of ${this.width}-byte keys`);
    const first = this.n;
    this.n = appendToChunks(this.chunks, this.width, first, bytes, () => this.addChunk());
    return first;
  }

  /** The bytes of key `id` (a view into the arena, valid as long as the arena). */
  keyOf(id: number): Uint8Array {
    if (!(id >= 0 && id < this.n)) throw new RangeError(`no key with id ${id}`);
    const chunk = this.chunks[id >>> CHUNK_SHIFT];
    return new Uint8Array(chunk.buffer, chunk.byteOffset + (id & CHUNK_MASK) * this.width, this.width);
  }

  /**
   * Views of the bytes of keys [from, to), in order, at most one per chunk:
   * what a commit appends to the dictionary file (no copy).
   */
  slices(from = 0, to = this.n): Uint8Array[] {
    if (from < 0 || to > this.n || from > to) throw new RangeError(`bad key range [${from}, ${to}) of ${this.n}`);
    return chunkSlices(this.chunks, this.width, from, to);
  }
}

// Storage chunked like the arena (CHUNK_KEYS entries of a fixed size per
// chunk) is also the user column's (users.ts): the two walks they share.

/**
 * Copies the whole entries of `bytes` (`size` bytes each) in after the
 * `count` held, adding a chunk with `addChunk` whenever the last is full;
 * returns the new count.
 */
export function appendToChunks(chunks: readonly Uint32Array[], size: number, count: number, bytes: Uint8Array, addChunk: () => void): number {
  for (let done = 0; done < bytes.length; ) {
    const slot = count & CHUNK_MASK;
    if (slot === 0) addChunk();
    const chunk = chunks[count >>> CHUNK_SHIFT];
    const take = Math.min(CHUNK_KEYS - slot, (bytes.length - done) / size);
    new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).set(bytes.subarray(done, done + take * size), slot * size);
    done += take * size;
    count += take;
  }
  return count;
}

/** Views of the bytes of entries [from, to) (`size` bytes each), at most one per chunk (no copy). */
export function chunkSlices(chunks: readonly Uint32Array[], size: number, from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let id = from; id < to; ) {
    const slot = id & CHUNK_MASK;
    const take = Math.min(CHUNK_KEYS - slot, to - id);
    const chunk = chunks[id >>> CHUNK_SHIFT];
    out.push(new Uint8Array(chunk.buffer, chunk.byteOffset + slot * size, take * size));
    id += take;
  }
  return out;
}
