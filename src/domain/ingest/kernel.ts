// Line kernels: the per-line work of the commonest audience files done
// natively over whole regions of a file (native/line_kernel.cc), so that a
// 30 M-line file costs a few native calls per batch instead of several
// JavaScript calls per line.
//
// - 'hex': a plain file of a hashed type (gaid_md5, phone_sha256, ...): each
//   line of exactly the type's hex length is decoded into one key stream.
// - 'phone': a plain file of raw mainland mobile numbers in any accepted
//   spelling: the 11 digits are taken during the scan and their MD5, SHA-256
//   and "+86" SHA-256 (the registry's three forms, in its order) are
//   computed per batch: finishAsync() on a helper thread while the ingest
//   resolves the batch before (two sets of streams), or finish() on two
//   threads.
//
// A kernel takes only lines whose keys it computes exactly as the registry
// does; every other line stays an ordinary range in the batch and goes
// through normalizeInto, which decides it and words any refusal. So what a
// file yields (keys, counts, samples) is the same with or without a kernel.
import { addon, KERNEL_HEX, KERNEL_PHONE, KERNEL_STATE, type NativeLineKernel } from '../../infra/native.js';
import type { KeyWidth } from '../../infra/identities/index.js';
import type { HashedTypeName, IdTypeEntry } from '../identities/index.js';
import type { LineBatch } from './batch.js';

export interface KernelStream {
  readonly type: HashedTypeName;
  readonly width: KeyWidth;
  /** Key j of the batch's kernel lines at [j * width, (j + 1) * width). */
  readonly keys: Uint8Array;
}

export class LineKernel {
  /** The key streams per set of buffers; a phone kernel has two (finishAsync), a hex one one. */
  private readonly sets: KernelStream[][];
  private current = 0;
  private readonly state = new Float64Array(KERNEL_STATE.length);
  private native: NativeLineKernel | undefined;

  private constructor(
    private readonly kind: number,
    private readonly hexLength: number,
    outputs: ReadonlyArray<{ type: HashedTypeName; width: KeyWidth }>,
    readonly capacity: number,
  ) {
    const sets = kind === KERNEL_PHONE ? 2 : 1;
    this.sets = Array.from({ length: sets }, () => outputs.map((o) => ({ ...o, keys: new Uint8Array(capacity * o.width) })));
  }

  /** The streams the current batch's kernel lines are written to. */
  get streams(): KernelStream[] {
    return this.sets[this.current];
  }

  /** True when finishAsync can take the batch's remaining work off this thread. */
  get deferrable(): boolean {
    return this.sets.length > 1;
  }

  /** The kernel for plain files of this type, if there is one. */
  static for(entry: IdTypeEntry, capacity: number): LineKernel | undefined {
    if (entry.kind === 'hashed') {
      // Derived forms (MD5 → MD5-then-SHA-256) are the registry's work.
      if (entry.links.length > 0) return undefined;
      // The type's first length; lines of another accepted length (salted ids) take the registry path.
      const hexLength = entry.hexLengths[0];
      return new LineKernel(KERNEL_HEX, hexLength, [{ type: entry.name, width: (hexLength >> 1) as KeyWidth }], capacity);
    }
    if (entry.name === 'phone') {
      const forms = entry.links.map((l) => l.type);
      // The kernel writes MD5, SHA-256, SHA-256 of "+86" and the digits: it must be the registry's list.
      if (forms.join() !== 'phone_md5,phone_sha256,phone_e164_sha256') throw new Error(`phone kernel out of step with the registry: ${forms.join()}`);
      return new LineKernel(
        KERNEL_PHONE,
        0,
        [
          { type: 'phone_md5', width: 16 },
          { type: 'phone_sha256', width: 32 },
          { type: 'phone_e164_sha256', width: 32 },
        ],
        capacity,
      );
    }
    return undefined;
  }

  /** Binds the kernel to the scanner's batch (whose arrays it writes); once, before the scan. */
  attach(batch: LineBatch, maxLineBytes: number): void {
    if (batch.output !== 'bytes' || batch.capacity > this.capacity) throw new RangeError('a line kernel needs a byte-output batch no larger than its capacity');
    this.state[KERNEL_STATE.maxLineBytes] = maxLineBytes;
    this.native = new addon.LineKernel(
      this.kind,
      this.hexLength,
      batch.capacity,
      batch.lineNumbers,
      batch.starts,
      batch.ends,
      batch.kinds,
      this.sets.flat().map((s) => s.keys),
      this.state,
    );
  }

  /** Kernel lines in the current batch. */
  get count(): number {
    return this.state[KERNEL_STATE.kernelCount];
  }

  /**
   * Takes whole lines of buf[start, end) (a clean region: whole lines, no
   * NUL, valid UTF-8), numbered from `line`, into the batch until the region
   * ends, the batch is full or a line the kernel does not take. Returns
   * where it stopped, the next line number and the blank lines it skipped.
   */
  bulk(buf: Buffer, start: number, end: number, line: number, batch: LineBatch): { pos: number; line: number; blanks: number } {
    const st = this.state;
    const from = batch.count;
    st[KERNEL_STATE.pos] = start;
    st[KERNEL_STATE.line] = line;
    st[KERNEL_STATE.batchCount] = from;
    st[KERNEL_STATE.blanks] = 0;
    this.native!.run(buf, end);
    const to = st[KERNEL_STATE.batchCount];
    if (to > from) batch.pushedByKernel(buf, from, to);
    return { pos: st[KERNEL_STATE.pos], line: st[KERNEL_STATE.line], blanks: st[KERNEL_STATE.blanks] };
  }

  /** One line, cut and trimmed (buf[start, end)); true when the kernel took it as its next line. */
  one(buf: Buffer, start: number, end: number): boolean {
    return this.native!.one(buf, start, end);
  }

  /** Completes the batch's keys (the phone digests); call once per batch before reading the streams. */
  finish(): void {
    const n = this.count;
    if (n > 0) this.native!.finish(n);
  }

  /**
   * Starts completing the current batch's keys on a helper thread and moves
   * the kernel to its other buffers, so that the next batch can be scanned
   * (and an earlier one resolved) meanwhile. Returns the streams the keys
   * will be in once wait() returns. The kernel line count is reset here.
   */
  finishAsync(): KernelStream[] {
    const set = this.native!.finishAsync(this.count);
    this.current = set ^ 1;
    this.state[KERNEL_STATE.kernelCount] = 0;
    return this.sets[set];
  }

  /** Waits for the keys finishAsync started. */
  wait(): void {
    this.native!.wait();
  }

  /** The batch was consumed. */
  reset(): void {
    this.state[KERNEL_STATE.kernelCount] = 0;
  }
}
