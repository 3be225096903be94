// A file's way into the event store, the part every engine shares: DuckDB
// parses the file into a staging table (the loader's SELECT checks every
// field), the distinct id tuples of the good rows go to the identity mapper
// in batches of LF-joined text, and the users come back as a map table that
// the rows are joined with. What the rows then go into is the store's
// (duckdb.ts inserts them in the same transaction, postgres.ts streams them
// to PostgreSQL).
//
// Identity mapping works on distinct tuples, not on rows: 100 M actions of
// 10 M people map 10 M tuples. A tuple is the row's id fields together (most
// files have one), so every id of one person is linked to one user, as the
// ids of one line of an audience file are.
//
// Temporary tables belong to the connection, so the caller gives each load
// a connection of its own.
import { performance } from 'node:perf_hooks';
import { DuckDBDataChunk, USMALLINT, UINTEGER, type DuckDBConnection } from '@duckdb/node-api';
import { COLUMNS } from './schema.js';
import { SAMPLE_LIMIT, type BulkPlan, type IdMapper, type RefusedRow } from './types.js';

/** Distinct tuples per mapper call: the size of one dictionary call. */
const TUPLE_BATCH = 65_536;
/** Rows per appended chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;

export interface StageCounts {
  /** Rows staged (read and parsed), good and bad. */
  staged: number;
  /** Rows the CSV reader could not parse. */
  readerRejected: number;
  idTuples: number;
}

/** Runs a statement, interrupting it when `signal` aborts. */
export async function runAbortable(conn: DuckDBConnection, sql: string, signal?: AbortSignal, params?: unknown[]): Promise<number> {
  signal?.throwIfAborted();
  const stop = () => conn.interrupt();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const r = await conn.run(sql, params as never);
    return r.rowsChanged;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  // An interrupted statement rejects; the caller's rollback undoes the rest.
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  const r = await conn.runAndReadAll(sql);
  const v = r.getRows()[0]?.[0];
  return v === null || v === undefined ? 0 : Number(v);
}

export class FileStage {
  readonly timings: Record<string, number> = {};
  counts: StageCounts = { staged: 0, readerRejected: 0, idTuples: 0 };
  /** The id columns at least one good row has: the tuple's columns. */
  private present: string[] = [];
  private reasons: Array<{ field: string; reason: string }> = [];
  private readonly reasonCode = new Map<string, number>();

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly plan: BulkPlan,
    private readonly signal?: AbortSignal,
  ) {}

  private lap(name: string, since: number): number {
    const now = performance.now();
    this.timings[name] = Math.round((this.timings[name] ?? 0) + now - since);
    return now;
  }

  /** The columns the rows carry into the store: COLUMNS[kind] after account_id, action_set_id and user_id. */
  static dataColumns(plan: Pick<BulkPlan, 'kind'>): string[] {
    return COLUMNS[plan.kind].map(([n]) => n).filter((n) => n !== 'account_id' && n !== 'action_set_id' && n !== 'user_id');
  }

  /** Stage, map the ids, and leave `ev_final` ready to read: the good rows with their user (`why` > 0: refused by the mapper). */
  async prepare(mapper: IdMapper): Promise<void> {
    const { conn, plan, signal } = this;
    let t = performance.now();
    plan.progress?.('parse');
    await runAbortable(conn, `CREATE TEMP TABLE ev_stage AS ${plan.stageSql}`, signal);
    this.counts.staged = await scalar(conn, 'SELECT count(*) FROM ev_stage');
    if (plan.readerRejects) this.counts.readerRejected = await scalar(conn, 'SELECT count(*) FROM ev_rejects');
    t = this.lap('parse', t);

    plan.progress?.('ids', { rows: this.counts.staged });
    const ids = plan.idFields.map((_, i) => `id_${i}`);
    if (ids.length > 0) {
      const counts = (await conn.runAndReadAll(`SELECT ${ids.map((c) => `count(${c})`).join(', ')} FROM ev_stage WHERE bad_field IS NULL`)).getRows()[0];
      this.present = ids.filter((_, i) => Number(counts[i]) > 0);
    }
    const cols = this.present;
    if (cols.length === 0) {
      // No good row has an id (the stage refused every row without one): nothing to map.
      await conn.run(`CREATE TEMP TABLE ev_idmap AS SELECT NULL::UINTEGER AS user_id, 0::USMALLINT AS why WHERE false`);
    } else {
      await runAbortable(
        conn,
        `CREATE TEMP TABLE ev_tuples AS SELECT (row_number() OVER () - 1)::UINTEGER AS ix, ${cols.join(', ')} FROM (SELECT DISTINCT ${cols.join(', ')} FROM ev_stage WHERE bad_field IS NULL)`,
        signal,
      );
      this.counts.idTuples = await scalar(conn, 'SELECT count(*) FROM ev_tuples');
      t = this.lap('distinct_ids', t);
      await this.mapTuples(mapper);
      t = performance.now();
      await runAbortable(conn, `CREATE TEMP TABLE ev_idmap AS SELECT ${cols.map((c) => `t.${c}`).join(', ')}, u.user_id, u.why FROM ev_tuples t JOIN ev_users u USING (ix)`, signal);
      await conn.run('DROP TABLE ev_tuples');
      await conn.run('DROP TABLE ev_users');
      this.lap('id_map', t);
    }
    await conn.run(`CREATE TEMP TABLE ev_reasons (code USMALLINT, field VARCHAR, reason VARCHAR)`);
    for (let i = 0; i < this.reasons.length; i++) {
      await conn.run('INSERT INTO ev_reasons VALUES ($1, $2, $3)', [i + 1, this.reasons[i].field, this.reasons[i].reason]);
    }
  }

  /**
   * The good rows joined with their users: line, the data columns, user_id,
   * why; `refused` picks the rows the mapper refused instead of the mapped
   * ones (the map is filtered before the join, so the usual case, nothing
   * refused, joins with an empty table).
   */
  finalSelect(refused = false): string {
    const data = FileStage.dataColumns(this.plan).map((c) => `s.${c}`).join(', ');
    const cols = this.present;
    if (cols.length === 0) return `SELECT s.line, ${data}, NULL::UINTEGER AS user_id, 0::USMALLINT AS why FROM ev_stage s WHERE false`;
    // One id column (most files): a plain equi-join; several: null-safe on each.
    const on = cols.length === 1 ? `m.${cols[0]} = s.${cols[0]}` : cols.map((c) => `m.${c} IS NOT DISTINCT FROM s.${c}`).join(' AND ');
    return `SELECT s.line, ${data}, m.user_id, m.why FROM ev_stage s JOIN (SELECT * FROM ev_idmap WHERE why ${refused ? '>' : '='} 0) m ON ${on} WHERE s.bad_field IS NULL`;
  }

  /** Good rows the mapper refused (no known user, a malformed id), and the good rows left. */
  async mapped(): Promise<{ refusedByMapper: number; good: number }> {
    const goodStaged = await scalar(this.conn, 'SELECT count(*) FROM ev_stage WHERE bad_field IS NULL');
    if (this.present.length === 0) return { refusedByMapper: 0, good: 0 };
    const anyRefused = this.reasons.length > 0 && (await scalar(this.conn, 'SELECT count(*) FROM ev_idmap WHERE why > 0')) > 0;
    const refusedByMapper = anyRefused ? await scalar(this.conn, `SELECT count(*) FROM (${this.finalSelect(true)}) f`) : 0;
    return { refusedByMapper, good: goodStaged - refusedByMapper };
  }

  /** Refused rows of every stage: the count, and the first by line. */
  async refusals(): Promise<{ refused: number; samples: RefusedRow[] }> {
    const conn = this.conn;
    const badStaged = await scalar(conn, 'SELECT count(*) FROM ev_stage WHERE bad_field IS NOT NULL');
    const byMapper = (await this.mapped()).refusedByMapper;
    const parts = [`SELECT line, bad_field AS field, bad_reason AS reason FROM ev_stage WHERE bad_field IS NOT NULL`];
    if (byMapper > 0) parts.push(`SELECT f.line, r.field, r.reason FROM (${this.finalSelect(true)}) f JOIN ev_reasons r ON r.code = f.why`);
    const rows = (await conn.runAndReadAll(`SELECT line, field, reason FROM (${parts.join(' UNION ALL ')}) ORDER BY line LIMIT ${SAMPLE_LIMIT}`)).getRows();
    let samples: RefusedRow[] = rows.map((r) => ({ line: Number(r[0]), field: String(r[1]), reason: String(r[2]) }));
    if (this.plan.readerRejects && this.counts.readerRejected > 0) samples = await this.withReaderRejects(samples);
    return { refused: badStaged + byMapper + this.counts.readerRejected, samples };
  }

  /**
   * CSV: the reader's own refusals have their exact line, and the staged
   * rows are numbered by the rows the reader kept, so each staged sample's
   * line moves down past the refused lines before it.
   */
  private async withReaderRejects(samples: RefusedRow[]): Promise<RefusedRow[]> {
    const rej = (
      await this.conn.runAndReadAll(`SELECT line, coalesce(column_name, ''), error_message FROM ev_rejects ORDER BY line LIMIT ${SAMPLE_LIMIT * 10}`)
    ).getRows();
    const rejLines = rej.map((r) => Number(r[0]));
    const moved = samples.map((s) => {
      let k = 0;
      while (k < rejLines.length && rejLines[k] <= s.line + k) k++;
      return { ...s, line: s.line + k };
    });
    const reader = rej.map((r) => ({ line: Number(r[0]), field: String(r[1]) || 'line', reason: `the CSV reader refused the line: ${String(r[2])}` }));
    return [...moved, ...reader].sort((a, b) => a.line - b.line).slice(0, SAMPLE_LIMIT);
  }

  async drop(): Promise<void> {
    for (const t of ['ev_stage', 'ev_tuples', 'ev_users', 'ev_idmap', 'ev_reasons', 'ev_rejects', 'ev_reject_scans']) {
      await this.conn.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    }
  }

  /** Sends the tuples to the mapper batch by batch and appends (ix, user, why) to ev_users. */
  private async mapTuples(mapper: IdMapper): Promise<void> {
    const { conn, signal } = this;
    const cols = this.present;
    await conn.run('CREATE TEMP TABLE ev_users (ix UINTEGER, user_id UINTEGER, why USMALLINT)');
    // Each column's values of a batch as one LF-joined blob: one value per
    // batch crosses into JavaScript instead of one per id.
    const text = (c: string) => `encode(string_agg(coalesce(replace(replace(${c}, chr(10), ' '), chr(13), ' '), ''), chr(10) ORDER BY ix))`;
    const result = await conn.stream(`SELECT ix // ${TUPLE_BATCH} AS b, count(*) AS n, ${cols.map(text).join(', ')} FROM ev_tuples GROUP BY b ORDER BY b`);
    const appender = await conn.createAppender('ev_users', 'main', 'temp');
    const chunk = DuckDBDataChunk.create([UINTEGER, UINTEGER, USMALLINT], CHUNK_ROWS);
    const ixs: number[] = new Array(CHUNK_ROWS);
    const users: number[] = new Array(CHUNK_ROWS);
    const whys: number[] = new Array(CHUNK_ROWS);
    let mapMs = 0;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const got = await result.fetchChunk();
        if (!got || got.rowCount === 0) break;
        for (let r = 0; r < got.rowCount; r++) {
          const first = Number(got.getColumnVector(0).getItem(r)) * TUPLE_BATCH;
          const count = Number(got.getColumnVector(1).getItem(r));
          const columns = cols.map((_, i) => {
            const v = got.getColumnVector(2 + i).getItem(r) as { bytes: Uint8Array } | null;
            return v ? Buffer.from(v.bytes.buffer, v.bytes.byteOffset, v.bytes.byteLength) : Buffer.alloc(0);
          });
          const s = performance.now();
          const out = await mapper({ count, columns });
          mapMs += performance.now() - s;
          const codes = out.reasons.map((x) => this.code(x.field, x.reason));
          for (let at = 0; at < count; at += CHUNK_ROWS) {
            const n = Math.min(CHUNK_ROWS, count - at);
            if (n !== ixs.length) ixs.length = users.length = whys.length = n;
            for (let i = 0; i < n; i++) {
              const t = at + i;
              const w = out.why[t];
              ixs[i] = first + t;
              users[i] = w > 0 ? 0 : out.users[t];
              whys[i] = w > 0 ? codes[w - 1] : 0;
            }
            chunk.rowCount = 0;
            chunk.setColumns([ixs, users, whys]);
            appender.appendDataChunk(chunk);
          }
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    this.timings.map_ids = Math.round(mapMs);
  }

  private code(field: string, reason: string): number {
    const key = `${field}\u0000${reason}`;
    let c = this.reasonCode.get(key);
    if (c === undefined) {
      this.reasons.push({ field, reason });
      c = this.reasons.length;
      this.reasonCode.set(key, c);
    }
    return c;
  }
}
