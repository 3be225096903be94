// CSV records on top of the line splitter (RFC 4180: https://www.rfc-editor.org/rfc/rfc4180):
// fields split by the delimiter, a field in double quotes may hold the
// delimiter, doubled quotes and line breaks. Only the id column is kept.
//
// Decisions:
// - Line numbers stay physical: a record is numbered by the line it starts on,
//   and ScanReport.lines counts lines, not records.
// - A line break inside quotes is read as "\n" (the CR of a CRLF is dropped
//   with the line end), and the record's limit is the line limit, so an
//   unclosed quote costs at most that many bytes before the record is refused
//   and reading resumes at the next line.
// - Spaces and tabs around a field (and around its quotes) are trimmed; a
//   quote inside an unquoted field is kept as text; text between a closing
//   quote and the next delimiter makes the row invalid.
// - A blank line outside quotes is a blank line; a row whose id field is
//   empty is invalid.
// - header 'auto': a named column means a header (the first row must name it);
//   with a column index, the first row is a header when its id field is not an
//   id by `isId` (default: it has no digit; a header such as "imei" or
//   "device_id" has none, while an id almost always does, an MD5 with no digit
//   being a 1-in-4·10^13 chance).
import { err } from '../../errors.js';
import type { LineBatch } from './batch.js';
import type { LineSink } from './lines.js';
import { isBlankChar } from './plain.js';
import type { ScanReport } from './report.js';

export interface CsvOptions {
  header: boolean | 'auto';
  /** Header name (case-insensitive, trimmed) or 0-based index. */
  column: string | number;
  delimiter?: ',' | '\t' | ';';
  /** For header 'auto' with a column index: is this first-row field an id? */
  isId?: (value: string) => boolean;
}

const QUOTE = 0x22;
const OPEN = -1;
const MALFORMED = -2;

export const csvReasons = {
  tooFew: (fields: number, column: string) => `the row has ${fields} field${fields === 1 ? '' : 's'}, too few for the id column ${column}`,
  emptyId: (column: string) => `the id field (column ${column}) is empty`,
  malformed: 'a quoted field is followed by text before the next delimiter',
  recordTooLong: (max: number) => `the record is longer than ${max} bytes (an unclosed quote?)`,
  unclosed: 'the file ends inside a quoted field (an unclosed quote)',
};

const hasDigit = (v: string) => /[0-9]/.test(v);

export class CsvRecords implements LineSink {
  private readonly delim: number;
  private column = -1;
  private headerPending: boolean;
  private pending: string | null = null;
  private pendingLine = 0;
  private quoteTextId = -1;
  private quoteAt = 0;
  private readonly fields: string[] = [];

  constructor(
    private readonly options: CsvOptions,
    private readonly batch: LineBatch,
    private readonly report: ScanReport,
    private readonly maxBytes: number,
  ) {
    this.delim = (options.delimiter ?? ',').charCodeAt(0);
    this.headerPending = options.header !== false;
    if (typeof options.column === 'number') {
      if (!Number.isInteger(options.column) || options.column < 0) throw err('InvalidParameter', `the CSV column index must be an integer from 0; got ${options.column}`, 'column');
      this.column = options.column;
    } else if (options.header === false) {
      throw err('InvalidParameter', `the CSV column "${options.column}" is a name, which needs a header row; pass header: true or 'auto', or a 0-based column index`, 'column');
    }
  }

  private get columnName(): string {
    return typeof this.options.column === 'number' ? `#${this.options.column}` : `"${this.options.column}"`;
  }

  full(): boolean {
    return this.batch.full;
  }

  range(): void {
    throw new Error('CSV reads text');
  }

  invalid(line: number, reason: string): void {
    if (this.pending === null) return this.report.reject(line, reason);
    // A broken line inside an open quote breaks its record: one rejection, at the record's line; resume at the next line.
    this.pending = null;
    this.report.reject(this.pendingLine, `${reason} (line ${line}, inside a quoted field)`);
  }

  text(text: string, s: number, e: number, line: number, textId: number): void {
    if (this.pending !== null) {
      const joined = `${this.pending}\n${text.slice(s, e)}`;
      if (Buffer.byteLength(joined) > this.maxBytes) {
        this.pending = null;
        this.report.reject(this.pendingLine, csvReasons.recordTooLong(this.maxBytes));
        return;
      }
      this.pending = null;
      this.record(joined, 0, joined.length, this.pendingLine, -1);
      return;
    }
    let b = s;
    while (b < e && isBlankChar(text.charCodeAt(b))) b++;
    if (b === e) {
      this.report.blankLines++;
      return;
    }
    this.record(text, s, e, line, textId);
  }

  /** The input has ended. */
  end(): void {
    if (this.pending !== null) this.report.reject(this.pendingLine, csvReasons.unclosed);
    this.pending = null;
  }

  private record(text: string, s: number, e: number, line: number, textId: number): void {
    if (!this.headerPending && !this.hasQuote(text, s, e, textId)) return this.plainRow(text, s, e, line);
    const n = parseFields(text, s, e, this.delim, this.fields);
    if (n === OPEN) {
      this.pending = text.slice(s, e);
      this.pendingLine = line;
      return;
    }
    if (n === MALFORMED) return this.report.reject(line, csvReasons.malformed);
    if (this.headerPending) {
      this.headerPending = false;
      if (this.takeHeader()) return;
    }
    if (this.fields.length <= this.column) return this.report.reject(line, csvReasons.tooFew(n, this.columnName));
    this.push(this.fields[this.column], line);
  }

  /** The common row: no quote, so fields are what lies between delimiters. */
  private plainRow(text: string, s: number, e: number, line: number): void {
    const d = this.delim;
    const k = this.column;
    let start = s;
    let index = 0;
    for (let i = s; i < e; i++) {
      if (text.charCodeAt(i) !== d) continue;
      if (index === k) return this.push(trimmed(text, start, i), line);
      index++;
      start = i + 1;
    }
    if (index === k) return this.push(trimmed(text, start, e), line);
    this.report.reject(line, csvReasons.tooFew(index + 1, this.columnName));
  }

  private push(value: string, line: number): void {
    if (value.length === 0) return this.report.reject(line, csvReasons.emptyId(this.columnName));
    this.batch.pushText(value, line);
  }

  /** Whether the first row (now in `fields`) is the header; resolves a named column. */
  private takeHeader(): boolean {
    const { header, column, isId = hasDigit } = this.options;
    if (header === 'auto' && typeof column === 'number') {
      const value = this.fields[column];
      if (value === undefined || isId(value)) return false;
    }
    const names = this.fields.slice();
    if (names.length > 0 && names[0].charCodeAt(0) === 0xfeff) names[0] = names[0].slice(1);
    this.report.header = names;
    if (typeof column === 'string') {
      const wanted = column.trim().toLowerCase();
      this.column = names.findIndex((n) => n.trim().toLowerCase() === wanted);
      if (this.column === -1) {
        throw err('InvalidParameter', `the CSV header has no column "${column}"; its columns are: ${names.map((n) => JSON.stringify(n)).join(', ')}`, 'column');
      }
    }
    return true;
  }

  /** Whether text[s, e) holds a quote; the next quote's position is cached per string, so a region is searched once. */
  private hasQuote(text: string, s: number, e: number, textId: number): boolean {
    if (textId < 0 || textId !== this.quoteTextId || (this.quoteAt !== -1 && this.quoteAt < s)) {
      this.quoteAt = text.indexOf('"', s);
      this.quoteTextId = textId;
    }
    return this.quoteAt !== -1 && this.quoteAt < e;
  }
}

function trimmed(text: string, s: number, e: number): string {
  while (s < e && isBlankChar(text.charCodeAt(s))) s++;
  while (e > s && isBlankChar(text.charCodeAt(e - 1))) e--;
  return text.slice(s, e);
}

/**
 * Splits the record text[s, e) into `out`. Returns the number of fields,
 * OPEN when a quoted field runs past e, or MALFORMED.
 */
function parseFields(text: string, s: number, e: number, delim: number, out: string[]): number {
  out.length = 0;
  let i = s;
  for (;;) {
    let j = i;
    while (j < e && isBlankChar(text.charCodeAt(j))) j++;
    if (j < e && text.charCodeAt(j) === QUOTE) {
      let value = '';
      let from = j + 1;
      let k = from;
      for (;;) {
        const q = text.indexOf('"', k);
        if (q === -1 || q >= e) return OPEN;
        if (q + 1 < e && text.charCodeAt(q + 1) === QUOTE) {
          value += text.slice(from, q + 1);
          k = from = q + 2;
          continue;
        }
        value += text.slice(from, q);
        k = q + 1;
        break;
      }
      while (k < e && isBlankChar(text.charCodeAt(k))) k++;
      out.push(value);
      if (k === e) return out.length;
      if (text.charCodeAt(k) !== delim) return MALFORMED;
      i = k + 1;
      continue;
    }
    let k = j;
    while (k < e && text.charCodeAt(k) !== delim) k++;
    out.push(trimmed(text, j, k));
    if (k === e) return out.length;
    i = k + 1;
  }
}
