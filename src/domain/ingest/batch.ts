// The unit the scanner hands to the ingest job: up to `capacity` lines with
// their 1-based line numbers, reused from one callback to the next.
//
// Text output (the default) fills `text`; byte output fills `sources`,
// `starts` and `ends` (a line is sources[i][starts[i], ends[i])), which
// references the source's chunks without copying them: a source must yield a
// fresh Buffer per chunk (fs and zlib streams do) and the ranges are valid only
// until the callback returns.
//
// With a line kernel (kernel.ts), byte output also marks the lines the kernel
// took (kinds[i] = 1): their keys are in the kernel's streams, in line order.
// Their starts and ends are filled in like any other line's; their source is
// kept once per run of lines (sources[i] is set for ranges only), which
// spares two writes per line of the commonest files.

export type LineOutput = 'text' | 'bytes';

export class LineBatch {
  count = 0;
  /** Float64: a 5 GB file can hold more than 2^32 lines when most are blank. */
  readonly lineNumbers: Float64Array;
  readonly text: string[];
  readonly sources: Buffer[];
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Byte output: 1 for a line a kernel took, 0 for one left as a range. */
  readonly kinds: Uint8Array;

  constructor(
    readonly capacity: number,
    readonly output: LineOutput = 'text',
  ) {
    this.lineNumbers = new Float64Array(capacity);
    const bytes = output === 'bytes';
    this.text = bytes ? [] : new Array<string>(capacity);
    this.sources = bytes ? new Array<Buffer>(capacity) : [];
    this.starts = new Int32Array(bytes ? capacity : 0);
    this.ends = new Int32Array(bytes ? capacity : 0);
    this.kinds = new Uint8Array(bytes ? capacity : 0);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Kernel lines [from, to) and their source, in order. */
  private readonly kernelRuns: Array<{ from: number; to: number; source: Buffer }> = [];
  /** Lines with a source of their own in this batch (pushRange). */
  private ranges = 0;

  /** Line i as a string, whichever the output. */
  line(i: number): string {
    return this.output === 'text' ? this.text[i] : this.sourceOf(i).toString('utf8', this.starts[i], this.ends[i]);
  }

  /** The buffer line i is a range of (byte output). */
  sourceOf(i: number): Buffer {
    const s = this.sources[i];
    if (s !== undefined || this.kinds[i] !== 1) return s;
    for (const r of this.kernelRuns) if (i >= r.from && i < r.to) return r.source;
    throw new RangeError(`no line ${i} in the batch`);
  }

  /** @internal */ pushText(text: string, line: number): void {
    this.lineNumbers[this.count] = line;
    this.text[this.count++] = text;
  }

  /** @internal */ pushRange(source: Buffer, start: number, end: number, line: number): void {
    const i = this.count++;
    this.lineNumbers[i] = line;
    this.ranges++;
    this.sources[i] = source;
    this.starts[i] = start;
    this.ends[i] = end;
    this.kinds[i] = 0;
  }

  /** @internal A kernel line: as pushRange, marked as taken. */
  pushKernelLine(source: Buffer, start: number, end: number, line: number): void {
    this.pushRange(source, start, end, line);
    this.kinds[this.count - 1] = 1;
  }

  /** @internal Lines [from, to) were written by a kernel straight into the arrays; all from `source`. */
  pushedByKernel(source: Buffer, from: number, to: number): void {
    this.kernelRuns.push({ from, to, source });
    this.count = to;
  }

  /** @internal */ clear(): void {
    // Drop the references so a delivered batch does not pin old chunks.
    if (this.output === 'bytes') {
      // Only ranges set their source; runs of kernel lines left theirs undefined.
      const sources = this.sources;
      if (this.ranges > 0) for (let i = 0; i < this.count; i++) if (sources[i] !== undefined) sources[i] = undefined as unknown as Buffer;
      this.ranges = 0;
      this.kernelRuns.length = 0;
    }
    this.count = 0;
  }
}
