// The keys of one (type, width) of a batch, with the line of each: what a
// batch of lines becomes before its one dictionary call (a TypeKeys). Shared
// by the ingest loop (ingest-file.ts) and the lookup of ids given in a
// request (audiences/ids.ts).
//
// A line gives a group at most one key (a line's keys are of distinct types,
// and a group is one type), and lines are numbered in order, so a group's
// lines ascend strictly. Hence when its last key is on line count - 1, key k
// is on line k: the line list is then left out of the request, the
// dictionary's faster form of the same thing (typeKeys()).
import type { KeyWidth, TypeKeys } from '../../infra/identities/index.js';
import type { HashedTypeName } from '../identities/index.js';

export class KeyGroup {
  count = 0;
  keys: Uint8Array;
  lines: Uint32Array;

  constructor(
    readonly type: HashedTypeName,
    readonly width: KeyWidth,
    capacity: number,
  ) {
    this.keys = new Uint8Array(capacity * width);
    this.lines = new Uint32Array(capacity);
  }

  /** Room for one more key; returns the byte offset it goes to in `keys` (the caller writes it, then calls push). */
  slot(): number {
    if (this.count === this.lines.length) this.grow(this.count + 1);
    return this.count * this.width;
  }

  /** The key written at slot() is on `line`. */
  push(line: number): void {
    this.lines[this.count++] = line;
  }

  /** A key copied from src at byte `offset`, on `line`. */
  add(src: Uint8Array, offset: number, line: number): void {
    const at = this.slot();
    const keys = this.keys;
    for (let i = 0; i < this.width; i++) keys[at + i] = src[offset + i];
    this.push(line);
  }

  /** n keys from src at byte `from`, on lines first, first + 1, ... */
  appendRun(src: Uint8Array, from: number, n: number, first: number): void {
    if (this.count + n > this.lines.length) this.grow(this.count + n);
    const w = this.width;
    this.keys.set(src.subarray(from, from + n * w), this.count * w);
    for (let i = 0; i < n; i++) this.lines[this.count + i] = first + i;
    this.count += n;
  }

  /** The group as the dictionary takes it; the lines only when key k is not on line k. */
  typeKeys(): TypeKeys {
    const { type, width, keys, count } = this;
    return count === 0 || this.lines[count - 1] === count - 1 ? { type, width, keys, count } : { type, width, keys, count, lines: this.lines };
  }

  private grow(keys: number): void {
    let n = Math.max(16, this.lines.length * 2);
    while (n < keys) n *= 2;
    const bytes = new Uint8Array(n * this.width);
    bytes.set(this.keys.subarray(0, this.count * this.width));
    const lines = new Uint32Array(n);
    lines.set(this.lines.subarray(0, this.count));
    this.keys = bytes;
    this.lines = lines;
  }
}
