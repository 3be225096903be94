// The identity dictionary in memory: fixed-width key → dense uint32 id, ids
// given in insertion order. One table per key width (16: MD5, 32: SHA-256).
//
// Why not a Map: a JS Map stops at 2^24 entries and boxes every key; this is
// an open-addressing table on typed arrays (DESIGN.md measures ~5 M inserts/s
// and ~6.5 M lookups/s batched, LMDB 0.4-0.5 M/s, SQLite 0.2 M/s).
//
// - Keys are MD5/SHA-256 digests, so their bytes are already uniform: the
//   slot comes from a 32-bit mix of the first 8 bytes, mapped onto any
//   capacity with a multiply-shift (no power-of-two rounding, so the table
//   grows by 1.5x and stays between 47% and 70% full).
// - Linear probing over interleaved [hash, id + 1] pairs: a probe reads one
//   cache line, and the stored 32-bit hash makes a full key comparison in the
//   arena rare except on the real match. It also lets a rehash run over the
//   old slots alone, in order: the multiply-shift is monotone in the hash, so
//   the new table fills nearly sequentially and no key is read back from the
//   arena. id + 1 = 0 marks an empty slot.
// - Memory per key: the key itself (16 or 32 B, KeyArena) + 8 B / load for
//   the slots = 27-33 B for 16-byte keys, 43-49 B for 32-byte keys; 50 M
//   SHA-256 keys take ~2.2-2.5 GB, all outside the V8 heap. reserve(n) sizes
//   the slots for exactly n keys at 70%.
import { CHUNK_MASK, CHUNK_SHIFT, KeyArena, type KeyWidth } from './arena.js';

/** What lookupMany writes for a key that is not in the table. */
export const ABSENT = 0xffffffff;

const MAX_LOAD = 0.7;
const GROWTH = 1.5;
/** Multiply-shift needs more than 1024 slots to never round onto `capacity`. */
const MIN_CAPACITY = 4096;
/** Slots are pairs in one Uint32Array, whose length V8 caps at 2^32 - 1. */
const MAX_CAPACITY = 0x7fffffff;
const TWO_32 = 4294967296;
/** Keys whose home slots are loaded ahead of probing (a power of two). */
const GROUP = 32;

export class KeyTable {
  readonly arena: KeyArena;
  private readonly words: number;
  private slots: Uint32Array;
  private capacity: number;
  private limit: number;
  private scratch = new Uint32Array(0);
  private readonly home = new Uint32Array(2 * GROUP);
  /** @internal Keeps the loads in touch() observable so the compiler keeps them. */
  sink = 0;

  constructor(readonly width: KeyWidth, expectedKeys = 0) {
    this.arena = new KeyArena(width);
    this.words = this.arena.words;
    this.capacity = capacityFor(expectedKeys);
    this.slots = new Uint32Array(this.capacity * 2);
    this.limit = Math.floor(this.capacity * MAX_LOAD);
  }

  /** Rebuilds a table from keys in id order (a dictionary file read back). */
  static fromKeys(width: KeyWidth, bytes: Uint8Array): KeyTable {
    const t = new KeyTable(width, bytes.length / width);
    t.arena.appendBytes(bytes);
    t.reindex();
    return t;
  }

  /** Number of keys; also the id the next new key gets. */
  get size(): number {
    return this.arena.count;
  }

  /** Bytes held by keys and slots. */
  get memoryBytes(): number {
    return this.arena.allocatedBytes + this.slots.byteLength;
  }

  /** The key of `id` (a view into the arena). */
  keyOf(id: number): Uint8Array {
    return this.arena.keyOf(id);
  }

  /** Grows the slots once so that `keys` keys fit without further rehashing. */
  reserve(keys: number): void {
    if (keys > this.limit) this.rehash(capacityFor(keys));
  }

  /**
   * Looks up `count` keys packed back to back in `keys` (count * width
   * bytes); out[i] gets the id of key i or ABSENT. Returns how many were found.
   */
  lookupMany(keys: Uint8Array, count: number, out: Uint32Array): number {
    const src = this.wordsOf(keys, count, out);
    const { slots, capacity, words: w } = this;
    const chunks = this.arena.chunks;
    const home = this.home;
    let found = 0;
    for (let k = 0, base = 0; k < count; k++, base += w) {
      const g = k & (GROUP - 1);
      if (g === 0) this.touch(src, base, Math.min(GROUP, count - k));
      const h = home[2 * g];
      let j = home[2 * g + 1];
      let id = ABSENT;
      for (;;) {
        const stored = slots[2 * j + 1];
        if (stored === 0) break;
        if (slots[2 * j] === h && sameKey(chunks, stored - 1, w, src, base)) {
          id = stored - 1;
          found++;
          break;
        }
        if (++j === capacity) j = 0;
      }
      out[k] = id;
    }
    return found;
  }

  /**
   * Gives every absent key among `count` packed keys the next id, in order;
   * out[i] gets the id of key i, new or old (a repeat within the batch gets
   * the id of its first occurrence). Returns how many keys were new.
   */
  insertMissing(keys: Uint8Array, count: number, out: Uint32Array): number {
    const src = this.wordsOf(keys, count, out);
    const w = this.words;
    const arena = this.arena;
    const chunks = arena.chunks;
    const home = this.home;
    let { slots, capacity } = this;
    let added = 0;
    for (let k = 0, base = 0; k < count; k++, base += w) {
      const g = k & (GROUP - 1);
      if (g === 0) this.touch(src, base, Math.min(GROUP, count - k));
      const h = home[2 * g];
      let j = home[2 * g + 1];
      for (;;) {
        const stored = slots[2 * j + 1];
        if (stored === 0) {
          if (arena.count >= this.limit) {
            this.rehash(Math.max(capacityFor(arena.count + 1), Math.ceil(capacity * GROWTH)));
            ({ slots, capacity } = this);
            for (let i = g; i < GROUP; i++) home[2 * i + 1] = slotOf(home[2 * i], capacity);
            j = home[2 * g + 1];
            continue;
          }
          const id = arena.append(src, base);
          slots[2 * j] = h;
          slots[2 * j + 1] = id + 1;
          out[k] = id;
          added++;
          break;
        }
        if (slots[2 * j] === h && sameKey(chunks, stored - 1, w, src, base)) {
          out[k] = stored - 1;
          break;
        }
        if (++j === capacity) j = 0;
      }
    }
    return added;
  }

  /**
   * Computes the hash and home slot of the next `n` keys and loads each home
   * slot once: the loads are independent, so their cache misses overlap,
   * and the probing loop then finds the lines in cache.
   */
  private touch(src: Uint32Array, base: number, n: number): void {
    const { slots, capacity, home, words: w } = this;
    let sink = 0;
    for (let g = 0; g < n; g++, base += w) {
      const h = hashOf(src[base], src[base + 1]);
      const j = slotOf(h, capacity);
      home[2 * g] = h;
      home[2 * g + 1] = j;
      sink |= slots[2 * j + 1];
    }
    this.sink = sink;
  }

  /** Moves every entry into `capacity` fresh slots; entries are distinct, so no comparisons. */
  private rehash(capacity: number): void {
    if (capacity > MAX_CAPACITY) throw new RangeError(`identity table cannot grow past ${MAX_CAPACITY} slots`);
    const slots = new Uint32Array(capacity * 2);
    const old = this.slots;
    for (let i = 0; i < old.length; i += 2) {
      const stored = old[i + 1];
      if (stored !== 0) place(slots, capacity, old[i], stored);
    }
    this.install(slots, capacity);
  }

  /** Builds the slots from the arena alone (after a reload). */
  private reindex(): void {
    const slots = new Uint32Array(this.capacity * 2);
    const w = this.words;
    const chunks = this.arena.chunks;
    for (let id = 0, n = this.arena.count; id < n; id++) {
      const chunk = chunks[id >>> CHUNK_SHIFT];
      const o = (id & CHUNK_MASK) * w;
      place(slots, this.capacity, hashOf(chunk[o], chunk[o + 1]), id + 1);
    }
    this.install(slots, this.capacity);
  }

  private install(slots: Uint32Array, capacity: number): void {
    this.slots = slots;
    this.capacity = capacity;
    this.limit = Math.floor(capacity * MAX_LOAD);
  }

  /** The batch as words: a view when 4-byte aligned, else a copy into a reused buffer. */
  private wordsOf(keys: Uint8Array, count: number, out: Uint32Array): Uint32Array {
    const bytes = count * this.width;
    if (!Number.isInteger(count) || count < 0 || keys.length < bytes) {
      throw new RangeError(`${count} keys of ${this.width} bytes need ${bytes} bytes, got ${keys.length}`);
    }
    if (out.length < count) throw new RangeError(`out holds ${out.length} ids, ${count} needed`);
    const n = count * this.words;
    if ((keys.byteOffset & 3) === 0) return new Uint32Array(keys.buffer, keys.byteOffset, n);
    if (this.scratch.length < n) this.scratch = new Uint32Array(n);
    new Uint8Array(this.scratch.buffer).set(keys.subarray(0, bytes));
    return this.scratch;
  }
}

/** Slots for `keys` keys at the maximum load. */
function capacityFor(keys: number): number {
  return Math.max(MIN_CAPACITY, Math.ceil(keys / MAX_LOAD) + 1);
}

/**
 * A key's 32-bit hash from its first two words: a murmur3-style finalizer
 * over both (digests need no more; it keeps structured keys from clustering).
 */
function hashOf(w0: number, w1: number): number {
  let h = Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Lemire's multiply-shift: the hash scaled onto [0, capacity), monotone in the hash. */
function slotOf(h: number, capacity: number): number {
  return (h * capacity) / TWO_32 >>> 0;
}

/** Linear probing from the home slot to the first empty one. */
function place(slots: Uint32Array, capacity: number, h: number, stored: number): void {
  let j = slotOf(h, capacity);
  while (slots[2 * j + 1] !== 0) if (++j === capacity) j = 0;
  slots[2 * j] = h;
  slots[2 * j + 1] = stored;
}

function sameKey(chunks: Uint32Array[], id: number, w: number, src: Uint32Array, base: number): boolean {
  const chunk = chunks[id >>> CHUNK_SHIFT];
  const o = (id & CHUNK_MASK) * w;
  for (let i = 0; i < w; i++) if (chunk[o + i] !== src[base + i]) return false;
  return true;
}
