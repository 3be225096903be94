// Tables the operator lets accounts build audiences from (PAI CreateGroup
// Source 3): databases named by alias in config `tables.sources`, each open
// to the accounts it lists. A read checks the alias (Project), the table and
// the column, compiles the Filter, and hands the column's non-null values out
// batch by batch; it never holds the whole table in memory.
//
// Decisions:
// - Read-only wherever the engine allows it: SQLite files are opened with
//   SQLITE_OPEN_READONLY; PostgreSQL sessions start with
//   default_transaction_read_only=on, appended last to the URL's `options`
//   so nothing in the URL can turn it off. Only SELECTs are ever sent, and
//   their text is built by Kysely from checked identifiers and parameters.
// - Lazily opened, closed with the app: a PostgreSQL pool (4 connections) is
//   made on a source's first read; a SQLite source opens one handle on its
//   first read for looking tables up, and one more per read in flight,
//   because a better-sqlite3 handle that is iterating cannot run anything
//   else. close() ends every read in flight and every handle and pool.
// - SQLite streams with Statement#iterate (64-bit integers as BigInt, so a
//   long numeric id is never rounded) and yields to the event loop between
//   batches; PostgreSQL reads through a server-side portal (pg-cursor), every
//   value as the server's text, so int8 and numeric ids stay exact.
// - The query asks for at most tables.maxRows + 1 rows: the database stops
//   there, and the read is refused (TooLarge) on the row past the cap.
// - A plain table or column name matches exactly, else the one name that
//   matches ignoring case (SQL reads unquoted names so); PostgreSQL also
//   takes `schema.table` for the schemas the source lists, the first of
//   which is where a bare name is looked up. A schema not listed is not
//   looked at: its tables are "not found", like tables the database role
//   cannot see.
// - A database that cannot be opened or fails mid-read is the deployment's
//   fault, answered as InternalError with a message that names the alias
//   only (the URL or path stays in the log, as the error's cause). An error
//   PostgreSQL raises about the filter's values (a text compared with an
//   integer column) is the client's: InvalidParameter naming Filter.
import { setImmediate as nextTurn } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
  type CompiledQuery,
} from 'kysely';
import type pg from 'pg';
import { schemasOf, type Config, type TableSourceConfig } from '../../config.js';
import { AppError, err } from '../../errors.js';
import { compileFilter, parseFilter, resolveColumn, type FilterNode } from './filter.js';

/** Rows fetched from the database at a time. */
const BATCH_ROWS = 10_000;
const PG_POOL_SIZE = 4;

export interface ColumnReadRequest {
  /** The source's alias (PAI's Project). */
  project: string;
  table: string;
  column: string;
  filter?: string;
}

/** One read in flight: the column's non-null values, batch by batch. */
export interface ColumnRead {
  /** The table and column as the database spells them. */
  readonly table: string;
  readonly column: string;
  /**
   * The values in batches of up to BATCH_ROWS (strings, numbers or
   * bigints, Buffers for SQLite blobs). Refuses with TooLarge past
   * tables.maxRows. Ends the read when done, refused or abandoned.
   */
  batches(): AsyncGenerator<unknown[]>;
  /** Ends the read; safe to call more than once. */
  close(): Promise<void>;
}

interface FoundTable {
  /** Identifier parts, e.g. [schema, table]. */
  path: string[];
  /** The name as the source spells it, for messages. */
  name: string;
  columns: string[];
}

interface RowCursor {
  /** Up to `n` first values of the next rows; none at the end. */
  read(n: number): Promise<unknown[]>;
  close(): Promise<void>;
}

interface Engine {
  /** The table a name means, undefined when there is none, or the names it could mean. */
  describe(table: string): Promise<FoundTable | { ambiguous: string[] } | undefined>;
  /** Runs the read's query; `table` names the table in refusals. */
  query(q: CompiledQuery, table: string): Promise<RowCursor>;
  close(): Promise<void>;
}

/** Kysely with no connection: it only turns the query into each engine's SQL text and parameters. */
export function sqlCompiler(kind: TableSourceConfig['kind']): Kysely<unknown> {
  const dialect =
    kind === 'postgres'
      ? { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db: Kysely<unknown>) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() }
      : { createAdapter: () => new SqliteAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db: Kysely<unknown>) => new SqliteIntrospector(db), createQueryCompiler: () => new SqliteQueryCompiler() };
  return new Kysely<unknown>({ dialect });
}

const COMPILERS = { sqlite: sqlCompiler('sqlite'), postgres: sqlCompiler('postgres') };

/** The deployment's fault: the client learns which source, the log learns why. */
function sourceFailed(alias: string, cause: unknown): AppError {
  if (cause instanceof AppError) return cause;
  const e = err('InternalError', `table source ${alias} could not be read; retry later, or ask the operator to check it`);
  (e as { cause?: unknown }).cause = cause;
  return e;
}

/** The one name of `names` that `name` means (exactly, else ignoring case), or the several it could mean. */
function pick(names: readonly string[], name: string): string | { ambiguous: string[] } | undefined {
  return resolveColumn(names, name, false);
}

class SqliteEngine implements Engine {
  private meta?: SQLite.Database;
  private readonly reading = new Set<RowCursor>();

  constructor(private readonly path: string) {}

  private connect(): SQLite.Database {
    const db = new SQLite(this.path, { readonly: true, fileMustExist: true });
    // LIKE as on PostgreSQL (and MaxCompute): case-sensitive.
    db.pragma('case_sensitive_like = ON');
    return db;
  }

  async describe(table: string): Promise<FoundTable | { ambiguous: string[] } | undefined> {
    this.meta ??= this.connect();
    const names = this.meta
      .prepare<[string], string>("select name from sqlite_master where type in ('table', 'view') and name = ? collate nocase and name not like 'sqlite\\_%' escape '\\'")
      .pluck()
      .all(table);
    const name = pick(names, table);
    if (name === undefined || typeof name !== 'string') return name;
    // Hidden columns (1) belong to virtual tables; generated ones (2, 3) are readable.
    const columns = this.meta.prepare<[string], string>('select name from pragma_table_xinfo(?) where hidden <> 1 order by cid').pluck().all(name);
    return { path: [name], name, columns };
  }

  async query(q: CompiledQuery): Promise<RowCursor> {
    const db = this.connect();
    let rows: IterableIterator<unknown[]>;
    try {
      rows = db.prepare(q.sql).raw(true).safeIntegers(true).iterate(...(q.parameters as unknown[])) as IterableIterator<unknown[]>;
    } catch (e) {
      db.close();
      throw e;
    }
    let open = true;
    const cursor: RowCursor = {
      read: async (n) => {
        // Each batch is read synchronously; between batches other requests run.
        await nextTurn();
        const out: unknown[] = [];
        if (!open) return out;
        for (let i = 0; i < n; i++) {
          const r = rows.next();
          if (r.done) break;
          out.push(r.value[0]);
        }
        return out;
      },
      close: async () => {
        if (!open) return;
        open = false;
        this.reading.delete(cursor);
        rows.return?.();
        db.close();
      },
    };
    this.reading.add(cursor);
    return cursor;
  }

  async close(): Promise<void> {
    for (const c of [...this.reading]) await c.close();
    this.meta?.close();
    this.meta = undefined;
  }
}

/** Every value as the server's text: ids stay exactly as stored, whatever the column's type. */
const RAW_TEXT = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

/** The URL with default_transaction_read_only=on as the last of its session options, which wins over any earlier one. */
function readOnlyUrl(url: string): string {
  const u = new URL(url);
  const before = u.searchParams.get('options');
  u.searchParams.set('options', `${before ? `${before} ` : ''}-c default_transaction_read_only=on`);
  return u.toString();
}

/**
 * A PostgreSQL error that is the request's, not the deployment's: about the
 * values the filter compares (22xxx data exceptions, 42883 no such
 * operator, 42804 type mismatch), or a table whose reading would write
 * (25006, refused by the read-only session: a view over a function that
 * writes).
 */
function pgRequestError(e: unknown, table: string): AppError | undefined {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string') return undefined;
  if (code === '25006') return err('Forbidden', `reading table ${table} would write to the database, and table sources are read-only`, 'Table');
  if (code.startsWith('22') || code === '42883' || code === '42804') return err('InvalidParameter', `Filter: the database refused it: ${(e as Error).message}`, 'Filter');
  return undefined;
}

class PostgresEngine implements Engine {
  private pool?: Promise<pg.Pool>;
  private readonly reading = new Set<RowCursor>();

  constructor(
    private readonly url: string,
    private readonly schemas: string[],
  ) {}

  private poolOf(): Promise<pg.Pool> {
    this.pool ??= (async () => {
      // Loaded on first use: a deployment without PostgreSQL sources never pays for the driver.
      const { default: driver } = await import('pg');
      // A source that cannot be reached fails the request in seconds rather than at the OS's TCP timeout.
      const pool = new driver.Pool({ connectionString: readOnlyUrl(this.url), max: PG_POOL_SIZE, connectionTimeoutMillis: 10_000 });
      // An idle client losing its connection must not crash the process; the pool drops it.
      pool.on('error', () => undefined);
      return pool;
    })();
    return this.pool;
  }

  async describe(table: string): Promise<FoundTable | { ambiguous: string[] } | undefined> {
    let schema = this.schemas[0];
    let name = table;
    const dot = table.indexOf('.');
    if (dot > 0) {
      const listed = pick(this.schemas, table.slice(0, dot));
      if (typeof listed === 'string') {
        schema = listed;
        name = table.slice(dot + 1);
      }
    }
    const pool = await this.poolOf();
    const r = await pool.query<{ table_name: string; column_name: string }>(
      'select table_name, column_name from information_schema.columns where table_schema = $1 and lower(table_name) = lower($2) order by table_name, ordinal_position',
      [schema, name],
    );
    const byTable = new Map<string, string[]>();
    for (const row of r.rows) {
      const columns = byTable.get(row.table_name);
      if (columns) columns.push(row.column_name);
      else byTable.set(row.table_name, [row.column_name]);
    }
    const found = pick([...byTable.keys()], name);
    if (found === undefined || typeof found !== 'string') return found;
    return { path: [schema, found], name: `${schema}.${found}`, columns: byTable.get(found)! };
  }

  async query(q: CompiledQuery, table: string): Promise<RowCursor> {
    const pool = await this.poolOf();
    const { default: Cursor } = await import('pg-cursor');
    const client = await pool.connect();
    const portal = client.query(new Cursor<unknown[]>(q.sql, [...q.parameters], { rowMode: 'array', types: RAW_TEXT }));
    let open = true;
    let failed = false;
    const cursor: RowCursor = {
      read: async (n) => {
        if (!open) return [];
        try {
          const rows = await portal.read(n);
          return rows.map((r) => r[0]);
        } catch (e) {
          failed = true;
          throw pgRequestError(e, table) ?? e;
        }
      },
      close: async () => {
        if (!open) return;
        open = false;
        this.reading.delete(cursor);
        if (failed) {
          // A connection whose portal failed is dropped rather than handed to the next read.
          client.release(true);
          return;
        }
        try {
          await portal.close();
          client.release();
        } catch (e) {
          client.release(e as Error);
        }
      },
    };
    this.reading.add(cursor);
    return cursor;
  }

  async close(): Promise<void> {
    for (const c of [...this.reading]) await c.close().catch(() => undefined);
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool).end();
  }
}

/** The SELECT of one read: the column's non-null values matching the filter, at most `limit` rows. */
function columnQuery(kind: TableSourceConfig['kind'], table: FoundTable, column: string, filter: FilterNode | undefined, limit: number): CompiledQuery {
  const col = sql.id(column);
  const where = filter ? sql` and ${compileFilter(filter, table.columns)}` : sql``;
  return sql`select ${col} from ${sql.id(...table.path)} where ${col} is not null${where} limit ${limit}`.compile(COMPILERS[kind]);
}

export class TableSources {
  private readonly engines = new Map<string, Engine>();
  private closed = false;

  constructor(private readonly config: Config['tables']) {}

  /** Whether the operator configured any source at all. */
  get configured(): boolean {
    return Object.keys(this.config.sources).length > 0;
  }

  private sourceOf(accountId: string, alias: string): TableSourceConfig {
    const src = Object.hasOwn(this.config.sources, alias) ? this.config.sources[alias] : undefined;
    if (!src) throw err('NotFound', `Project ${alias} is not a table source of this deployment`, 'Project');
    const accounts = src.accounts ?? [];
    if (!accounts.includes('*') && !accounts.includes(accountId)) throw err('Forbidden', `this account may not read Project ${alias}; the operator decides which accounts each table source is open to`, 'Project');
    return src;
  }

  private engineOf(alias: string, src: TableSourceConfig): Engine {
    let e = this.engines.get(alias);
    if (!e) {
      e = src.kind === 'postgres' ? new PostgresEngine(src.url!, schemasOf(src)) : new SqliteEngine(src.path!);
      this.engines.set(alias, e);
    }
    return e;
  }

  /**
   * Checks the request in order (Project, Filter's syntax, Table, Column,
   * the Filter's columns) and starts the read. The caller closes it, or
   * reads batches() to the end.
   */
  async open(accountId: string, req: ColumnReadRequest): Promise<ColumnRead> {
    if (this.closed) throw new Error('table sources are closed');
    const alias = req.project;
    const src = this.sourceOf(accountId, alias);
    // The filter's syntax needs no database: a refused filter opens nothing.
    const filter = req.filter === undefined ? undefined : parseFilter(req.filter);
    const engine = this.engineOf(alias, src);
    let found: Awaited<ReturnType<Engine['describe']>>;
    try {
      found = await engine.describe(req.table);
    } catch (e) {
      throw sourceFailed(alias, e);
    }
    if (found === undefined) throw err('NotFound', `Project ${alias} has no table ${req.table}`, 'Table');
    if ('ambiguous' in found) throw err('InvalidParameter', `Table ${req.table} matches several tables that differ only in case (${found.ambiguous.join(', ')}); give the exact name`, 'Table');
    const table = found;
    const column = resolveColumn(table.columns, req.column, false);
    if (column === undefined) throw err('NotFound', `table ${table.name} has no column ${req.column}`, 'Column');
    if (typeof column !== 'string') throw err('InvalidParameter', `Column ${req.column} matches several columns that differ only in case (${column.ambiguous.join(', ')}); give the exact name`, 'Column');
    const q = columnQuery(src.kind, table, column, filter, this.config.maxRows + 1);
    let cursor: RowCursor;
    try {
      cursor = await engine.query(q, table.name);
    } catch (e) {
      throw sourceFailed(alias, e);
    }
    return new Read(alias, table.name, column, cursor, this.config.maxRows, req.filter !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.engines.values()) await e.close().catch(() => undefined);
    this.engines.clear();
  }
}

class Read implements ColumnRead {
  private rows = 0;

  constructor(
    private readonly alias: string,
    readonly table: string,
    readonly column: string,
    private readonly cursor: RowCursor,
    private readonly maxRows: number,
    private readonly filtered: boolean,
  ) {}

  async *batches(): AsyncGenerator<unknown[]> {
    try {
      for (;;) {
        let batch: unknown[];
        try {
          batch = await this.cursor.read(BATCH_ROWS);
        } catch (e) {
          throw sourceFailed(this.alias, e);
        }
        if (batch.length === 0) return;
        this.rows += batch.length;
        if (this.rows > this.maxRows) {
          throw err(
            'TooLarge',
            `table ${this.table} has more than ${this.maxRows} rows with a value in ${this.column}${this.filtered ? ' matching Filter' : ''}; a read takes at most ${this.maxRows} (tables.maxRows): narrow it with Filter`,
            this.filtered ? 'Filter' : 'Table',
          );
        }
        yield batch;
      }
    } finally {
      await this.close();
    }
  }

  close(): Promise<void> {
    return this.cursor.close();
  }
}
