// One id per line: trim spaces and tabs, skip blank lines, batch the rest.
import type { LineBatch } from './batch.js';
import type { LineSink } from './lines.js';
import type { ScanReport } from './report.js';

const SPACE = 0x20;
const TAB = 0x09;

export class PlainLines implements LineSink {
  constructor(
    private readonly batch: LineBatch,
    private readonly report: ScanReport,
  ) {}

  full(): boolean {
    return this.batch.count >= this.batch.capacity;
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
    this.batch.pushRange(buf, s, e, line);
  }

  invalid(line: number, reason: string): void {
    this.report.reject(line, reason);
  }
}

export function isBlankChar(c: number): boolean {
  return c === SPACE || c === TAB;
}
