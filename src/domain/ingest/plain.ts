// One id per line: trim spaces and tabs, skip blank lines, batch the rest.
// With a line kernel, whole clean regions go to the kernel first (bulk) and
// every single line is offered to it (range); what it does not take is
// batched as an ordinary range.
import type { LineBatch } from './batch.js';
import type { LineKernel } from './kernel.js';
import type { LineSink } from './lines.js';
import type { ScanReport } from './report.js';

const SPACE = 0x20;
const TAB = 0x09;

export class PlainLines implements LineSink {
  constructor(
    private readonly batch: LineBatch,
    private readonly report: ScanReport,
    private readonly kernel?: LineKernel,
  ) {
    if (kernel === undefined) this.bulk = undefined;
  }

  full(): boolean {
    return this.batch.full;
  }

  text(text: string, s: number, e: number, line: number): void {
    let c: number;
    while (s < e && ((c = text.charCodeAt(s)) === SPACE || c === TAB)) s++;
    while (e > s && ((c = text.charCodeAt(e - 1)) === SPACE || c === TAB)) e--;
    if (s === e) {
      this.report.blankLines++;
      return;
    }
    this.batch.pushText(s === 0 && e === text.length ? text : text.slice(s, e), line);
  }

  range(buf: Buffer, s: number, e: number, line: number): void {
    let c: number;
    while (s < e && ((c = buf[s]) === SPACE || c === TAB)) s++;
    while (e > s && ((c = buf[e - 1]) === SPACE || c === TAB)) e--;
    if (s === e) {
      this.report.blankLines++;
      return;
    }
    if (this.kernel !== undefined && this.kernel.one(buf, s, e)) this.batch.pushKernelLine(buf, s, e, line);
    else this.batch.pushRange(buf, s, e, line);
  }

  /** See LineSink.bulk; present only with a kernel. */
  bulk?(buf: Buffer, start: number, end: number, line: number): { pos: number; line: number } {
    const r = this.kernel!.bulk(buf, start, end, line, this.batch);
    this.report.blankLines += r.blanks;
    return r;
  }

  invalid(line: number, reason: string): void {
    this.report.reject(line, reason);
  }
}

export function isBlankChar(c: number): boolean {
  return c === SPACE || c === TAB;
}
