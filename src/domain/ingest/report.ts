// What a scan counts. The ingest job adds its own refusals (a line the id
// normalizer rejects) through the same reject(), so the file's processing
// report holds one list of samples.

export interface InvalidSample {
  /** 1-based line number in the file (for a CSV record: the line it starts on). */
  line: number;
  reason: string;
}

export const DEFAULT_MAX_SAMPLES = 100;

export class ScanReport {
  /** Physical lines, as `wc -l` counts them plus a last line without a newline. */
  lines = 0;
  /** Lines that are empty or hold only spaces and tabs; skipped. */
  blankLines = 0;
  invalidLines = 0;
  /** Lines (CSV: id fields) handed to the batch callback. */
  delivered = 0;
  /** Bytes read from the source, BOM included. */
  bytes = 0;
  /** The CSV header row, when the file has one. */
  header: string[] | null = null;
  /**
   * The first invalid lines by line number. Rejections do not arrive in line
   * order (the scanner rejects a line before the batch holding earlier lines
   * reaches the normalizer), so the list is kept sorted and capped.
   */
  readonly samples: InvalidSample[] = [];

  constructor(readonly maxSamples = DEFAULT_MAX_SAMPLES) {}

  reject(line: number, reason: string): void {
    this.invalidLines++;
    const s = this.samples;
    if (s.length === this.maxSamples && (s.length === 0 || s[s.length - 1].line <= line)) return;
    let i = s.length;
    while (i > 0 && s[i - 1].line > line) i--;
    s.splice(i, 0, { line, reason });
    if (s.length > this.maxSamples) s.pop();
  }
}
