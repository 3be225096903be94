// The event store of the scale mode: the service's own PostgreSQL, every
// api and worker process reading the same events (docs/behaviour-data.md).
//
// - Each table is partitioned by month of its event time; a month's
//   partition is made when the first event of that month arrives (under an
//   advisory lock, outside the load's transaction, so two processes never
//   race on one and a load that rolls back leaves only an empty partition).
//   Old months go by dropping whole partitions.
// - Batches arrive as one INSERT … SELECT FROM unnest($1, $2, …) per
//   column-array set into a temporary table, then one INSERT … SELECT leaves
//   out the duplicates; never a statement per row.
// - Files are parsed, checked and mapped by DuckDB in memory (stage.ts; the
//   same pipeline as the embedded store), and the mapped rows are streamed
//   into PostgreSQL in the same way, in one transaction.
// - Writes of one account take an advisory lock for their transaction, so
//   the outer_action_id check sees every stored row, in any process.
// - Rule results come back as bytea built by the server, 8 bytes per user,
//   one row per range of 2^20 users: no row per user crosses the wire.
import { performance } from 'node:perf_hooks';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CompiledQuery, sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/index.js';
import { dedupeSorted, empty, fromSorted, radixSortU32, type Bitmap } from '../bitmaps/index.js';
import { BATCH_DUPLICATES_SQL, COLUMNS, createMarksTable, createTables, EVENT_KINDS, TIME_COLUMN, type EventKind } from './schema.js';
import { duckdbOptions, FileStage } from './stage.js';
import type { AppendResult, BulkPlan, BulkResult, EventRows, EventStore, IdMapper, RuleQuery } from './types.js';

export interface PgEventOptions {
  /** For the DuckDB that parses files: threads, memory, and where it spills. */
  threads?: number;
  memoryLimit?: string;
  tempDirectory?: string;
}

/** Rows per INSERT … SELECT FROM unnest(…). */
const INSERT_ROWS = 20_000;

/** The PostgreSQL array type of each column type. */
const ARRAY_TYPE: Record<string, string> = { text: 'text[]', bigint: 'bigint[]', timestamp: 'timestamp[]', jsonb: 'jsonb[]', 'double precision': 'float8[]' };

const pgTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export class PgEventStore implements EventStore {
  readonly engine = 'postgres' as const;
  private readonly months = new Set<string>();
  private duck: DuckDBInstance | undefined;

  constructor(
    private readonly db: Db,
    private readonly opts: PgEventOptions = {},
  ) {}

  async init(): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      // Processes starting together take turns: CREATE … IF NOT EXISTS is not safe against itself.
      await sql`SELECT pg_advisory_xact_lock(hashtext('audiencehub:event-tables'))`.execute(tx);
      for (const s of createTables('postgres')) await sql.raw(s).execute(tx);
      await sql.raw(createMarksTable('postgres')).execute(tx);
      for (const kind of EVENT_KINDS) {
        await sql.raw(`CREATE INDEX IF NOT EXISTS ${kind}_account_time ON ${kind} (account_id, ${TIME_COLUMN[kind]})`).execute(tx);
      }
      await sql.raw('CREATE INDEX IF NOT EXISTS user_actions_outer ON user_actions (account_id, outer_action_id) WHERE outer_action_id IS NOT NULL').execute(tx);
    });
  }

  /** The partitions of these months ('YYYY-MM'), made when missing. */
  private async ensureMonths(kind: EventKind, months: Iterable<string>): Promise<void> {
    const missing = [...new Set(months)].filter((m) => !this.months.has(`${kind}:${m}`));
    if (missing.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext('audiencehub:event-partitions'))`.execute(tx);
      for (const m of missing) {
        if (!/^\d{4}-\d{2}$/.test(m)) throw new Error(`not a month: ${m}`);
        const [y, mo] = m.split('-').map(Number);
        const next = mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
        await sql.raw(`CREATE TABLE IF NOT EXISTS ${kind}_p${y}${String(mo).padStart(2, '0')} PARTITION OF ${kind} FOR VALUES FROM ('${m}-01') TO ('${next}-01')`).execute(tx);
      }
    });
    for (const m of missing) this.months.add(`${kind}:${m}`);
  }

  /** Columns of a kind after account_id, with their PostgreSQL types. */
  private static cols(kind: EventKind): Array<[string, string]> {
    return COLUMNS[kind].filter(([n]) => n !== 'account_id').map(([n, , pg]) => [n, pg]);
  }

  private static lockAccount(tx: Db, accountId: string) {
    return sql`SELECT pg_advisory_xact_lock(hashtext(${`audiencehub:events:${accountId}`}))`.execute(tx);
  }

  /** `CREATE TEMP TABLE ev_batch` with a line number and the kind's columns, dropped at commit. */
  private static async tempTable(tx: Db, kind: EventKind): Promise<void> {
    const cols = PgEventStore.cols(kind);
    await sql.raw(`CREATE TEMP TABLE ev_batch (line bigint, ${cols.map(([n, t]) => `${n} ${t}`).join(', ')}) ON COMMIT DROP`).execute(tx);
  }

  /** One INSERT … SELECT FROM unnest(…) of column arrays into ev_batch. */
  private static async insertArrays(tx: Db, kind: EventKind, arrays: unknown[][]): Promise<void> {
    const cols = PgEventStore.cols(kind);
    const parts: RawBuilder<unknown>[] = [sql`${arrays[0]}::bigint[]`];
    cols.forEach(([, t], i) => parts.push(sql`${arrays[i + 1]}::${sql.raw(ARRAY_TYPE[t])}`));
    await sql`INSERT INTO ev_batch SELECT * FROM unnest(${sql.join(parts)})`.execute(tx);
  }

  /** ev_batch into the kind's table; user actions leave out stored or earlier outer_action_ids. Answers the lines left out. */
  private static async flush(tx: Db, kind: EventKind, accountId: string): Promise<{ stored: number; duplicateLines: number[] }> {
    const names = PgEventStore.cols(kind).map(([n]) => n);
    let duplicateLines: number[] = [];
    if (kind === 'user_actions') {
      // The stored ids are probed through the partial index on
      // outer_action_id. The temporary table has no statistics until it is
      // analysed, and a file load puts millions of rows in it.
      await sql`ANALYZE ev_batch`.execute(tx);
      const dup = await tx.executeQuery<{ line: number }>(CompiledQuery.raw(BATCH_DUPLICATES_SQL, [accountId]));
      duplicateLines = dup.rows.map((r) => Number(r.line));
      if (duplicateLines.length) await sql`DELETE FROM ev_batch WHERE line = ANY(${duplicateLines}::bigint[])`.execute(tx);
    }
    const n = await sql`INSERT INTO ${sql.table(kind)} (account_id, ${sql.join(names.map((x) => sql.ref(x)))}) SELECT ${accountId}, ${sql.join(names.map((x) => sql.ref(x)))} FROM ev_batch`.execute(tx);
    return { stored: Number(n.numAffectedRows ?? 0), duplicateLines };
  }

  async append(batch: EventRows): Promise<AppendResult> {
    const { kind, accountId, rows } = batch;
    if (rows.length === 0) return { stored: 0, duplicates: 0, duplicateIndexes: [] };
    const cols = PgEventStore.cols(kind);
    const timeAt = cols.findIndex(([n]) => n === TIME_COLUMN[kind]);
    await this.ensureMonths(kind, rows.map((r) => pgTime(r[timeAt] as number).slice(0, 7)));
    const arrays: unknown[][] = [rows.map((_, i) => i)];
    cols.forEach(([n, t], k) =>
      arrays.push(rows.map((r) => (r[k] === null || r[k] === undefined ? null : t === 'timestamp' ? pgTime(r[k] as number) : n === 'params' ? JSON.stringify(r[k]) : r[k]))),
    );
    return this.db.transaction().execute(async (tx) => {
      await PgEventStore.lockAccount(tx, accountId);
      await PgEventStore.tempTable(tx, kind);
      await PgEventStore.insertArrays(tx, kind, arrays);
      const { stored, duplicateLines } = await PgEventStore.flush(tx, kind, accountId);
      return { stored, duplicates: duplicateLines.length, duplicateIndexes: duplicateLines };
    });
  }

  private async duckdb(): Promise<DuckDBInstance> {
    this.duck ??= await DuckDBInstance.create(':memory:', duckdbOptions(this.opts));
    return this.duck;
  }

  private async withDuck<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await (await this.duckdb()).connect();
    try {
      return await fn(c);
    } finally {
      c.closeSync();
    }
  }

  probe(q: string): Promise<unknown[][]> {
    return this.withDuck(async (c) => (await c.runAndReadAll(q)).getRows());
  }

  async bulkLoad(plan: BulkPlan, mapper: IdMapper, signal?: AbortSignal): Promise<BulkResult> {
    const started = performance.now();
    if (plan.loadKey) {
      const done = await sql<{ result: string }>`SELECT result FROM event_load_marks WHERE load_key = ${plan.loadKey}`.execute(this.db);
      if (done.rows[0]) return JSON.parse(done.rows[0].result) as BulkResult;
    }
    return this.withDuck(async (c) => {
      const stage = new FileStage(c, plan, signal);
      try {
        await stage.prepare(mapper);
        plan.progress?.('insert', { tuples: stage.counts.idTuples });
        let t = performance.now();
        const data = FileStage.dataColumns(plan);
        const timeCol = TIME_COLUMN[plan.kind];
        // Within the file, the first row of each outer_action_id (rowsSelect); against the stored rows, PostgreSQL decides.
        // The rows pass of a CSV or NDJSON file is unnumbered: each row gets a number of its own, all the batch tables need.
        await c.run(`CREATE TEMP TABLE ev_final AS SELECT row_number() OVER () AS line, * EXCLUDE (line) FROM (${stage.rowsSelect()})`);
        const months = (await c.runAndReadAll(`SELECT DISTINCT strftime(${timeCol}, '%Y-%m') FROM ev_final`)).getRows().map((r) => String(r[0]));
        await this.ensureMonths(plan.kind, months);
        // Text the arrays take as they are: times as UTC text, params as JSON.
        const out = data.map((d) => (d === timeCol ? `strftime(${d}, '%Y-%m-%d %H:%M:%S.%f')` : d === 'params' ? `CAST(to_json(${d}) AS VARCHAR)` : d));
        const hasSet = plan.kind === 'user_actions';
        const result = await c.stream(`SELECT line, ${hasSet ? '$1::BIGINT, ' : ''}user_id, ${out.join(', ')} FROM ev_final`, hasSet ? [plan.actionSetId] : []);
        const width = (hasSet ? 3 : 2) + data.length;
        const stored = await this.db.transaction().execute(async (tx) => {
          await PgEventStore.lockAccount(tx, plan.accountId);
          await PgEventStore.tempTable(tx, plan.kind);
          let arrays: unknown[][] = Array.from({ length: width }, () => []);
          for (;;) {
            signal?.throwIfAborted();
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            const cols = chunk.getColumns();
            for (let k = 0; k < width; k++) {
              const dst = arrays[k];
              for (const v of cols[k]) dst.push(typeof v === 'bigint' ? String(v) : v);
            }
            if (arrays[0].length >= INSERT_ROWS) {
              await PgEventStore.insertArrays(tx, plan.kind, arrays);
              arrays = Array.from({ length: width }, () => []);
            }
          }
          if (arrays[0].length > 0) await PgEventStore.insertArrays(tx, plan.kind, arrays);
          const { stored: n } = await PgEventStore.flush(tx, plan.kind, plan.accountId);
          stage.timings.insert = Math.round(performance.now() - t);
          const res = await stage.result(n);
          if (plan.loadKey) await sql`INSERT INTO event_load_marks VALUES (${plan.loadKey}, ${JSON.stringify(res)}, now())`.execute(tx);
          await plan.beforeCommit?.();
          return res;
        });
        stage.timings.total = Math.round(performance.now() - started);
        return stored;
      } finally {
        await c.run('DROP TABLE IF EXISTS ev_final').catch(() => undefined);
        await stage.drop();
      }
    });
  }

  async users(query: RuleQuery): Promise<Bitmap> {
    const text = `SELECT string_agg(int8send(u), ''::bytea) AS b FROM (SELECT DISTINCT CAST(q.u AS bigint) AS u FROM (${query.sql}) AS q(u) WHERE q.u IS NOT NULL) d GROUP BY u >> 20`;
    const res = await this.db.executeQuery<{ b: Buffer }>(CompiledQuery.raw(text, [...query.params]));
    let total = 0;
    for (const row of res.rows) total += row.b.length >>> 3;
    if (total === 0) return empty();
    const ids = new Uint32Array(total);
    let at = 0;
    for (const row of res.rows) {
      const b = row.b;
      // int8send is big-endian; user ids fit the low 32 bits.
      for (let o = 4; o < b.length; o += 8) ids[at++] = b.readUInt32BE(o);
    }
    radixSortU32(ids);
    return fromSorted(dedupeSorted(ids));
  }

  async count(kind: EventKind, accountId?: string): Promise<number> {
    const r = accountId === undefined
      ? await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(kind)}`.execute(this.db)
      : await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(kind)} WHERE account_id = ${accountId}`.execute(this.db);
    return Number(r.rows[0].n);
  }

  async deleteAccount(accountId: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await PgEventStore.lockAccount(tx, accountId);
      for (const kind of EVENT_KINDS) await sql`DELETE FROM ${sql.table(kind)} WHERE account_id = ${accountId}`.execute(tx);
    });
  }

  async close(): Promise<void> {
    this.duck?.closeSync();
    this.duck = undefined;
  }
}
