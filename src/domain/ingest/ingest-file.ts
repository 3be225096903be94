// ingestFile: one audience file of one id type → a Roaring bitmap of user ids
// (and its portable format, made when first asked for) and the file's
// processing report. DESIGN.md's pipeline in one pass: decompress → split
// lines/CSV → validate and normalize → hash → dictionary → sort → bitmap.
// Writing the bitmap object, committing the dictionary and writing the
// metadata row are the caller's, in this order:
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
//   per line; user ids collect in chunks. While they come nearly in
//   ascending order (a file of new ids, a re-upload of a known file) the
//   bitmap is grown batch by batch and nothing is sorted; once too many are
//   out of order they are radix sorted at the end (a bitmap from unsorted
//   ids is ~80x slower).
// - gzip is told by its magic bytes (1f 8b), not the name, and inflated with
//   1 MiB output chunks (the 16 KiB default is 2.4x slower, DESIGN.md) on a
//   worker thread (source.ts), so zlib runs beside this thread's work.
// - A plain file of a hashed type with no derived forms (phone_md5,
//   gaid_md5, ...) or of raw mainland phones goes through a line kernel
//   (kernel.ts, native): whole regions of the file are cut, trimmed and
//   decoded (hex) or normalized and hashed (phones) with no JavaScript per
//   line, the keys written straight into the batch's key streams. A line the
//   kernel does not take stays a byte range: hex of another accepted length
//   is decoded here with a two-character table, anything else goes to
//   normalizeInto, which decides it and gives the registry's reason, so no
//   fast path ever refuses anything itself. Raw phones are resolved one batch
//   late: the next batch's digests are computed on a helper thread while
//   this one goes through the dictionary.
// - A file with no valid line is an error (AppError InvalidParameter, the
//   report attached as IngestError.report): its field is `idType` when lines
//   were refused (the declared type does not fit the content) and `file`
//   when there was nothing but blank lines. InvalidParameter rather than a
//   new code because the fix is the caller's parameter in the common case.
import { performance } from 'node:perf_hooks';
import { AppError, err, type ErrorCode } from '../../errors.js';
import { dedupeSorted, empty, fromSorted, radixSortU32, serialize, type Bitmap } from '../../infra/bitmaps/index.js';
import { ChunkSupply } from '../../infra/native.js';
import { NO_USER, type IdentityDictionary, type KeyWidth, type Resolution, type ResolveMode, type TypeKeys } from '../../infra/identities/index.js';
import { KEY_SLOT, KeyBatch, decodeHexBytes, detectInto, lookupIdType, normalizeInto, type DetectHint, type HashedTypeName, type IdTypeEntry, type IdTypeName } from '../identities/index.js';
import type { LineBatch } from './batch.js';
import type { CsvOptions } from './csv.js';
import { KeyGroup } from './key-group.js';
import { ScanReport, type InvalidSample } from './report.js';
import { LineKernel, type KernelStream } from './kernel.js';
import { DEFAULT_BATCH_LINES, scanLines } from './scanner.js';
import { contentOf, type SourceState } from './source.js';

/** The id type that asks for each line to be typed by its shape. */
export const DETECT = 'detect';

export interface IngestFileInput {
  /** The object's bytes as stored (text or gzip); ObjectStore.get gives a Readable, which is one. */
  source: AsyncIterable<Buffer>;
  /**
   * A canonical registry type (vendor names go through vendor-maps.ts
   * first), or DETECT: each line typed by its shape (detect.ts), narrowed by
   * `detectHint` (families or type names).
   */
  idType: string;
  detectHint?: DetectHint;
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
  /**
   * The users as the bitmap that was built: what a caller that goes on
   * working with the set (a union, an exclusion, a save) takes, with no
   * round trip through bytes. Changing it changes what `bitmap` gives if
   * that is first read afterwards.
   */
  readonly set: Bitmap;
  /** The bitmap in the portable Roaring format: serialized from `set` on first read, then kept. */
  readonly bitmap: Buffer;
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
  const detect = input.idType === DETECT;
  const entry = detect ? undefined : lookupIdType(input.idType);
  if (entry === undefined && !detect) {
    await input.source[Symbol.asyncIterator]().return?.();
    throw err('InvalidParameter', `unknown id type "${input.idType}"`, 'idType');
  }
  const capacity = input.batchLines ?? DEFAULT_BATCH_LINES;
  const kernel = entry !== undefined && input.csv === undefined ? LineKernel.for(entry, capacity) : undefined;
  const work = new FileWork(entry, input.detectHint, input.dictionary, input.mode, capacity, kernel);
  const source: SourceState = { bytes: 0, format: 'text' };
  const csv = input.csv && input.csv.header === 'auto' && input.csv.isId === undefined ? { ...input.csv, isId: registryCheck(entry?.name, input.detectHint) } : input.csv;
  const scan = await scanLines(contentOf(input.source, source), (b) => work.batch(b), {
    csv,
    batchLines: capacity,
    // Byte ranges only where a kernel takes most lines; the registry reads text.
    output: kernel !== undefined ? 'bytes' : 'text',
    kernel,
  });
  await work.flush();
  const t = work.timings;
  t.scan = performance.now() - started - t.normalize - t.dictionary - t.bitmap;
  const report = work.reportOf(scan, source);
  if (report.validLines === 0) throw noValidLine(input.idType, report, started);

  let s = performance.now();
  let set = work.ascendingBitmap();
  if (set !== undefined) {
    // The ids came (nearly) in ascending order and the bitmap was built batch by batch: nothing to sort.
    set.runOptimize();
    set.shrinkToFit();
  } else {
    const ids = work.allIds();
    radixSortU32(ids);
    const distinct = dedupeSorted(ids);
    t.sort = performance.now() - s;
    s = performance.now();
    set = fromSorted(distinct);
  }
  t.bitmap += performance.now() - s;
  t.total = performance.now() - started;

  const userCount = set.size;
  report.userCount = userCount;
  report.duplicates = work.idCount - userCount;
  report.matched = userCount - report.newIds;
  for (const k of Object.keys(t) as Array<keyof IngestTimings>) t[k] = Math.round(t[k] * 10) / 10;
  return resultOf(set, userCount, report);
}

/** The result, its portable bytes made on first read: a caller that keeps working with the set never pays for them. */
function resultOf(set: Bitmap, userCount: number, report: IngestReport): IngestResult {
  let bytes: Buffer | undefined;
  return {
    set,
    get bitmap() {
      return (bytes ??= serialize(set));
    },
    userCount,
    report,
  };
}

function noValidLine(idType: string, report: IngestReport, started: number): IngestError {
  report.timings.total = performance.now() - started;
  const first = report.samples[0];
  if (first === undefined) {
    return new IngestError('InvalidParameter', `the file holds no ids: ${report.lines} line${report.lines === 1 ? '' : 's'}, none with text`, 'file', report);
  }
  const what = idType === DETECT ? 'an id whose type its shape tells' : `a valid ${idType}`;
  const message = `no line of the file is ${what}: ${report.invalidLines} of ${report.lines} lines refused (${report.blankLines} blank); line ${first.line}: ${first.reason}`;
  return new IngestError('InvalidParameter', message, 'idType', report);
}

/** For CSV header 'auto' with a column index: the first row is data when its field is a valid id of the type (or of a type its shape names). */
function registryCheck(type: IdTypeName | undefined, hint: DetectHint | undefined): (value: string) => boolean {
  const keys = new KeyBatch();
  return type === undefined ? (value) => detectInto(value, hint, keys) : (value) => normalizeInto(type, value, keys);
}

/** A kernel batch: its key streams and its line count (every line the kernel's). */
interface KernelBatch {
  streams: KernelStream[];
  count: number;
}

/** User ids per chunk of FileWork's list: 4 MiB. */
const ID_CHUNK = 1 << 20;
/**
 * Ids below the largest so far that the incremental bitmap takes (plus 1 in
 * 64 of all ids): CRoaring adds them in place; past that a radix sort of
 * the whole list is cheaper.
 */
const MAX_BEHIND = 4096;

/** The per-batch work and what it has counted; one per file. */
class FileWork {
  readonly timings: IngestTimings = { scan: 0, normalize: 0, dictionary: 0, sort: 0, bitmap: 0, total: 0 };
  /** The users of the valid lines so far, in chunks (growing one array would touch ~4x its final size in fresh pages). */
  private readonly idChunks: Uint32Array[] = [];
  private readonly idSupply = new ChunkSupply(ID_CHUNK);
  private last = new Uint32Array(0);
  private lastCount = 0;
  idCount = 0;
  /**
   * The bitmap grown batch by batch while the ids (nearly) ascend, as a file
   * of new ids does (each new user is the next id; a repeated line gives an
   * earlier one) and a re-upload of a known file does; the largest id so far,
   * and how many came in below it.
   */
  private growing: Bitmap | undefined = empty();
  private topId = 0;
  private behind = 0;
  private readonly groups: KeyGroup[] = [];
  private readonly keys = new KeyBatch();
  /** Hex lengths the fast path takes (the type's own lengths). */
  private readonly hexLength = new Uint8Array(129);
  private readonly refusals = new ScanReport();
  /** A kernel batch whose keys are being completed on a helper thread (see batch()). */
  private pending: KernelBatch | undefined;
  private valid = 0;
  private validLines = 0;
  private newIds = 0;
  private unmatched = 0;
  private conflicts = 0;

  constructor(
    /** Undefined: each line is typed by its shape. */
    private readonly entry: IdTypeEntry | undefined,
    private readonly hint: DetectHint | undefined,
    private readonly dictionary: IdentityDictionary,
    private readonly mode: ResolveMode,
    private readonly capacity: number,
    private readonly kernel?: LineKernel,
  ) {
    // Not for a type with derived forms: the registry computes those (and such a file is read as text).
    if (entry?.kind === 'hashed' && entry.links.length === 0) for (const n of entry.hexLengths) if (n < this.hexLength.length) this.hexLength[n] = 1;
    // The kernel's forms get their groups first, in the registry's order, as its lines would create them.
    if (kernel !== undefined) for (const st of kernel.streams) this.group(st.type, st.width);
  }

  /**
   * Synchronous when the dictionary is (the embedded one); a promise when it
   * is remote. A batch whose lines are all a deferrable kernel's (raw phones)
   * is resolved one call later: its digests run on a helper thread while
   * this thread resolves the batch before it; flush() resolves the last.
   */
  batch(b: LineBatch): void | Promise<void> {
    const k = this.kernel;
    if (k !== undefined && k.deferrable && b.count > 0 && k.count === b.count) {
      const s = performance.now();
      // Waits for the previous batch's digests, then starts this one's.
      const streams = k.finishAsync();
      const previous = this.pending;
      this.pending = { streams, count: b.count };
      this.timings.normalize += performance.now() - s;
      return previous === undefined ? undefined : this.resolveKernelBatch(previous);
    }
    const flushed = this.flush();
    return flushed instanceof Promise ? flushed.then(() => this.batchNow(b)) : this.batchNow(b);
  }

  /** Resolves the batch batch() held back, if any. */
  flush(): void | Promise<void> {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    const s = performance.now();
    this.kernel!.wait();
    this.timings.normalize += performance.now() - s;
    return this.resolveKernelBatch(p);
  }

  /** A batch whose every line is the kernel's: its streams are the groups, key k on line k. */
  private resolveKernelBatch(p: KernelBatch): void | Promise<void> {
    return this.resolve(
      p.streams.map((st) => ({ type: st.type, width: st.width, keys: st.keys, count: p.count })),
      p.count,
    );
  }

  private batchNow(b: LineBatch): void | Promise<void> {
    const s = performance.now();
    const k = this.kernel;
    if (k !== undefined) {
      k.finish();
      if (b.count > 0 && k.count === b.count) {
        this.timings.normalize += performance.now() - s;
        return this.resolveKernelBatch({ streams: k.streams, count: b.count });
      }
    }
    if (b.output === 'bytes') this.byteLines(b);
    else for (let i = 0; i < b.count; i++) this.line(b.text[i], b.lineNumbers[i]);
    const input: TypeKeys[] = [];
    for (const g of this.groups) if (g.count > 0) input.push(g.typeKeys());
    this.timings.normalize += performance.now() - s;
    return this.resolve(input, this.valid);
  }

  /** One dictionary call for the batch's n valid lines. */
  private resolve(input: TypeKeys[], n: number): void | Promise<void> {
    if (n === 0) return;
    const s = performance.now();
    const r = this.dictionary.resolve(input, this.mode, n);
    if (!(r instanceof Promise)) {
      const b = this.take(r, n);
      this.timings.dictionary += performance.now() - s - b;
      return;
    }
    return r.then((res) => {
      const b = this.take(res, n);
      this.timings.dictionary += performance.now() - s - b;
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
    if (!(this.entry === undefined ? detectInto(text, this.hint, kb) : normalizeInto(this.entry.name, text, kb))) {
      this.refusals.reject(lineNo, kb.reason);
      return;
    }
    const v = this.valid++;
    for (let k = 0; k < kb.count; k++) this.group(kb.types[k], kb.lengths[k] as KeyWidth).add(kb.bytes, k * KEY_SLOT, v);
  }

  /** A batch of byte ranges, some of them perhaps the kernel's: every line in order. */
  private byteLines(b: LineBatch): void {
    const k = this.kernel;
    const { kinds, count } = b;
    let j = 0;
    for (let i = 0; i < count; ) {
      if (k !== undefined && kinds[i] === 1) {
        let end = i + 1;
        while (end < count && kinds[end] === 1) end++;
        const n = end - i;
        for (const st of k.streams) this.group(st.type, st.width).appendRun(st.keys, j * st.width, n, this.valid);
        this.valid += n;
        j += n;
        i = end;
        continue;
      }
      this.rangeLine(b.sources[i], b.starts[i], b.ends[i], b.lineNumbers[i]);
      i++;
    }
  }

  /** One line as a byte range: hex of the type's lengths decoded in place; anything else goes through line(). */
  private rangeLine(src: Buffer, s: number, e: number, lineNo: number): void {
    const len = e - s;
    const ok = this.hexLength;
    if (len < ok.length && ok[len] === 1) {
      const g = this.group(this.entry!.name as HashedTypeName, (len >> 1) as KeyWidth);
      // slot() first: it may replace g.keys. A key that is not hex leaves garbage in its slot, which the next key overwrites.
      const at = g.slot();
      if (decodeHexBytes(src, s, len, g.keys, at)) {
        g.push(this.valid++);
        return;
      }
    }
    this.line(src.toString('utf8', s, e), lineNo);
  }

  private group(type: HashedTypeName, width: KeyWidth): KeyGroup {
    const gs = this.groups;
    for (let i = 0; i < gs.length; i++) if (gs[i].type === type && gs[i].width === width) return gs[i];
    const g = new KeyGroup(type, width, this.capacity);
    gs.push(g);
    return g;
  }

  /**
   * The dictionary's answer for the batch's valid lines (one call per batch):
   * their users join the file's ids. Returns the milliseconds spent on the
   * bitmap (counted as the bitmap stage, not the dictionary's).
   */
  private take(r: Resolution, n: number): number {
    for (const g of this.groups) g.count = 0;
    this.valid = 0;
    this.validLines += n;
    this.newIds += r.added;
    this.unmatched += r.unmatched;
    this.conflicts += r.conflicts;
    const users = r.users;
    const before = this.idCount;
    let chunk = this.last;
    let c = this.lastCount;
    let top = this.topId;
    let behind = 0;
    for (let v = 0; v < n; v++) {
      const u = users[v];
      if (u === NO_USER) continue;
      if (c === chunk.length) {
        chunk = this.last = this.idSupply.next();
        this.idChunks.push(chunk);
        this.lastCount = c = 0;
      }
      chunk[c++] = u;
      if (u < top) behind++;
      else top = u;
    }
    this.lastCount = c;
    this.topId = top;
    this.idCount = this.countIds();
    this.behind += behind;
    const grown = this.growing;
    if (grown === undefined) return 0;
    if (this.behind > MAX_BEHIND + (this.idCount >>> 6)) {
      // Too many ids out of order for an incremental build: the list is sorted at the end instead.
      this.growing = undefined;
      return 0;
    }
    const s = performance.now();
    for (let i = before; i < this.idCount; ) {
      const k = Math.floor(i / ID_CHUNK);
      const from = i - k * ID_CHUNK;
      const to = Math.min(ID_CHUNK, this.idCount - k * ID_CHUNK);
      grown.addMany(this.idChunks[k].subarray(from, to));
      i += to - from;
    }
    const ms = performance.now() - s;
    this.timings.bitmap += ms;
    return ms;
  }

  /** Ids collected: all full chunks and the used part of the last. */
  private countIds(): number {
    const k = this.idChunks.length;
    return k === 0 ? 0 : (k - 1) * ID_CHUNK + this.lastCount;
  }

  /** The bitmap grown batch by batch, if the ids stayed (nearly) in ascending order. */
  ascendingBitmap(): Bitmap | undefined {
    return this.growing;
  }

  /** Every user id collected, in one array (one fresh copy; the chunks are dropped). */
  allIds(): Uint32Array {
    const chunks = this.idChunks;
    if (chunks.length === 1) return chunks[0].subarray(0, this.lastCount);
    const all = new Uint32Array(this.idCount);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      const n = i === chunks.length - 1 ? this.lastCount : chunks[i].length;
      all.set(n === chunks[i].length ? chunks[i] : chunks[i].subarray(0, n), at);
      at += n;
    }
    chunks.length = 0;
    this.last = new Uint32Array(0);
    return all;
  }
}
