// The identity dictionary in memory: fixed-width key → dense uint32 id, ids
// given in insertion order. One table per key width (16: MD5, 32: SHA-256).
//
// Why not a Map: a JS Map stops at 2^24 entries and boxes every key. The keys
// live in a KeyArena (id order, the dictionary file's format) and the hash
// index over them is native (native/key_index.cc):
//
// - 64 segments by hash; in each, open addressing with linear probing over
//   [hash, id + 1] pairs, 35-70% full; the stored 32-bit hash makes a key
//   comparison in the arena rare except on the real match. A segment doubles
//   on its own when full, re-placing its entries in order (the slot is a
//   multiply-shift of the hash) without reading a key back; big segments
//   grow in place with mremap, so growing touches few fresh pages.
// - Batches are probed with two-stage software prefetch (the home slot, then
//   the arena key of the first matching slot), so the cache misses of many
//   keys overlap.
// - Measured: docs/architecture.md "Ingest speed" (bench/dictionary.ts); the
//   JavaScript table this replaced did ~4.9 M inserts/s and ~6.5 M lookups/s.
// - Memory per key: the key itself (16 or 32 B, KeyArena) + 8 B / load for
//   the slots = 27-39 B for 16-byte keys, 43-55 B for 32-byte keys, all
//   outside the V8 heap. reserve(n) sizes the segments for n keys (with room
//   for the spread of a hash) at 70%.
import { addon, type NativeKeyIndex } from '../native.js';
import { KeyArena, type KeyWidth } from './arena.js';

/** What lookupMany writes for a key that is not in the table. */
export const ABSENT = 0xffffffff;

export class KeyTable {
  readonly arena: KeyArena;
  private readonly index: NativeKeyIndex;
  /** Arena chunks the index knows about. */
  private registered = 0;

  constructor(readonly width: KeyWidth, expectedKeys = 0) {
    this.arena = new KeyArena(width);
    this.index = new addon.KeyIndex(width, Math.max(0, expectedKeys));
  }

  /** Rebuilds a table from keys in id order (a dictionary file read back). */
  static fromKeys(width: KeyWidth, bytes: Uint8Array): KeyTable {
    const t = new KeyTable(width, bytes.length / width);
    t.arena.appendBytes(bytes);
    t.register();
    t.index.reindex(t.arena.count);
    return t;
  }

  /** Number of keys; also the id the next new key gets. */
  get size(): number {
    return this.arena.count;
  }

  /** Bytes held by keys and slots. */
  get memoryBytes(): number {
    return this.arena.allocatedBytes + this.index.slotBytes();
  }

  /** The key of `id` (a view into the arena). */
  keyOf(id: number): Uint8Array {
    return this.arena.keyOf(id);
  }

  /** Grows the slots once so that `keys` keys fit without further rehashing. */
  reserve(keys: number): void {
    this.index.reserve(keys);
  }

  /**
   * Looks up `count` keys packed back to back in `keys` (count * width
   * bytes); out[i] gets the id of key i or ABSENT. Returns how many were found.
   */
  lookupMany(keys: Uint8Array, count: number, out: Uint32Array): number {
    this.check(keys, count, out);
    return count === 0 ? 0 : this.index.lookupMany(keys, count, out);
  }

  /**
   * Gives every absent key among `count` packed keys the next id, in order;
   * out[i] gets the id of key i, new or old (a repeat within the batch gets
   * the id of its first occurrence). Returns how many keys were new.
   */
  insertMissing(keys: Uint8Array, count: number, out: Uint32Array): number {
    this.check(keys, count, out);
    const before = this.arena.count;
    let done = 0;
    while (count > 0) {
      done = this.index.insertMissing(keys, count, out, done);
      if (done === count) break;
      // The arena's last chunk is full: the index appends into the next one.
      this.index.addChunk(this.arena.addChunk());
      this.registered++;
    }
    this.arena.setCount(this.index.size());
    return this.arena.count - before;
  }

  /** Hands the index the chunks the arena added on its own (appendBytes). */
  private register(): void {
    const chunks = this.arena.chunks;
    for (; this.registered < chunks.length; this.registered++) this.index.addChunk(chunks[this.registered]);
  }

  private check(keys: Uint8Array, count: number, out: Uint32Array): void {
    const bytes = count * this.width;
    if (!Number.isInteger(count) || count < 0 || keys.length < bytes) {
      throw new RangeError(`${count} keys of ${this.width} bytes need ${bytes} bytes, got ${keys.length}`);
    }
    if (out.length < count) throw new RangeError(`out holds ${out.length} ids, ${count} needed`);
    if (this.registered !== this.arena.chunks.length) this.register();
    // Keys appended to the arena directly (appendBytes) are indexed before use.
    if (this.index.size() !== this.arena.count) this.index.reindex(this.arena.count);
  }
}
