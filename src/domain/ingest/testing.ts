// Test helper: scan a list of chunks and collect what came out.
import { scanLines, type ScanOptions } from './scanner.js';
import type { ScanReport } from './report.js';

export interface Scanned {
  /** [line number, text] per delivered line, in order. */
  lines: Array<[number, string]>;
  batches: number;
  report: ScanReport;
}

export async function* chunksOf(parts: Array<string | Buffer>): AsyncGenerator<Buffer> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p);
}

export async function scanParts(parts: Array<string | Buffer>, options: ScanOptions = {}): Promise<Scanned> {
  const lines: Array<[number, string]> = [];
  let batches = 0;
  const report = await scanLines(chunksOf(parts), (b) => {
    batches++;
    for (let i = 0; i < b.count; i++) lines.push([b.lineNumbers[i], b.line(i)]);
  }, options);
  return { lines, batches, report };
}

/** The input cut at every position into two chunks, and into 1-byte chunks. */
export function everySplit(input: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 1; i < input.length; i++) out.push([input.subarray(0, i), input.subarray(i)]);
  out.push(Array.from({ length: input.length }, (_, i) => input.subarray(i, i + 1)));
  return out;
}
