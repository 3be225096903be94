// The project's native addon (native/*.cc, built by node-gyp during `npm ci`
// like better-sqlite3): the identity dictionary's hash index, the ingest line
// kernels and the id sort. It is a hard dependency: there is no JavaScript
// stand-in that could quietly behave differently, so a missing build fails
// here, at load, with the command that makes it.
import { createRequire } from 'node:module';

/** The hash index of one KeyTable; keys live in the JavaScript arena's chunks, registered with addChunk. */
export interface NativeKeyIndex {
  addChunk(chunk: Uint32Array): void;
  size(): number;
  slotBytes(): number;
  reserve(keys: number): void;
  reindex(count: number): void;
  lookupMany(keys: Uint8Array, count: number, out: Uint32Array): number;
  /** Returns `count`, or the index of the first key that found no room in the registered chunks. */
  insertMissing(keys: Uint8Array, count: number, out: Uint32Array, from: number): number;
}

/** A line kernel (native/line_kernel.cc); the in/out fields are in `state` (see KERNEL_STATE). */
export interface NativeLineKernel {
  run(buf: Uint8Array, end: number): void;
  one(buf: Uint8Array, start: number, end: number): boolean;
  finish(count: number): void;
  /** Phone: digests of the current batch on a helper thread; returns the set of streams they go to. */
  finishAsync(count: number): number;
  wait(): void;
}

export const KERNEL_HEX = 0;
export const KERNEL_PHONE = 1;

/** Fields of a kernel's state array (native/line_kernel.h StateField). */
export const KERNEL_STATE = { pos: 0, line: 1, batchCount: 2, kernelCount: 3, blanks: 4, maxLineBytes: 5, length: 8 } as const;

interface Addon {
  KeyIndex: new (width: number, expectedKeys: number) => NativeKeyIndex;
  LineKernel: new (
    kind: number,
    hexLength: number,
    capacity: number,
    lineNumbers: Float64Array,
    starts: Int32Array,
    ends: Int32Array,
    kinds: Uint8Array,
    streams: Uint8Array[],
    state: Float64Array,
  ) => NativeLineKernel;
  radixSort(data: Uint32Array, scratch: Uint32Array): void;
  /**
   * resolve.ts's line pass over lines [from, to) of identity groups (native/resolve_lines.cc);
   * returns the line it stopped at (`to` when done). out: matched, added, unmatched, conflicts, added to.
   */
  resolveLines(
    ids: Uint32Array[],
    chunks: Uint32Array[][],
    users: Uint32Array,
    from: number,
    to: number,
    open: boolean,
    allocate: boolean,
    base: number,
    out: Float64Array,
  ): number;
  /** Drops repeats from a sorted array in place; returns the distinct count. */
  dedupeSorted(data: Uint32Array): number;
  /** Faults the array's pages in on libuv's pool, without changing its contents. */
  populateLater(array: Uint32Array): void;
}

function load(): Addon {
  const require = createRequire(import.meta.url);
  // src/infra/native.ts and dist/infra/native.js are both two levels below the package root.
  const path = '../../build/Release/audiencehub_native.node';
  try {
    return require(path) as Addon;
  } catch (e) {
    throw new Error(`the audiencehub native addon is not built (${(e as Error).message}); run \`npm ci\` or \`npx node-gyp rebuild\` in the package folder`);
  }
}

export const addon: Addon = load();

/**
 * Zero-filled chunks of one size, each allocated one ahead and its pages
 * faulted in on libuv's pool (populateLater) while the current one fills:
 * first touch of a fresh page is the dear part of growing a big structure on
 * the CI VMs. The look-ahead starts with the second chunk, so small
 * structures hold no more than they did.
 */
export class ChunkSupply {
  private ahead: Uint32Array<ArrayBuffer> | undefined;
  private handed = 0;

  constructor(private readonly length: number) {}

  next(): Uint32Array<ArrayBuffer> {
    const chunk = this.ahead ?? new Uint32Array(this.length);
    this.ahead = undefined;
    if (++this.handed >= 2) {
      this.ahead = new Uint32Array(this.length);
      addon.populateLater(this.ahead);
    }
    return chunk;
  }
}
