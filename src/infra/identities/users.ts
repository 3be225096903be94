// The user id of every key of one id type, indexed by key id: the second
// half of a type's dictionary (the KeyTable gives key → key id, this gives
// key id → user id). Chunked like the arena, for the same reasons: growth
// never copies, and a commit appends zero-copy views of the new entries.
//
// A key's user is set once, when the key is added, and never changes after
// (a line that would relink it counts a conflict instead), so the file that
// holds this column is append-only too.
import { ChunkSupply } from '../native.js';
import { CHUNK_KEYS, CHUNK_MASK, CHUNK_SHIFT, appendToChunks, chunkSlices } from './arena.js';

/** A user id slot that is not assigned yet; also "unmatched" in results. */
export const NO_USER = 0xffffffff;

export class UserColumn {
  /** @internal Read and written directly by resolveLines' hot loops. */
  readonly chunks: Uint32Array[] = [];
  private n = 0;
  private readonly supply = new ChunkSupply(CHUNK_KEYS);

  private addChunk(): Uint32Array {
    const chunk = this.supply.next();
    this.chunks.push(chunk);
    return chunk;
  }

  /** Number of entries (equal to the type's key count). */
  get length(): number {
    return this.n;
  }

  get(id: number): number {
    return this.chunks[id >>> CHUNK_SHIFT][id & CHUNK_MASK];
  }

  set(id: number, user: number): void {
    this.chunks[id >>> CHUNK_SHIFT][id & CHUNK_MASK] = user;
  }

  /** Grows to `length` entries; the new ones are NO_USER. */
  grow(length: number): void {
    while (this.n < length) {
      const slot = this.n & CHUNK_MASK;
      if (slot === 0) this.addChunk();
      const take = Math.min(CHUNK_KEYS - slot, length - this.n);
      this.chunks[this.n >>> CHUNK_SHIFT].fill(NO_USER, slot, slot + take);
      this.n += take;
    }
  }

  /** Appends entries from their file bytes (uint32 little-endian; any alignment). */
  appendBytes(bytes: Uint8Array): void {
    if (bytes.length % 4 !== 0) throw new RangeError(`${bytes.length} bytes is not a whole number of user ids`);
    this.n = appendToChunks(this.chunks, 4, this.n, bytes, () => this.addChunk());
  }

  /** The largest user id held, or -1 when empty (a load-time sanity check). */
  max(): number {
    let m = -1;
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c];
      const end = Math.min(CHUNK_KEYS, this.n - c * CHUNK_KEYS);
      for (let i = 0; i < end; i++) if (chunk[i] > m) m = chunk[i];
    }
    return m;
  }

  /** Views of the bytes of entries [from, to), at most one per chunk (no copy). */
  slices(from: number, to: number): Uint8Array[] {
    if (from < 0 || to > this.n || from > to) throw new RangeError(`bad user range [${from}, ${to}) of ${this.n}`);
    return chunkSlices(this.chunks, 4, from, to);
  }
}
