// A file's way into the event store, the part every engine shares. DuckDB
// reads the file twice and never keeps a copy of its rows:
//
// 1. The checking pass (plan.stageSql) reads and checks every row and keeps
//    only what the rest needs, in one GROUP BY: the distinct id tuples of the
//    good rows (with their row counts) and the refused rows (line, field,
//    reason); for user actions, the outer_action_ids on more than one row
//    are noted too. 100 M actions of 10 M people leave 10 M tuples, not a
//    100 M-row staging table.
// 2. The tuples go to the identity mapper in batches of LF-joined text, and
//    the users come back as the map table ev_idmap.
// 3. The rows pass (plan.rowsSql, read by rowsSelect()) reads the file again,
//    types the values and joins the good rows with their users. What the rows
//    then go into is the store's: duckdb.ts inserts them in the same
//    transaction, postgres.ts streams them to PostgreSQL.
//
// A Parquet file is columnar and compressed, so its second read costs far
// less than writing and reading back a copy would; a CSV or NDJSON file is
// parsed twice, on every thread, about what the copy cost.
//
// Lines. A Parquet row carries its number in every pass, so a refused row is
// left out of the rows pass by its line. Numbering the lines of a CSV or
// NDJSON file (WITH ORDINALITY) makes DuckDB read it, and run everything
// after the read, on one thread; so those passes read unnumbered, the rows
// pass leaves refused rows out by checking them again, and only a file that
// needs lines (a refused row to report, a repeated outer_action_id whose
// first row is kept) is read once more, numbered (plan.linesSql). Every
// numbered read skips the same rows and so numbers alike.
//
// Identity mapping works on distinct tuples, not on rows: 100 M actions of
// 10 M people map 10 M tuples. A tuple is the row's id fields together (most
// files have one), so every id of one person is linked to one user, as the
// ids of one line of an audience file are.
//
// Temporary tables belong to the connection, so the caller gives each load
// a connection of its own.
import { performance } from 'node:perf_hooks';
import { DuckDBDataChunk, USMALLINT, UINTEGER, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { COLUMNS } from './schema.js';
import { mkdirSync } from 'node:fs';
import { SAMPLE_LIMIT, type BulkPlan, type BulkResult, type IdMapper, type RefusedRow } from './types.js';

/** Distinct tuples per mapper call: the size of one dictionary call. */
const TUPLE_BATCH = 65_536;
/** Rows per appended chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;
/** Every temporary table a load makes. */
const TEMP_TABLES = ['ev_keys', 'ev_repeats', 'ev_tuples', 'ev_users', 'ev_idmap', 'ev_refused', 'ev_reasons', 'ev_first', 'ev_seen', 'ev_rejects', 'ev_reject_scans'];

export interface StageCounts {
  /** Rows read and parsed, good and bad (the CSV reader's refusals apart). */
  staged: number;
  /** Rows the CSV reader could not parse. */
  readerRejected: number;
  /** Rows the check refused. */
  bad: number;
  /** Good rows whose ids the mapper refused (malformed, or no known user in a closed universe). */
  refusedByMapper: number;
  idTuples: number;
  /** outer_action_ids on more than one row (ev_repeats; see check). */
  repeatedOuterIds: number;
  /** outer_action_ids of the file already stored for the account and action set (excludeStored). */
  storedOuterIds: number;
}

/**
 * The options every DuckDB of the event stores opens with (the embedded
 * store's file, the in-memory one that parses files for PostgreSQL). The
 * spill folder is made here: DuckDB makes it when it first spills but not
 * its parents, and a load too large for memory would fail there, after
 * minutes of work.
 */
export function duckdbOptions(o: { threads?: number; memoryLimit?: string; tempDirectory?: string }): Record<string, string> {
  const options: Record<string, string> = {
    // json, parquet and icu are built into the package: nothing is ever downloaded.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // Events have no order to keep; without it DuckDB writes in parallel.
    preserve_insertion_order: 'false',
  };
  if (o.threads) options.threads = String(o.threads);
  if (o.memoryLimit) options.memory_limit = o.memoryLimit;
  if (o.tempDirectory) {
    mkdirSync(o.tempDirectory, { recursive: true });
    options.temp_directory = o.tempDirectory;
  }
  return options;
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

async function numbers(conn: DuckDBConnection, sql: string, params?: DuckDBValue[]): Promise<number[]> {
  const r = await conn.runAndReadAll(sql, params);
  return (r.getRows()[0] ?? []).map((v) => (v === null || v === undefined ? 0 : Number(v)));
}

export class FileStage {
  /** False makes every load join on the text, as a file whose tuples share a hash does (tests run both ways). */
  static joinOnHash = true;
  readonly timings: Record<string, number> = {};
  readonly counts: StageCounts = { staged: 0, readerRejected: 0, bad: 0, refusedByMapper: 0, idTuples: 0, repeatedOuterIds: 0, storedOuterIds: 0 };
  /** id_0 … id_{k-1}: every id field of the file, in the plan's order. */
  private readonly ids: string[];
  /** User actions: outer_action_ids to de-duplicate. */
  private readonly outer: boolean;
  private refusedTuples = 0;
  /** ev_idmap is keyed by the tuple's hash (see prepare). */
  private byHash = false;
  /** Every pass numbers its rows (Parquet); otherwise only plan.linesSql does (CSV, NDJSON). */
  private readonly lines: boolean;
  /** The rows with their lines. */
  private readonly numbered: string;
  private reasons: Array<{ field: string; reason: string }> = [];
  private readonly reasonCode = new Map<string, number>();

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly plan: BulkPlan,
    private readonly signal?: AbortSignal,
  ) {
    this.ids = plan.idFields.map((_, i) => `id_${i}`);
    this.outer = plan.kind === 'user_actions';
    this.lines = plan.linesSql === undefined;
    this.numbered = plan.linesSql ?? plan.rowsSql;
  }

  private lap(name: string, since: number): number {
    const now = performance.now();
    this.timings[name] = Math.round((this.timings[name] ?? 0) + now - since);
    return now;
  }

  /** The columns the rows carry into the store: COLUMNS[kind] after account_id, action_set_id and user_id. */
  static dataColumns(plan: Pick<BulkPlan, 'kind'>): string[] {
    return COLUMNS[plan.kind].map(([n]) => n).filter((n) => n !== 'account_id' && n !== 'action_set_id' && n !== 'user_id');
  }

  /** Good rows: read, not refused by the check, not refused by the mapper. */
  get good(): number {
    return this.counts.staged - this.counts.bad - this.counts.refusedByMapper;
  }

  /**
   * The checking pass, the identity mapping, and what the rows pass needs to
   * keep only the first row of each outer_action_id: afterwards rowsSelect()
   * is ready to read.
   */
  async prepare(mapper: IdMapper): Promise<void> {
    const { conn, plan, signal } = this;
    let t = performance.now();
    plan.progress?.('parse');
    await this.check();
    t = this.lap('parse', t);

    plan.progress?.('ids', { rows: this.counts.staged });
    await conn.run('CREATE TEMP TABLE ev_reasons (code USMALLINT, field VARCHAR, reason VARCHAR)');
    if (this.ids.length === 0 || this.counts.idTuples === 0) {
      // No good row has an id (the check refused every row without one): nothing to map.
      const none = this.ids.map((c) => `NULL::VARCHAR AS ${c}`).join(', ');
      await conn.run(`CREATE TEMP TABLE ev_idmap AS SELECT ${none ? `${none}, ` : ''}NULL::UINTEGER AS user_id WHERE false`);
      return;
    }
    const cols = this.ids.join(', ');
    await runAbortable(conn, `CREATE TEMP TABLE ev_tuples AS SELECT (row_number() OVER () - 1)::UINTEGER AS ix, ${cols}, hash(${cols}) AS h FROM ev_keys WHERE by_tuple AND bad_field IS NULL`, signal);
    // The rows pass joins on the tuple's 64-bit hash when no two tuples of
    // the file share one (almost always): every good row's tuple is one of
    // these, so its hash then names it exactly, and an integer key spares
    // the join a string comparison in memory far from the probe. Otherwise
    // it joins on the text.
    const [hashes] = await numbers(conn, 'SELECT count(DISTINCT h) FROM ev_tuples');
    this.byHash = FileStage.joinOnHash && hashes === this.counts.idTuples;
    t = this.lap('distinct_ids', t);
    await this.mapTuples(mapper);
    t = performance.now();
    const tc = this.ids.map((c) => `t.${c}`).join(', ');
    await runAbortable(conn, `CREATE TEMP TABLE ev_idmap AS SELECT ${this.byHash ? 't.h' : tc}, u.user_id FROM ev_tuples t JOIN ev_users u USING (ix) WHERE u.why = 0`, signal);
    if (this.refusedTuples > 0) {
      await runAbortable(conn, `CREATE TEMP TABLE ev_refused AS SELECT ${tc}, u.why FROM ev_tuples t JOIN ev_users u USING (ix) WHERE u.why > 0`, signal);
      const [n] = await numbers(conn, `SELECT sum(k.n) FROM ev_keys k JOIN ev_refused f ON ${this.on('k', 'f')} WHERE k.by_tuple AND k.bad_field IS NULL`);
      this.counts.refusedByMapper = n;
    }
    await conn.run('DROP TABLE ev_tuples');
    await conn.run('DROP TABLE ev_users');
    for (let i = 0; i < this.reasons.length; i++) await conn.run('INSERT INTO ev_reasons VALUES ($1, $2, $3)', [i + 1, this.reasons[i].field, this.reasons[i].reason]);
    t = this.lap('id_map', t);

    if (this.counts.repeatedOuterIds > 0) {
      // An outer_action_id on several good rows: the first of them whose ids
      // mapped is the one kept. One more read of the file, only for a file
      // that repeats an id.
      await runAbortable(
        conn,
        `CREATE TEMP TABLE ev_first AS SELECT s.outer_action_id AS okey, min(s.line) AS line FROM (${this.numbered}) s JOIN ev_idmap m ON ${this.mapped('m', 's')}
         WHERE s.outer_action_id IN (SELECT okey FROM ev_repeats)${this.counts.bad > 0 ? ` AND ${this.notBad('s')}` : ''}
         GROUP BY s.outer_action_id`,
        signal,
      );
      this.lap('dedup', t);
    }
  }

  /**
   * The checking pass: one GROUP BY over the checked rows. A good row
   * counts towards its id tuple; a refused row is its own group (keyed by
   * its line where the pass has lines), kept with its field and reason.
   *
   * User actions also need the outer_action_ids on more than one row
   * (ev_repeats). From a Parquet file they come from a query of their own,
   * which reads that one column: cheaper than counting them in the GROUP BY
   * (measured). It counts every row, refused or not, so it may name an id
   * only one good row has; ev_first then keeps that row. A CSV or NDJSON
   * file would be parsed again for it, so there GROUPING SETS count the good
   * rows of each id in the same read (by_tuple false).
   */
  private async check(): Promise<void> {
    const { conn, plan, signal } = this;
    const ids = this.ids.map((c) => `${c}, `).join('');
    // The verdict as keys, not as aggregates: NULL for every good row, and a
    // NULL key costs less than a value kept per row.
    const keys = `${ids}bline, bad_field, bad_reason`;
    const sets = this.outer && !this.lines;
    const okey = sets ? ', CASE WHEN bad_field IS NULL THEN outer_action_id END AS okey' : '';
    const select = sets ? `${keys}, okey, grouping(okey) = 1 AS by_tuple` : `${keys}, NULL::VARCHAR AS okey, true AS by_tuple`;
    await runAbortable(
      conn,
      `CREATE TEMP TABLE ev_keys AS SELECT ${select}, count(*) AS n
       FROM (SELECT ${ids}bad_field, bad_reason, CASE WHEN bad_field IS NOT NULL THEN line END AS bline${okey} FROM (${plan.stageSql}))
       GROUP BY ${sets ? `GROUPING SETS ((${keys}), (okey)) HAVING grouping(okey) = 1 OR (okey IS NOT NULL AND count(*) > 1)` : keys}`,
      signal,
    );
    const [staged, bad, tuples] = await numbers(
      conn,
      `SELECT sum(n) FILTER (WHERE by_tuple), sum(n) FILTER (WHERE by_tuple AND bad_field IS NOT NULL), count(*) FILTER (WHERE by_tuple AND bad_field IS NULL) FROM ev_keys`,
    );
    Object.assign(this.counts, { staged, bad, idTuples: tuples });
    if (this.outer) {
      await runAbortable(
        conn,
        sets
          ? 'CREATE TEMP TABLE ev_repeats AS SELECT okey FROM ev_keys WHERE NOT by_tuple'
          : `CREATE TEMP TABLE ev_repeats AS SELECT outer_action_id AS okey FROM (${plan.rowsSql}) WHERE outer_action_id IS NOT NULL GROUP BY outer_action_id HAVING count(*) > 1`,
        signal,
      );
      [this.counts.repeatedOuterIds] = await numbers(conn, 'SELECT count(*) FROM ev_repeats');
    }
    if (plan.readerRejects) [this.counts.readerRejected] = await numbers(conn, 'SELECT count(*) FROM ev_rejects');
  }

  /**
   * The user actions of the file whose outer_action_id the account has
   * stored already in the action set are left out. An account and set with
   * no stored outer_action_id (a first load, a set whose actions carry none)
   * costs one look. Otherwise only the stored rows whose id is in the file
   * are kept aside (a semi-join on the file's ids, one more read of that
   * column), so the rows pass checks against those few, not against the
   * whole history. DuckDB only: PostgreSQL checks its own rows as they
   * arrive.
   */
  async excludeStored(accountId: string, actionSetId: number | null): Promise<void> {
    if (!this.outer || this.counts.idTuples === 0) return;
    const t = performance.now();
    const scope = 'account_id = $1 AND coalesce(action_set_id, 0) = coalesce($2::BIGINT, 0) AND outer_action_id IS NOT NULL';
    const [any] = await numbers(this.conn, `SELECT count(*) FROM (SELECT 1 FROM user_actions WHERE ${scope} LIMIT 1)`, [accountId, actionSetId]);
    if (any > 0) {
      await runAbortable(
        this.conn,
        `CREATE TEMP TABLE ev_seen AS SELECT DISTINCT outer_action_id AS okey FROM user_actions
         WHERE ${scope} AND outer_action_id IN (SELECT outer_action_id FROM (${this.plan.rowsSql}) WHERE outer_action_id IS NOT NULL)`,
        this.signal,
        [accountId, actionSetId],
      );
      [this.counts.storedOuterIds] = await numbers(this.conn, 'SELECT count(*) FROM ev_seen');
    }
    this.lap('dedup', t);
  }

  /** The join of the file's rows (`a`) with a table of tuples (`b`): one id column is a plain equi-join, several are null-safe on each. */
  private on(a: string, b: string): string {
    if (this.ids.length === 1) return `${a}.id_0 = ${b}.id_0`;
    return this.ids.map((c) => `${a}.${c} IS NOT DISTINCT FROM ${b}.${c}`).join(' AND ');
  }

  /** The join of the file's rows (`s`) with ev_idmap (`m`). */
  private mapped(m: string, s: string): string {
    return this.byHash ? `${m}.h = hash(${this.ids.map((c) => `${s}.${c}`).join(', ')})` : this.on(m, s);
  }

  /** A good row of the file: not one of the refused lines, or, when the checking pass had no lines, not refused by the check (which runs again). */
  private notBad(s: string): string {
    return this.lines ? `${s}.line NOT IN (SELECT bline FROM ev_keys WHERE bline IS NOT NULL)` : `${s}.bad_field IS NULL`;
  }

  /**
   * The rows pass: the good rows with their users (line, the data columns,
   * user_id), each outer_action_id once (the first good row of it in the
   * file) and, after excludeStored, none already stored. A condition is
   * written only when its table has rows: a file with no refusals and no
   * repeated or stored ids is one read and one join.
   */
  rowsSelect(): string {
    const data = FileStage.dataColumns(this.plan).map((c) => `s.${c}`).join(', ');
    if (this.ids.length === 0 || this.counts.idTuples === 0) return `SELECT s.line, ${data}, NULL::UINTEGER AS user_id FROM (${this.plan.rowsSql}) s WHERE false`;
    // A repeated outer_action_id keeps its first row by line: then the rows need their lines.
    const source = this.counts.repeatedOuterIds > 0 ? this.numbered : this.plan.rowsSql;
    const where: string[] = [];
    if (this.counts.bad > 0) where.push(this.notBad('s'));
    if (this.counts.storedOuterIds > 0) where.push('(s.outer_action_id IS NULL OR s.outer_action_id NOT IN (SELECT okey FROM ev_seen))');
    if (this.counts.repeatedOuterIds > 0) {
      where.push(
        '(s.outer_action_id IS NULL OR s.outer_action_id NOT IN (SELECT okey FROM ev_repeats) OR s.line IN (SELECT line FROM ev_first))',
      );
    }
    return `SELECT s.line, ${data}, m.user_id FROM (${source}) s JOIN ev_idmap m ON ${this.mapped('m', 's')}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  }

  /** The load's result once `stored` rows are in: the rest of the good rows were duplicates. */
  async result(stored: number): Promise<BulkResult> {
    const t = performance.now();
    const { refused, samples } = await this.refusals();
    this.lap('report', t);
    const { staged, readerRejected, idTuples } = this.counts;
    return { rows: staged + readerRejected, stored, duplicates: this.good - stored, refused, samples, idTuples, timings: this.timings };
  }

  /** Refused rows of every stage: the count, and the first by line. */
  private async refusals(): Promise<{ refused: number; samples: RefusedRow[] }> {
    const conn = this.conn;
    const { bad, refusedByMapper, readerRejected } = this.counts;
    const parts: string[] = [];
    // Without lines from the checking pass, the refused rows' lines come from one more (numbered) read.
    if (bad > 0) parts.push(this.lines ? 'SELECT bline AS line, bad_field AS field, bad_reason AS reason FROM ev_keys WHERE bline IS NOT NULL' : `SELECT line, bad_field AS field, bad_reason AS reason FROM (${this.numbered}) WHERE bad_field IS NOT NULL`);
    if (refusedByMapper > 0) {
      // The mapper refused tuples, not lines: the lines come from one more read of the file.
      parts.push(
        `SELECT s.line, r.field, r.reason FROM (${this.numbered}) s JOIN ev_refused f ON ${this.on('f', 's')} JOIN ev_reasons r ON r.code = f.why${bad > 0 ? ` WHERE ${this.notBad('s')}` : ''}`,
      );
    }
    let samples: RefusedRow[] = [];
    if (parts.length > 0) {
      const rows = (await conn.runAndReadAll(`SELECT line, field, reason FROM (${parts.join(' UNION ALL ')}) ORDER BY line LIMIT ${SAMPLE_LIMIT}`)).getRows();
      samples = rows.map((r) => ({ line: Number(r[0]), field: String(r[1]), reason: String(r[2]) }));
    }
    if (this.plan.readerRejects && readerRejected > 0) samples = await this.withReaderRejects(samples);
    return { refused: bad + refusedByMapper + readerRejected, samples };
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
    for (const t of TEMP_TABLES) await this.conn.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  }

  /** Sends the tuples to the mapper batch by batch and appends (ix, user, why) to ev_users. */
  private async mapTuples(mapper: IdMapper): Promise<void> {
    const { conn, signal } = this;
    await conn.run('CREATE TEMP TABLE ev_users (ix UINTEGER, user_id UINTEGER, why USMALLINT)');
    // Each column's values of a batch as one LF-joined blob: one value per
    // batch crosses into JavaScript instead of one per id. Every id field
    // goes, in the plan's order, even one no good row has (its lines are
    // empty): the mapper reads column i as id field i.
    const text = (c: string) => `encode(string_agg(coalesce(replace(replace(${c}, chr(10), ' '), chr(13), ' '), ''), chr(10) ORDER BY ix))`;
    const result = await conn.stream(`SELECT ix // ${TUPLE_BATCH} AS b, count(*) AS n, ${this.ids.map(text).join(', ')} FROM ev_tuples GROUP BY b ORDER BY b`);
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
          const columns = this.ids.map((_, i) => {
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
              if (w > 0) this.refusedTuples++;
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
