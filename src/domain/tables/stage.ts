// A table read written as an audience file: the column's values one per
// line into a staging object (AudienceService.stage), which create() then
// builds and owns, exactly like a file the client uploaded.
//
// Decisions:
// - A value holding a line break must stay one id (and be refused as one),
//   never become two. Each value is written as a CSV field: quoted, with
//   quotes doubled, only when it holds a quote, a comma or a line break;
//   otherwise as it is. When no value needed quoting, every line is the
//   value itself, so the file is handed over as plain lines (the fast path
//   of ingest); when one did, as CSV of one column without a header, where
//   the quoted value is one record, refused by the id registry with its
//   reason (a phone holds no line break).
// - The first batch is read before anything is written: an empty result is
//   refused with no staging object ever made. A refusal later (the row cap)
//   fails the staging write, which deletes what it wrote.
// - Values come out of the database as text, numbers, BigInt (SQLite's
//   64-bit integers, exact) or bytes (SQLite blobs, read as UTF-8).
import { Readable } from 'node:stream';
import type { CsvSpec } from '../audiences/types.js';
import type { AudienceService, StagedFile } from '../audiences/service.js';
import { err } from '../../errors.js';
import type { ColumnRead } from './sources.js';

/** Bytes gathered before a chunk goes to the store. */
const CHUNK_BYTES = 256 * 1024;

export interface StagedColumn {
  file: Omit<StagedFile, 'idType'>;
  /** Present when some value had to be quoted: the file is then one-column CSV. */
  csv?: CsvSpec;
  /** Rows read (non-null values). */
  rows: number;
}

/** The text of one value as the file holds it. */
function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v) ?? '';
}

const NEEDS_QUOTES = /[",\r\n]/;

/** A value as one CSV field; `quoted` tells whether it needed quotes. */
function fieldOf(text: string): { field: string; quoted: boolean } {
  return NEEDS_QUOTES.test(text) ? { field: `"${text.replace(/"/g, '""')}"`, quoted: true } : { field: text, quoted: false };
}

/**
 * Writes the read as a staging object of the account and answers it with
 * how it is to be read. The read is closed whatever happens. Refuses an
 * empty result (InvalidParameter naming Filter, or Column without one).
 */
export async function stageColumn(audiences: AudienceService, accountId: string, clusterId: number, read: ColumnRead, opts: { name: string; filtered: boolean }): Promise<StagedColumn> {
  const batches = read.batches();
  const stats = { rows: 0, quoted: 0 };
  try {
    const first = await batches.next();
    if (first.done) {
      throw err(
        'InvalidParameter',
        opts.filtered ? `no row of table ${read.table} matches Filter with a value in ${read.column}; an audience needs at least one id` : `column ${read.column} of table ${read.table} holds no value; an audience needs at least one id`,
        opts.filtered ? 'Filter' : 'Column',
      );
    }
    async function* lines(): AsyncGenerator<Buffer> {
      let parts: string[] = [];
      let size = 0;
      const take = (batch: unknown[]) => {
        for (const v of batch) {
          const { field, quoted } = fieldOf(textOf(v));
          if (quoted) stats.quoted++;
          parts.push(field);
          size += field.length + 1;
        }
        stats.rows += batch.length;
      };
      take(first.value as unknown[]);
      for (;;) {
        if (size >= CHUNK_BYTES) {
          parts.push('');
          yield Buffer.from(parts.join('\n'));
          parts = [];
          size = 0;
        }
        const next = await batches.next();
        if (next.done) break;
        take(next.value);
      }
      if (parts.length > 0) {
        parts.push('');
        yield Buffer.from(parts.join('\n'));
      }
    }
    const file = await audiences.stage(accountId, clusterId, Readable.from(lines(), { objectMode: false }), { name: opts.name });
    return { file, rows: stats.rows, ...(stats.quoted > 0 ? { csv: { column: 0, header: false } } : {}) };
  } finally {
    // Ends the read when staging stopped early (a failed write); a no-op after the last batch.
    await batches.return(undefined);
    await read.close();
  }
}
