// Splits a stream of chunks into physical lines, the hot loop of ingest.
//
// A chunk is worked in regions: everything up to its last LF holds whole
// lines and is checked once, natively (no NUL: indexOf; UTF-8: isUtf8;
// ASCII: isAscii), which is ~1 GB/s-class work. A clean region in text
// output is decoded to one string and cut with String#indexOf and slice
// (V8 makes a slice a view of the region string), which measured 27 M lines/s
// against 14-16 M for one Buffer#toString per line. A region with a NUL or
// bad UTF-8 somewhere falls back to checking each line on its own, so only
// the bad lines are refused. The bytes after the last LF wait in `carry`
// (copied, bounded by the line limit) for the next chunk; a line that grows
// past the limit is refused as soon as that is known and then skipped to its
// LF without being kept.
import { isAscii, isUtf8 } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;

/** Receives each physical line, its CR of a CRLF and the file's BOM removed, checked for length, NUL and UTF-8. */
export interface LineSink {
  /** The line is text[start, end). `textId` changes whenever `text` is a different string. */
  text(text: string, start: number, end: number, line: number, textId: number): void;
  /** Byte output: the line is buf[start, end). */
  range(buf: Buffer, start: number, end: number, line: number): void;
  invalid(line: number, reason: string): void;
  /** True when the batch is full and must be delivered before more lines. */
  full(): boolean;
  /**
   * Byte output, optional: takes as many whole lines of buf[start, end) as
   * it can (a region that is free of NUL and valid UTF-8, every line ending
   * in LF, line numbers from `line` > 1) and returns where it stopped and
   * the next line number. It stops at a line it leaves to range(), at a full
   * batch, or at the end.
   */
  bulk?(buf: Buffer, start: number, end: number, line: number): { pos: number; line: number };
}

export const reasons = {
  tooLong: (max: number) => `the line is longer than ${max} bytes`,
  nul: 'the line contains a NUL byte (binary data, not text)',
  encoding: 'mixed encodings: the line is not valid UTF-8',
};

const EMPTY: Buffer = Buffer.alloc(0);

export class LineSplitter {
  /** The number the next line will get; lines seen so far = line - 1. */
  line = 1;
  private buf = EMPTY;
  private pos = 0;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private skipping = false;
  // The region being worked: [pos, regionEnd) of buf, or a decoded string.
  private regionEnd = 0;
  private regionClean = false;
  private region: string | null = null;
  private regionAscii = false;
  private regionPos = 0;
  private textId = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLineBytes: number,
    private readonly bytes: boolean,
  ) {}

  /** Lines counted so far, the one being read included. */
  get lines(): number {
    return this.line - 1 + (this.carryBytes > 0 || this.skipping ? 1 : 0);
  }

  feed(chunk: Buffer): void {
    this.buf = chunk;
    this.pos = 0;
    this.regionEnd = 0;
    this.region = null;
  }

  /** Works the current chunk; true when it stopped because the batch is full. */
  run(): boolean {
    for (;;) {
      if (this.region !== null) {
        if (this.runText()) return true;
      } else if (this.pos < this.regionEnd) {
        if (this.runBytes()) return true;
      } else if (this.pos >= this.buf.length) {
        return false;
      } else if (this.carryBytes > 0 || this.skipping) {
        this.finishCarried();
        if (this.sink.full()) return true;
      } else {
        this.startRegion();
      }
    }
  }

  /** The input has ended: the last line may have no LF. */
  end(): void {
    if (this.skipping) {
      this.skipping = false;
      this.line++;
    } else if (this.carryBytes > 0) {
      const joined = this.takeCarry();
      this.bytesLine(joined, 0, joined.length, false);
    }
    this.buf = EMPTY;
  }

  private startRegion(): void {
    const buf = this.buf;
    const last = buf.lastIndexOf(LF);
    if (last < this.pos) {
      this.append(buf.subarray(this.pos));
      this.pos = buf.length;
      return;
    }
    const end = last + 1;
    const region = buf.subarray(this.pos, end);
    const clean = region.indexOf(0) === -1 && isUtf8(region);
    if (clean && !this.bytes) {
      this.regionAscii = isAscii(region);
      this.region = buf.toString(this.regionAscii ? 'latin1' : 'utf8', this.pos, end);
      this.regionPos = 0;
      this.textId++;
    }
    this.regionEnd = end;
    this.regionClean = clean;
  }

  private runText(): boolean {
    const text = this.region!;
    const n = text.length;
    const max = this.maxLineBytes;
    const sink = this.sink;
    const id = this.textId;
    let p = this.regionPos;
    while (p < n) {
      const nl = text.indexOf('\n', p);
      let e = nl;
      if (e > p && text.charCodeAt(e - 1) === CR) e--;
      const no = this.line++;
      if (no === 1 && p < e && text.charCodeAt(p) === 0xfeff) p++;
      // A UTF-16 unit is at most 3 UTF-8 bytes; count bytes only when that could exceed the limit.
      if (e - p > max || (!this.regionAscii && (e - p) * 3 > max && Buffer.byteLength(text.slice(p, e)) > max)) {
        sink.invalid(no, reasons.tooLong(max));
      } else {
        sink.text(text, p, e, no, id);
      }
      p = nl + 1;
      if (sink.full()) break;
    }
    this.regionPos = p;
    if (p >= n) {
      this.region = null;
      this.pos = this.regionEnd;
    }
    return sink.full();
  }

  private runBytes(): boolean {
    const buf = this.buf;
    const end = this.regionEnd;
    const sink = this.sink;
    let p = this.pos;
    while (p < end) {
      // Line 1 may start with a BOM, which bytesLine removes: it never goes to bulk.
      if (sink.bulk !== undefined && this.regionClean && this.line > 1) {
        const r = sink.bulk(buf, p, end, this.line);
        p = r.pos;
        this.line = r.line;
        if (p >= end || sink.full()) break;
      }
      const nl = buf.indexOf(LF, p);
      this.bytesLine(buf, p, nl, this.regionClean);
      p = nl + 1;
      if (this.sink.full()) break;
    }
    this.pos = p;
    return this.sink.full();
  }

  /** Completes the line that began in an earlier chunk. */
  private finishCarried(): void {
    const buf = this.buf;
    const nl = buf.indexOf(LF, this.pos);
    const stop = nl === -1 ? buf.length : nl;
    this.append(buf.subarray(this.pos, stop));
    this.pos = nl === -1 ? buf.length : nl + 1;
    if (nl === -1) return;
    if (this.skipping) {
      this.skipping = false;
      this.line++;
      return;
    }
    const joined = this.takeCarry();
    this.bytesLine(joined, 0, joined.length, false);
  }

  private append(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    // One byte of slack for the CR of a CRLF; the exact limit is checked on the whole line.
    if (this.carryBytes + part.length > this.maxLineBytes + 1) {
      this.sink.invalid(this.line, reasons.tooLong(this.maxLineBytes));
      this.carry = [];
      this.carryBytes = 0;
      this.skipping = true;
      return;
    }
    this.carry.push(Buffer.from(part));
    this.carryBytes += part.length;
  }

  private takeCarry(): Buffer {
    const joined = this.carry.length === 1 ? this.carry[0] : Buffer.concat(this.carry, this.carryBytes);
    this.carry = [];
    this.carryBytes = 0;
    return joined;
  }

  /** One line checked on its own: a line from carry, or from a region that failed its check, or byte output. */
  private bytesLine(buf: Buffer, s: number, e: number, checked: boolean): void {
    const no = this.line++;
    if (e > s && buf[e - 1] === CR) e--;
    if (no === 1 && e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
    if (e - s > this.maxLineBytes) return this.sink.invalid(no, reasons.tooLong(this.maxLineBytes));
    if (!checked) {
      const line = buf.subarray(s, e);
      if (line.indexOf(0) !== -1) return this.sink.invalid(no, reasons.nul);
      if (!isUtf8(line)) return this.sink.invalid(no, reasons.encoding);
    }
    if (this.bytes) this.sink.range(buf, s, e, no);
    else this.sink.text(buf.toString('utf8', s, e), 0, e - s, no, ++this.textId);
  }
}
