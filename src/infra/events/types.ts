// What the loader and the rule compiler need from an event store, whichever
// engine keeps the events: DuckDB embedded in the service (duckdb.ts) or the
// service's PostgreSQL (postgres.ts). Rows arrive already checked; ids arrive
// as text and leave as users through the IdMapper the loader hands in.
import type { Bitmap } from '../bitmaps/index.js';
import type { EventEngine, EventKind } from './schema.js';

/**
 * Rows of one kind, already checked and mapped: one array per row, in the
 * order of COLUMNS[kind] without account_id (the batch's account). Times are
 * epoch milliseconds (UTC); params a flat string map or null; ids numbers.
 */
export interface EventRows {
  kind: EventKind;
  accountId: string;
  rows: unknown[][];
}

export interface AppendResult {
  stored: number;
  /** Rows not stored: their (account, action set, outer_action_id) is stored already or came earlier in the batch. */
  duplicates: number;
  /** The index in `rows` of each duplicate, ascending. */
  duplicateIndexes: number[];
}

/** A statement the rule compiler made for this engine: `$1`, `$2`, … bound to `params`; its first column is a user id. */
export interface RuleQuery {
  sql: string;
  params: ReadonlyArray<string | number | boolean | null>;
}

/**
 * A file to load. `stageSql`, `rowsSql` and `linesSql` are DuckDB SELECTs
 * (file-sql.ts) over the file that yield, in this order: `line`, the kind's
 * columns from COLUMNS[kind] after user_id (params as MAP(VARCHAR,
 * VARCHAR)), `id_0` … `id_{k-1}` (the id fields as text, null when absent),
 * `bad_field`, `bad_reason` (null for a good row). The file is read twice
 * (stage.ts): the checking pass reads `stageSql` (the only one that keeps
 * the CSV reader's refusals), the rows pass `rowsSql`. Every engine parses
 * files with DuckDB, which reads CSV, NDJSON and Parquet natively;
 * PostgreSQL then receives the mapped rows.
 */
export interface BulkPlan {
  kind: EventKind;
  accountId: string;
  actionSetId: number | null;
  stageSql: string;
  rowsSql: string;
  /**
   * The rows numbered, when `stageSql` and `rowsSql` leave `line` NULL (CSV
   * and NDJSON: numbering their lines reads them on one thread). Read only
   * when a line is wanted: a refused row's, or the first of a repeated
   * outer_action_id. Absent: the other two number the rows (Parquet).
   */
  linesSql?: string;
  /** The id fields, in id_i order (for the reasons the mapper gives). */
  idFields: readonly string[];
  /** True when the reader keeps the rows it cannot parse (CSV): they count as refused, with the reader's line and message. */
  readerRejects: boolean;
  /**
   * Names the load for exactly-once: recorded in the transaction that stores
   * its rows, so a second run with the same key stores nothing and answers
   * the first run's result.
   */
  loadKey?: string;
  /** Runs after every row is in place and before the commit (the dictionary commits the users handed out). */
  beforeCommit?: () => Promise<void>;
  /** Called between the stages, for progress. */
  progress?: (stage: string, detail?: Record<string, unknown>) => void;
}

/**
 * One batch of distinct id tuples: for each id field, the values of `count`
 * tuples as LF-separated lines, an empty line where the tuple has no value.
 * Line breaks inside a value arrive as spaces.
 */
export interface TupleBatch {
  count: number;
  columns: Buffer[];
}

/** One user per tuple; `why[t]` > 0 refuses tuple t with reasons[why[t] - 1] (its user is then ignored). */
export interface TupleUsers {
  users: Uint32Array;
  why: Uint16Array;
  reasons: ReadonlyArray<{ field: string; reason: string }>;
}

export type IdMapper = (batch: TupleBatch) => Promise<TupleUsers>;

export interface RefusedRow {
  /** Line of the file (CSV: the header is line 1; Parquet: the row number, from 1). */
  line: number;
  field: string;
  reason: string;
}

export interface BulkResult {
  /** Rows read, the reader's refusals included. */
  rows: number;
  stored: number;
  duplicates: number;
  refused: number;
  /** The first refusals by line. */
  samples: RefusedRow[];
  /** Distinct id tuples mapped. */
  idTuples: number;
  timings: Record<string, number>;
}

export interface EventStore {
  readonly engine: EventEngine;
  /** Creates the tables when missing. */
  init(): Promise<void>;
  /** Stores a batch; de-duplicated on (account, action set, outer_action_id) for user actions. */
  append(batch: EventRows): Promise<AppendResult>;
  /**
   * Loads a file in one transaction: staged, ids mapped through `mapper`,
   * de-duplicated, inserted. It lands whole or not at all; `signal` aborts it.
   */
  bulkLoad(plan: BulkPlan, mapper: IdMapper, signal?: AbortSignal): Promise<BulkResult>;
  /** A small read-only DuckDB query about a file (its columns, its keys), run where files are parsed. */
  probe(sql: string): Promise<unknown[][]>;
  /** The distinct users a rule's statement returns. */
  users(query: RuleQuery): Promise<Bitmap>;
  /** Rows of a kind, of one account or of all. */
  count(kind: EventKind, accountId?: string): Promise<number>;
  /** Removes every event of an account. */
  deleteAccount(accountId: string): Promise<void>;
  close(): Promise<void>;
}

export const SAMPLE_LIMIT = 100;
