// Ingest: the streaming scanner that turns an audience file into numbered lines.
export { scanLines, DEFAULT_BATCH_LINES, DEFAULT_MAX_LINE_BYTES } from './scanner.js';
export type { OnBatch, ScanOptions } from './scanner.js';
export { LineBatch } from './batch.js';
export type { LineOutput } from './batch.js';
export type { CsvOptions } from './csv.js';
export { ScanReport } from './report.js';
export type { InvalidSample } from './report.js';
