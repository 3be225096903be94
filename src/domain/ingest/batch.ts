// The unit the scanner hands to the ingest job: up to `capacity` lines with
// their 1-based line numbers, reused from one callback to the next.
//
// Text output (the default) fills `text`; byte output fills `sources`,
// `starts` and `ends` (a line is sources[i][starts[i], ends[i])), which
// references the source's chunks without copying them: a source must yield a
// fresh Buffer per chunk (fs and zlib streams do) and the ranges are valid only
// until the callback returns.

export type LineOutput = 'text' | 'bytes';

export class LineBatch {
  count = 0;
  /** Float64: a 5 GB file can hold more than 2^32 lines when most are blank. */
  readonly lineNumbers: Float64Array;
  readonly text: string[];
  readonly sources: Buffer[];
  readonly starts: Int32Array;
  readonly ends: Int32Array;

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
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Line i as a string, whichever the output. */
  line(i: number): string {
    return this.output === 'text' ? this.text[i] : this.sources[i].toString('utf8', this.starts[i], this.ends[i]);
  }

  /** @internal */ pushText(text: string, line: number): void {
    this.lineNumbers[this.count] = line;
    this.text[this.count++] = text;
  }

  /** @internal */ pushRange(source: Buffer, start: number, end: number, line: number): void {
    const i = this.count++;
    this.lineNumbers[i] = line;
    this.sources[i] = source;
    this.starts[i] = start;
    this.ends[i] = end;
  }

  /** @internal */ clear(): void {
    // Drop the references so a delivered batch does not pin old chunks.
    if (this.output === 'bytes') this.sources.fill(undefined as unknown as Buffer, 0, this.count);
    this.count = 0;
  }
}
