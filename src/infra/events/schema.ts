// The event tables, one definition per engine (docs/behaviour-data.md).
// Event time is UTC; every row carries its account; user_id is the identity
// dictionary's user. The loader writes these columns and the rule compiler
// reads them, so both take the names from here.

export type EventEngine = 'duckdb' | 'postgres';

export const EVENT_KINDS = ['user_actions', 'ad_events', 'location_pings'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** The time column of each kind: what windows and partitions cut on. */
export const TIME_COLUMN: Record<EventKind, string> = {
  user_actions: 'action_time',
  ad_events: 'event_time',
  location_pings: 'ping_time',
};

/** Columns of each kind in order, with the type each engine stores them as. */
export const COLUMNS: Record<EventKind, ReadonlyArray<readonly [name: string, duckdb: string, postgres: string]>> = {
  user_actions: [
    ['account_id', 'VARCHAR', 'text'],
    ['action_set_id', 'BIGINT', 'bigint'],
    ['user_id', 'UINTEGER', 'bigint'],
    ['action_time', 'TIMESTAMP', 'timestamp'],
    ['action_type', 'VARCHAR', 'text'],
    ['custom_action', 'VARCHAR', 'text'],
    // Action parameters as strings; rules cast where they compare numbers.
    ['params', 'MAP(VARCHAR, VARCHAR)', 'jsonb'],
    ['url', 'VARCHAR', 'text'],
    ['keyword', 'VARCHAR', 'text'],
    ['outer_action_id', 'VARCHAR', 'text'],
  ],
  ad_events: [
    ['account_id', 'VARCHAR', 'text'],
    ['user_id', 'UINTEGER', 'bigint'],
    ['event_time', 'TIMESTAMP', 'timestamp'],
    ['event_type', 'VARCHAR', 'text'],
    ['conversion_type', 'VARCHAR', 'text'],
    ['campaign_id', 'BIGINT', 'bigint'],
    ['adgroup_id', 'BIGINT', 'bigint'],
    ['promoted_object_type', 'VARCHAR', 'text'],
    ['promoted_object_id', 'VARCHAR', 'text'],
  ],
  location_pings: [
    ['account_id', 'VARCHAR', 'text'],
    ['user_id', 'UINTEGER', 'bigint'],
    ['ping_time', 'TIMESTAMP', 'timestamp'],
    ['latitude', 'DOUBLE', 'double precision'],
    ['longitude', 'DOUBLE', 'double precision'],
    ['region_id', 'BIGINT', 'bigint'],
    ['city_code', 'BIGINT', 'bigint'],
    ['poi_id', 'VARCHAR', 'text'],
    ['poi_category', 'BIGINT', 'bigint'],
  ],
};

/**
 * The statements that create the tables. PostgreSQL tables are partitioned
 * by month of event time (partitions are made by the loader as months
 * appear); DuckDB needs no partitions to skip old data, its row groups
 * carry min/max of every column.
 */
export function createTables(engine: EventEngine): string[] {
  return Object.entries(COLUMNS).map(([kind, cols]) => {
    const body = cols.map(([name, duck, pg]) => `${name} ${engine === 'duckdb' ? duck : pg}`).join(', ');
    return engine === 'duckdb'
      ? `CREATE TABLE IF NOT EXISTS ${kind} (${body})`
      : `CREATE TABLE IF NOT EXISTS ${kind} (${body}) PARTITION BY RANGE (${TIME_COLUMN[kind as EventKind]})`;
  });
}

/**
 * The lines of a batch of user actions (the temporary table ev_batch, line
 * numbered from 0) to leave out: a later row of an outer_action_id the batch
 * repeats (numbered in one sort; a self-join is quadratic in the rows), or
 * an id the account ($1) has stored in the same action set. Both engines
 * run it as it is.
 */
export const BATCH_DUPLICATES_SQL = `SELECT x.line FROM (
    SELECT b.line, b.outer_action_id, b.action_set_id,
      row_number() OVER (PARTITION BY b.outer_action_id, coalesce(b.action_set_id, 0) ORDER BY b.line) AS k
    FROM ev_batch b WHERE b.outer_action_id IS NOT NULL) x
  WHERE x.k > 1 OR EXISTS (SELECT 1 FROM user_actions u WHERE u.account_id = $1 AND u.outer_action_id = x.outer_action_id AND coalesce(u.action_set_id, 0) = coalesce(x.action_set_id, 0))
  ORDER BY x.line`;

/**
 * Loads already stored, by key, with their result: written in the
 * transaction that stores a load's rows, so a load retried after a crash
 * between that commit and its job's bookkeeping stores nothing twice.
 */
export function createMarksTable(engine: EventEngine): string {
  return engine === 'duckdb'
    ? 'CREATE TABLE IF NOT EXISTS event_load_marks (load_key VARCHAR PRIMARY KEY, result VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)'
    : 'CREATE TABLE IF NOT EXISTS event_load_marks (load_key text PRIMARY KEY, result text NOT NULL, created_at timestamp NOT NULL)';
}
