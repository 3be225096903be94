// What an upload is for, chosen when it is created and kept on it: an
// audience file (ids, one a line: txt or csv text, or gzip of it) or an
// event file for a load (CSV or NDJSON text, gzipped or not, or Parquet).
// The purpose decides how the bytes are checked as they arrive, and which
// reader may take the upload: an audience reads only audience uploads and an
// event load only event uploads, so a file is never read as what it is not
// (an NDJSON of actions read as ids would make an audience of garbage).
import { err } from '../../errors.js';
import type { Upload } from './types.js';

export const UPLOAD_PURPOSES = ['audience', 'events'] as const;
export type UploadPurpose = (typeof UPLOAD_PURPOSES)[number];

/** How the content is checked: the text checks (with the words of its purpose), or Parquet's magic bytes. */
export type ContentRule = 'audience' | 'event-text' | 'parquet';

/** The names an event upload may have: what a load reads (`format` csv, ndjson, parquet), text ones optionally gzipped. */
const EVENT_TEXT_NAME = /\.(csv|ndjson|jsonl)(\.gz)?$/i;
const PARQUET_NAME = /\.parquet$/i;

export function checkPurpose(purpose: unknown, field = 'purpose'): UploadPurpose {
  if (purpose === undefined || purpose === null) return 'audience';
  if (typeof purpose !== 'string' || !(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
    throw err('InvalidParameter', `${field} must be one of ${UPLOAD_PURPOSES.join(', ')}`, field);
  }
  return purpose as UploadPurpose;
}

/**
 * An event upload's name says its format, and the check of its bytes
 * follows it: a Parquet file is binary and could never pass the text check,
 * and a text file named .parquet would pass nothing a load could read.
 */
export function checkEventFileName(name: string, field = 'file_name'): void {
  if (!EVENT_TEXT_NAME.test(name) && !PARQUET_NAME.test(name)) {
    throw err('InvalidParameter', `an events upload is a .csv, .ndjson, .jsonl (each optionally .gz) or .parquet file; ${JSON.stringify(name)} is none of them`, field);
  }
}

export function contentRuleOf(purpose: UploadPurpose, fileName: string): ContentRule {
  if (purpose === 'audience') return 'audience';
  return PARQUET_NAME.test(fileName) ? 'parquet' : 'event-text';
}

/**
 * Refuses an upload made for another purpose than the reader's, naming the
 * reader's field for it. Checked where the upload is named (an audience's
 * files, a load's upload_id), before anything is read.
 */
export function requirePurpose(u: Upload, want: UploadPurpose, field: string): void {
  if (u.purpose === want) return;
  const reader = want === 'events' ? 'an event load reads' : 'an audience reads';
  throw err('InvalidParameter', `upload ${u.id} was made with purpose "${u.purpose}"; ${reader} only uploads made with purpose "${want}" (POST /v1/uploads {"purpose": "${want}"})`, field);
}
