// The embedded event store: one DuckDB database file, <dataDir>/events.duckdb,
// opened with the service and closed with it (docs/behaviour-data.md).
//
// - Extensions: json, parquet and icu are built into the package; auto-install
//   and auto-load are off, so nothing is ever downloaded.
// - Writes of one account take turns (a lock per account), so the
//   outer_action_id check and the insert it guards see each other; accounts
//   write side by side (DuckDB appends never conflict).
// - Every load and batch runs on a connection of its own, in one transaction:
//   its staging tables are the connection's, and it lands whole or not at all.
// - Rule results are read a chunk of 2,048 user ids at a time and become a
//   bitmap after a radix sort; no row is ever a JavaScript object.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance, timestampValue, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { dedupeSorted, empty, fromSorted, radixSortU32, type Bitmap } from '../bitmaps/index.js';
import { BATCH_DUPLICATES_SQL, COLUMNS, createMarksTable, createTables, EVENT_KINDS, type EventKind } from './schema.js';
import { duckdbOptions, FileStage, runAbortable } from './stage.js';
import type { AppendResult, BulkPlan, BulkResult, EventRows, EventStore, IdMapper, RuleQuery } from './types.js';

export interface DuckDbOptions {
  /** A file path, or ':memory:'. */
  path: string;
  threads?: number;
  /** DuckDB's memory_limit, e.g. '4GB'. */
  memoryLimit?: string;
  /** Where DuckDB spills what does not fit in memory. */
  tempDirectory?: string;
}

/** Serializes work by key: each task starts when the previous one of its key has settled. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

export class DuckDbEventStore implements EventStore {
  readonly engine = 'duckdb' as const;
  private instance: DuckDBInstance | undefined;
  private readonly lock = new KeyedLock();
  private readonly open = new Set<DuckDBConnection>();

  constructor(private readonly opts: DuckDbOptions) {}

  async init(): Promise<void> {
    if (this.instance) return;
    if (this.opts.path !== ':memory:') mkdirSync(dirname(this.opts.path), { recursive: true });
    this.instance = await DuckDBInstance.create(this.opts.path, duckdbOptions(this.opts));
    await this.with(async (c) => {
      for (const s of createTables('duckdb')) await c.run(s);
      await c.run(createMarksTable('duckdb'));
    });
  }

  /** A connection of its own for `fn`, closed after. */
  private async with<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (!this.instance) throw new Error('the event store is not open');
    const c = await this.instance.connect();
    this.open.add(c);
    try {
      return await fn(c);
    } finally {
      this.open.delete(c);
      c.closeSync();
    }
  }

  /** `fn` in a transaction on a connection of its own: committed when it returns, rolled back when it throws. */
  private transaction<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.with(async (c) => {
      await c.run('BEGIN TRANSACTION');
      try {
        const out = await fn(c);
        await c.run('COMMIT');
        return out;
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  append(batch: EventRows): Promise<AppendResult> {
    if (batch.rows.length === 0) return Promise.resolve({ stored: 0, duplicates: 0, duplicateIndexes: [] });
    return this.lock.run(batch.accountId, () => this.transaction((c) => this.appendIn(c, batch)));
  }

  private async appendIn(c: DuckDBConnection, batch: EventRows): Promise<AppendResult> {
    const { kind, accountId, rows } = batch;
    const cols = COLUMNS[kind].filter(([n]) => n !== 'account_id');
    // The batch goes into a temporary table through the appender (params as
    // JSON text, made a MAP by the insert), then into the kind's table with
    // one INSERT … SELECT that leaves the duplicates out.
    const tmpCols = cols.map(([n, duck]) => `${n} ${n === 'params' ? 'VARCHAR' : duck}`);
    await c.run(`CREATE TEMP TABLE ev_batch (line UINTEGER, ${tmpCols.join(', ')})`);
    const app = await c.createAppender('ev_batch', 'main', 'temp');
    try {
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        app.appendUInteger(i);
        for (let k = 0; k < cols.length; k++) appendValue(app, cols[k][1], cols[k][0], row[k]);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
    let duplicateIndexes: number[] = [];
    if (kind === 'user_actions') {
      const dup = await c.runAndReadAll(BATCH_DUPLICATES_SQL, [accountId]);
      duplicateIndexes = dup.getRows().map((r) => Number(r[0]));
    }
    const select = cols.map(([n]) => (n === 'params' ? `CAST(CAST(params AS JSON) AS MAP(VARCHAR, VARCHAR))` : n)).join(', ');
    const dupSet = duplicateIndexes.length ? `WHERE line NOT IN (${duplicateIndexes.join(',')})` : '';
    const stored = await runAbortable(c, `INSERT INTO ${kind} (account_id, ${cols.map(([n]) => n).join(', ')}) SELECT $1, ${select} FROM ev_batch ${dupSet}`, undefined, [accountId]);
    await c.run('DROP TABLE ev_batch');
    return { stored, duplicates: duplicateIndexes.length, duplicateIndexes };
  }

  bulkLoad(plan: BulkPlan, mapper: IdMapper, signal?: AbortSignal): Promise<BulkResult> {
    return this.lock.run(plan.accountId, () =>
      this.transaction(async (c) => {
        const started = performance.now();
        if (plan.loadKey) {
          const done = (await c.runAndReadAll('SELECT result FROM event_load_marks WHERE load_key = $1', [plan.loadKey])).getRows()[0];
          if (done) return JSON.parse(String(done[0])) as BulkResult;
        }
        const stage = new FileStage(c, plan, signal);
        try {
          await stage.prepare(mapper);
          plan.progress?.('insert', { tuples: stage.counts.idTuples });
          if (plan.kind === 'user_actions') await stage.excludeStored(plan.accountId, plan.actionSetId);
          let t = performance.now();
          const stored = await this.insertRows(c, plan, stage, signal);
          stage.timings.insert = Math.round(performance.now() - t);
          const result = await stage.result(stored);
          if (plan.loadKey) await c.run('INSERT INTO event_load_marks VALUES ($1, $2, now())', [plan.loadKey, JSON.stringify(result)]);
          t = performance.now();
          await plan.beforeCommit?.();
          stage.timings.before_commit = Math.round(performance.now() - t);
          stage.timings.total = Math.round(performance.now() - started);
          return result;
        } finally {
          await stage.drop();
        }
      }),
    );
  }

  /**
   * The rows pass straight into the kind's table: one INSERT … SELECT from
   * the file, joined with the users, in the load's transaction (DuckDB
   * writes the row groups as they fill, in parallel: events have no order
   * to keep). The de-duplication is in the SELECT (FileStage.rowsSelect).
   */
  private insertRows(c: DuckDBConnection, plan: BulkPlan, stage: FileStage, signal?: AbortSignal): Promise<number> {
    const data = FileStage.dataColumns(plan);
    const hasSet = COLUMNS[plan.kind].some(([n]) => n === 'action_set_id');
    const target = `account_id, ${hasSet ? 'action_set_id, ' : ''}user_id, ${data.join(', ')}`;
    const values = `$1, ${hasSet ? '$2::BIGINT, ' : ''}f.user_id, ${data.map((d) => `f.${d}`).join(', ')}`;
    const params: DuckDBValue[] = hasSet ? [plan.accountId, plan.actionSetId] : [plan.accountId];
    return runAbortable(c, `INSERT INTO ${plan.kind} (${target}) SELECT ${values} FROM (${stage.rowsSelect()}) f`, signal, params);
  }

  async users(query: RuleQuery): Promise<Bitmap> {
    return this.with(async (c) => {
      const result = await c.stream(query.sql, query.params as DuckDBValue[]);
      const ids = await collectIds(async () => {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) return undefined;
        const v = chunk.getColumnVector(0);
        const raw = rawIds(v);
        if (raw) return { count: chunk.rowCount, ...raw };
        return { count: chunk.rowCount, get: (i: number) => v.getItem(i) as number | bigint | null };
      });
      return ids;
    });
  }

  probe(sql: string): Promise<unknown[][]> {
    return this.with(async (c) => (await c.runAndReadAll(sql)).getRows());
  }

  async count(kind: EventKind, accountId?: string): Promise<number> {
    return this.with(async (c) => {
      const r = accountId === undefined ? await c.runAndReadAll(`SELECT count(*) FROM ${kind}`) : await c.runAndReadAll(`SELECT count(*) FROM ${kind} WHERE account_id = $1`, [accountId]);
      return Number(r.getRows()[0][0]);
    });
  }

  deleteAccount(accountId: string): Promise<void> {
    return this.lock.run(accountId, () =>
      this.transaction(async (c) => {
        for (const kind of EVENT_KINDS) await c.run(`DELETE FROM ${quoteIdent(kind)} WHERE account_id = $1`, [accountId]);
      }),
    );
  }

  async close(): Promise<void> {
    for (const c of this.open) c.interrupt();
    this.instance?.closeSync();
    this.instance = undefined;
  }
}

/** One value into the appender, by the column's DuckDB type. */
function appendValue(app: DuckDBAppender, duck: string, name: string, v: unknown): void {
  if (v === null || v === undefined) {
    app.appendNull();
    return;
  }
  if (name === 'params') app.appendVarchar(JSON.stringify(v));
  else if (duck === 'VARCHAR') app.appendVarchar(String(v));
  else if (duck === 'BIGINT') app.appendBigInt(BigInt(v as number));
  else if (duck === 'UINTEGER') app.appendUInteger(v as number);
  else if (duck === 'DOUBLE') app.appendDouble(v as number);
  // Microseconds since the epoch, as DuckDB keeps TIMESTAMP.
  else if (duck === 'TIMESTAMP') app.appendTimestamp(timestampValue(BigInt(Math.round(v as number)) * 1000n));
  else throw new Error(`no appender for ${duck} (${name})`);
}

/** User ids of a result, read chunk by chunk, sorted and de-duplicated into a bitmap. */
/**
 * A user id column's values as they lie in the chunk, read without a call per
 * value (getItem tests each value's validity with BigInt arithmetic, a third
 * of the time of a large rule). The fields are the vector's own (DuckDB's
 * client is pinned, see docs/architecture.md); when they are not what this
 * expects, undefined, and the values are read one by one.
 */
export function rawIds(v: unknown): { items: Uint32Array; validity: BigUint64Array | null } | undefined {
  const r = v as { items?: unknown; validity?: { data?: unknown } };
  if (!(r.items instanceof Uint32Array)) return undefined;
  const data = r.validity?.data;
  if (data !== null && !(data instanceof BigUint64Array)) return undefined;
  return { items: r.items, validity: data };
}

/**
 * A chunk of user ids: read one by one through `get`, or lying in `items`
 * with DuckDB's validity words (bit i of word i / 64 set when value i is not
 * NULL; no words when none is NULL).
 */
export type IdChunk =
  | { count: number; get(i: number): number | bigint | null; items?: undefined }
  | { count: number; items: Uint32Array; validity: BigUint64Array | null };

export async function collectIds(next: () => Promise<IdChunk | undefined>): Promise<Bitmap> {
  const parts: Uint32Array[] = [];
  let total = 0;
  let buf = new Uint32Array(1 << 16);
  let n = 0;
  const room = (k: number) => {
    if (n + k <= buf.length) return;
    parts.push(buf.subarray(0, n));
    total += n;
    buf = new Uint32Array(Math.max(k, Math.min(buf.length * 2, 1 << 22)));
    n = 0;
  };
  for (;;) {
    const chunk = await next();
    if (!chunk) break;
    room(chunk.count);
    if (chunk.items === undefined) {
      for (let i = 0; i < chunk.count; i++) {
        const v = chunk.get(i);
        if (v !== null) buf[n++] = Number(v);
      }
    } else if (chunk.validity === null) {
      buf.set(chunk.items.subarray(0, chunk.count), n);
      n += chunk.count;
    } else {
      const { items, validity } = chunk;
      for (let w = 0; w * 64 < chunk.count; w++) {
        const word = validity[w];
        const end = Math.min(chunk.count, w * 64 + 64);
        if (word === 0xffffffffffffffffn) {
          buf.set(items.subarray(w * 64, end), n);
          n += end - w * 64;
          continue;
        }
        const lo = Number(word & 0xffffffffn);
        const hi = Number(word >> 32n);
        for (let i = w * 64; i < end; i++) {
          const b = i - w * 64;
          if (((b < 32 ? lo >>> b : hi >>> (b - 32)) & 1) === 1) buf[n++] = items[i];
        }
      }
    }
  }
  if (total + n === 0) return empty();
  const all = new Uint32Array(total + n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  all.set(buf.subarray(0, n), at);
  radixSortU32(all);
  return fromSorted(dedupeSorted(all));
}
