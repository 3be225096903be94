// ingestFile: one audience file of one id type → a Roaring bitmap of user ids
// (portable format) and the file's processing report. DESIGN.md's pipeline in
// one pass: decompress → split lines/CSV → validate and normalize → hash →
// dictionary → sort → bitmap. Writing the bitmap object, committing the
// dictionary and writing the metadata row are the caller's, in this order:
//
//   1. put the bitmap object (a new key; an orphan if anything later fails);
//   2. dictionary.commit(): the user ids in the bitmap are only in memory
//      until then, and a restart would hand them out again to other people;
//   3. the transaction that points the audience at the new object.
//
// The row must come after the commit; 1 and 2 may swap or run together. A
// crash between 2 and 3 leaves real keys in the dictionary that a retry then
// finds (its report says "matched" where the first try would have said
// "new"). A failure mid-file (a corrupt gzip) leaves the keys resolved so far
// in memory, and the next commit keeps them: they are real keys either way.
//
// Decisions:
// - One dictionary.resolve per scan batch (65,536 lines by default), never
//   per line; user ids collect in one growing Uint32Array and are radix
//   sorted once at the end (a bitmap from unsorted ids is ~80x slower).
// - gzip is told by its magic bytes (1f 8b), not the name, and inflated with
//   1 MiB output chunks (the 16 KiB default is 2.4x slower, DESIGN.md) and a
//   read-ahead of a few chunks, so zlib (on libuv's pool) works while this
//   thread normalizes.
// - A plain file of a hashed type with no derived forms (phone_md5,
//   gaid_md5, ...) is read as byte ranges and decoded with a two-character
//   hex table straight into the key buffer, no string per line. A line that
//   path does not accept goes to normalizeInto, which decides it and gives
//   the registry's reason, so the fast path never refuses anything itself.
// - A file with no valid line is an error (AppError InvalidParameter, the
//   report attached as IngestError.report): its field is `idType` when lines
//   were refused (the declared type does not fit the content) and `file`
//   when there was nothing but blank lines. InvalidParameter rather than a
//   new code because the fix is the caller's parameter in the common case.
import { performance } from 'node:perf_hooks';
import { AppError, err, type ErrorCode } from '../../errors.js';
import { dedupeSorted, fromSorted, radixSortU32, serialize } from '../../infra/bitmaps/index.js';
import { NO_USER, type IdentityDictionary, type KeyWidth, type Resolution, type ResolveMode, type TypeKeys } from '../../infra/identities/index.js';
import { KEY_SLOT, KeyBatch, lookupIdType, normalizeInto, type HashedTypeName, type IdTypeEntry, type IdTypeName } from '../identities/index.js';
import type { LineBatch } from './batch.js';
import type { CsvOptions } from './csv.js';
import { ScanReport, type InvalidSample } from './report.js';
import { scanLines } from './scanner.js';
import { contentOf, type SourceState } from './source.js';

export interface IngestFileInput {
  /** The object's bytes as stored (text or gzip); ObjectStore.get gives a Readable, which is one. */
  source: AsyncIterable<Buffer>;
  /** A canonical registry type (vendor names go through vendor-maps.ts first). */
  idType: string;
  /** Read the file as CSV and take the id from this column; plain lines otherwise. */
  csv?: CsvOptions;
  dictionary: IdentityDictionary;
  /** 'open' adds unknown ids as new users; 'closed' only matches known ones. */
  mode: ResolveMode;
  /** Lines per scan batch (one dictionary call each). Default 65,536. */
  batchLines?: number;
}

/** Milliseconds per stage; `scan` is reading, decompressing and splitting, the rest is measured around each step. */
export interface IngestTimings {
  scan: number;
  normalize: number;
  dictionary: number;
  sort: number;
  bitmap: number;
  total: number;
}

/** The file's processing report. validLines = userCount + duplicates + unmatched. */
export interface IngestReport {
  format: 'text' | 'gzip';
  /** Bytes read from the source (the compressed size for gzip). */
  bytes: number;
  /** Bytes after decompression. */
  contentBytes: number;
  /** Physical lines, as wc -l counts them plus a last line without LF. */
  lines: number;
  blankLines: number;
  /** Lines (CSV: records) whose id the registry accepted. */
  validLines: number;
  invalidLines: number;
  /** The first 100 refusals by line number, from the scanner and the registry alike. */
  samples: InvalidSample[];
  /** The CSV header row, when the file has one. */
  header: string[] | null;
  /** Distinct users in the bitmap: matched + newIds. */
  userCount: number;
  /** Valid lines whose user an earlier line of this file already had. */
  duplicates: number;
  /** Users of this file that were in the dictionary before it. */
  matched: number;
  /** Users this file added to the dictionary (open mode). */
  newIds: number;
  /** Valid lines without a user: none of their keys is known (closed mode). */
  unmatched: number;
  /** Lines whose keys were known under two users (the first key's user kept; see resolve.ts). */
  conflicts: number;
  timings: IngestTimings;
}

export interface IngestResult {
  /** The bitmap in the portable Roaring format. */
  bitmap: Buffer;
  userCount: number;
  report: IngestReport;
}

/** A refusal of the whole file, with what was learned reading it. */
export class IngestError extends AppError {
  constructor(
    code: ErrorCode,
    message: string,
    field: string,
    readonly report: IngestReport,
  ) {
    super(code, message, field);
  }
}

export async function ingestFile(input: IngestFileInput): Promise<IngestResult> {
  const started = performance.now();
  const entry = lookupIdType(input.idType);
  if (entry === undefined) {
    await input.source[Symbol.asyncIterator]().return?.();
    throw err('InvalidParameter', `unknown id type "${input.idType}"`, 'idType');
  }
  const fast = input.csv === undefined && entry.kind === 'hashed' && entry.links.length === 0;
  const work = new FileWork(entry, input.dictionary, input.mode, input.batchLines ?? 65_536);
  const source: SourceState = { bytes: 0, format: 'text' };
  const csv = input.csv && input.csv.header === 'auto' && input.csv.isId === undefined ? { ...input.csv, isId: registryCheck(entry.name) } : input.csv;
  const scan = await scanLines(contentOf(input.source, source), (b) => work.batch(b), {
    csv,
    batchLines: input.batchLines,
    output: fast ? 'bytes' : 'text',
  });
  const t = work.timings;
  t.scan = performance.now() - started - t.normalize - t.dictionary;
  const report = work.reportOf(scan, source);
  if (report.validLines === 0) throw noValidLine(input.idType, report, started);

  let s = performance.now();
  const ids = work.ids.subarray(0, work.idCount);
  const spare = work.ids.length - work.idCount >= ids.length ? work.ids.subarray(work.idCount, work.idCount + ids.length) : undefined;
  radixSortU32(ids, spare);
  const distinct = dedupeSorted(ids);
  t.sort = performance.now() - s;
  s = performance.now();
  const bitmap = serialize(fromSorted(distinct));
  t.bitmap = performance.now() - s;
  t.total = performance.now() - started;

  report.userCount = distinct.length;
  report.duplicates = work.idCount - distinct.length;
  report.matched = distinct.length - report.newIds;
  for (const k of Object.keys(t) as Array<keyof IngestTimings>) t[k] = Math.round(t[k] * 10) / 10;
  return { bitmap, userCount: distinct.length, report };
}

function noValidLine(idType: string, report: IngestReport, started: number): IngestError {
  report.timings.total = performance.now() - started;
  const first = report.samples[0];
  if (first === undefined) {
    return new IngestError('InvalidParameter', `the file holds no ids: ${report.lines} line${report.lines === 1 ? '' : 's'}, none with text`, 'file', report);
  }
  const message = `no line of the file is a valid ${idType}: ${report.invalidLines} of ${report.lines} lines refused (${report.blankLines} blank); line ${first.line}: ${first.reason}`;
  return new IngestError('InvalidParameter', message, 'idType', report);
}

/** For CSV header 'auto' with a column index: the first row is data when its field is a valid id of the type. */
function registryCheck(type: IdTypeName): (value: string) => boolean {
  const keys = new KeyBatch();
  return (value) => normalizeInto(type, value, keys);
}

/** The keys of one (type, width) in the current batch, with the valid-line index of each. */
class Group {
  count = 0;
  /** lines[k] === k for every key so far, so resolve needs no line list. */
  identity = true;
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

  /** Room for one more key; returns the byte offset it goes to. */
  slot(): number {
    if (this.count === this.lines.length) {
      const keys = new Uint8Array(this.keys.length * 2);
      keys.set(this.keys);
      const lines = new Uint32Array(this.lines.length * 2);
      lines.set(this.lines);
      this.keys = keys;
      this.lines = lines;
    }
    return this.count * this.width;
  }

  push(line: number): void {
    if (line !== this.count) this.identity = false;
    this.lines[this.count++] = line;
  }

  typeKeys(): TypeKeys {
    const { type, width, keys, count } = this;
    return this.identity ? { type, width, keys, count } : { type, width, keys, count, lines: this.lines };
  }
}

// Two hex characters → their byte, -1 for anything else: one load per byte.
const HEX2 = new Int16Array(65_536).fill(-1);
{
  const digits = '0123456789abcdefABCDEF';
  const value = (c: string) => parseInt(c, 16);
  for (const a of digits) for (const b of digits) HEX2[(a.charCodeAt(0) << 8) | b.charCodeAt(0)] = (value(a) << 4) | value(b);
}

/** The per-batch work and what it has counted; one per file. */
class FileWork {
  readonly timings: IngestTimings = { scan: 0, normalize: 0, dictionary: 0, sort: 0, bitmap: 0, total: 0 };
  ids = new Uint32Array(1 << 16);
  idCount = 0;
  private readonly groups: Group[] = [];
  private readonly keys = new KeyBatch();
  /** Hex lengths the fast path takes (the type's own lengths). */
  private readonly hexLength = new Uint8Array(129);
  private readonly refusals = new ScanReport();
  private valid = 0;
  private validLines = 0;
  private newIds = 0;
  private unmatched = 0;
  private conflicts = 0;

  constructor(
    private readonly entry: IdTypeEntry,
    private readonly dictionary: IdentityDictionary,
    private readonly mode: ResolveMode,
    private readonly capacity: number,
  ) {
    if (entry.kind === 'hashed') for (const n of entry.hexLengths) if (n < this.hexLength.length) this.hexLength[n] = 1;
  }

  /** Synchronous when the dictionary is (the embedded one); a promise when it is remote. */
  batch(b: LineBatch): void | Promise<void> {
    let s = performance.now();
    if (b.output === 'bytes') this.fastLines(b);
    else for (let i = 0; i < b.count; i++) this.line(b.text[i], b.lineNumbers[i]);
    this.timings.normalize += performance.now() - s;
    s = performance.now();
    const n = this.valid;
    if (n === 0) return;
    const input: TypeKeys[] = [];
    for (const g of this.groups) if (g.count > 0) input.push(g.typeKeys());
    const r = this.dictionary.resolve(input, this.mode, n);
    if (!(r instanceof Promise)) {
      this.take(r, n);
      this.timings.dictionary += performance.now() - s;
      return;
    }
    return r.then((res) => {
      this.take(res, n);
      this.timings.dictionary += performance.now() - s;
    });
  }

  /**
   * The scanner's counts with this work's refusals merged in. The scanner
   * does not hand its report to the batch callback, so the registry's
   * refusals are kept apart and merged here: the first 100 of the union are
   * among the first 100 of each.
   */
  reportOf(scan: ScanReport, source: SourceState): IngestReport {
    const mine = this.refusals;
    for (const r of mine.samples) scan.reject(r.line, r.reason);
    scan.invalidLines += mine.invalidLines - mine.samples.length;
    return {
      format: source.format,
      bytes: source.bytes,
      contentBytes: scan.bytes,
      lines: scan.lines,
      blankLines: scan.blankLines,
      validLines: this.validLines,
      invalidLines: scan.invalidLines,
      samples: scan.samples,
      header: scan.header,
      userCount: 0,
      duplicates: 0,
      matched: 0,
      newIds: this.newIds,
      unmatched: this.unmatched,
      conflicts: this.conflicts,
      timings: this.timings,
    };
  }

  /** A line through the registry: keys into their groups, or a refusal with the registry's reason. */
  private line(text: string, lineNo: number): void {
    const kb = this.keys;
    if (!normalizeInto(this.entry.name, text, kb)) {
      this.refusals.reject(lineNo, kb.reason);
      return;
    }
    const v = this.valid++;
    for (let k = 0; k < kb.count; k++) {
      const len = kb.lengths[k];
      const g = this.group(kb.types[k], len as KeyWidth);
      const keys = g.keys;
      const src = kb.bytes;
      for (let b = 0, d = g.slot(), o = k * KEY_SLOT; b < len; b++) keys[d + b] = src[o + b];
      g.push(v);
    }
  }

  /** Plain hex lines as byte ranges, decoded in place; anything else goes through line(). */
  private fastLines(b: LineBatch): void {
    const ok = this.hexLength;
    const type = this.entry.name as HashedTypeName;
    const { sources, starts, ends } = b;
    let last: Group | undefined;
    for (let i = 0; i < b.count; i++) {
      const src = sources[i];
      const s = starts[i];
      const e = ends[i];
      const len = e - s;
      if (len < ok.length && ok[len] === 1) {
        const width = (len >> 1) as KeyWidth;
        const g = last !== undefined && last.width === width ? last : (last = this.group(type, width));
        const start = g.slot();
        const keys = g.keys;
        let bad = 0;
        for (let p = s, d = start; p < e; p += 2, d++) {
          const v = HEX2[(src[p] << 8) | src[p + 1]];
          bad |= v;
          keys[d] = v;
        }
        // Any -1 sets the sign bit; the bytes written are overwritten by the next key.
        if (bad >= 0) {
          g.push(this.valid++);
          continue;
        }
      }
      this.line(src.toString('utf8', s, e), b.lineNumbers[i]);
    }
  }

  private group(type: HashedTypeName, width: KeyWidth): Group {
    const gs = this.groups;
    for (let i = 0; i < gs.length; i++) if (gs[i].type === type && gs[i].width === width) return gs[i];
    const g = new Group(type, width, this.capacity);
    gs.push(g);
    return g;
  }

  /** The dictionary's answer for the batch's valid lines (one call per batch): their users join the file's ids. */
  private take(r: Resolution, n: number): void {
    for (const g of this.groups) {
      g.count = 0;
      g.identity = true;
    }
    this.valid = 0;
    this.validLines += n;
    this.newIds += r.added;
    this.unmatched += r.unmatched;
    this.conflicts += r.conflicts;
    if (this.idCount + n > this.ids.length) {
      const grown = new Uint32Array(Math.max(this.idCount + n, Math.ceil(this.ids.length * 1.5)));
      grown.set(this.ids.subarray(0, this.idCount));
      this.ids = grown;
    }
    const users = r.users;
    const ids = this.ids;
    let c = this.idCount;
    for (let v = 0; v < n; v++) {
      const u = users[v];
      if (u !== NO_USER) ids[c++] = u;
    }
    this.idCount = c;
  }
}
