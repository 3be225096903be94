// The streaming line and CSV scanner the ingest job runs over an audience
// file: chunks in (16 MiB file reads, or 1 MiB from gunzip with
// `chunkSize: 1 << 20`), batches of lines out, every line numbered and
// every refusal counted. See lines.ts for the hot loop and csv.ts for CSV.
//
// Rules: LF or CRLF line ends; a UTF-8 BOM at the start is dropped; spaces
// and tabs around a line are trimmed and a line with nothing else is blank
// (skipped, counted); a line longer than maxLineBytes, or holding a NUL byte,
// or not valid UTF-8 is invalid (counted, sampled) and scanning goes on.
// Memory is bounded by the chunk, one batch and maxLineBytes of carry.
import { err } from '../../errors.js';
import { LineBatch, type LineOutput } from './batch.js';
import { CsvRecords, type CsvOptions } from './csv.js';
import type { LineKernel } from './kernel.js';
import { LineSplitter } from './lines.js';
import { PlainLines } from './plain.js';
import { DEFAULT_MAX_SAMPLES, ScanReport } from './report.js';

export interface ScanOptions {
  /** Longest line (CSV: record) accepted, in bytes, line end excluded. Default 64 KiB. */
  maxLineBytes?: number;
  /** Lines per batch. Default 65,536. */
  batchLines?: number;
  /** Invalid lines kept as samples. Default 100. */
  maxSamples?: number;
  /**
   * 'text' (default): each line a string, which today's normalizers take;
   * 'bytes': each line a range of the source's bytes (plain files only).
   */
  output?: LineOutput;
  csv?: CsvOptions;
  /** Byte output of plain lines only: a kernel that takes the lines it can natively (kernel.ts). */
  kernel?: LineKernel;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
export const DEFAULT_BATCH_LINES = 65_536;

/** Called per batch; the scan waits for a returned promise before reading on. The batch is reused afterwards. */
export type OnBatch = (batch: LineBatch) => void | Promise<void>;

export async function scanLines(source: AsyncIterable<Uint8Array>, onBatch: OnBatch, options: ScanOptions = {}): Promise<ScanReport> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const output = options.output ?? 'text';
  if (options.csv && output === 'bytes') throw err('InvalidParameter', "CSV ids are read as text; output 'bytes' is for files of one id per line", 'output');
  if (options.kernel && output !== 'bytes') throw err('InvalidParameter', "a line kernel works on output 'bytes'", 'output');
  const report = new ScanReport(options.maxSamples ?? DEFAULT_MAX_SAMPLES);
  const batch = new LineBatch(options.batchLines ?? DEFAULT_BATCH_LINES, output);
  options.kernel?.attach(batch, maxLineBytes);
  const csv = options.csv ? new CsvRecords(options.csv, batch, report, maxLineBytes) : undefined;
  const splitter = new LineSplitter(csv ?? new PlainLines(batch, report, options.kernel), maxLineBytes, output === 'bytes');

  const deliver = async () => {
    report.lines = splitter.lines;
    if (batch.count === 0) return;
    await onBatch(batch);
    report.delivered += batch.count;
    batch.clear();
    options.kernel?.reset();
  };

  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    report.bytes += buf.length;
    splitter.feed(buf);
    while (splitter.run()) await deliver();
  }
  splitter.end();
  csv?.end();
  await deliver();
  report.lines = splitter.lines;
  return report;
}
