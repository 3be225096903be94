// Test support: the event tables on either engine (DuckDB in memory, or a
// database of the throwaway PostgreSQL server with one DEFAULT partition per
// table), hand-made rows written in vendor-local time, and a runner that
// executes a compiled rule and answers its users sorted.
import { after, before, type TestContext } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { startPostgres, stopPostgres } from '../../../test/support/postgres.js';
import { COLUMNS, createTables, EVENT_KINDS, type EventEngine, type EventKind } from '../../infra/events/schema.js';
import { timestampText } from './time.js';
import type { CompiledRule } from './types.js';

export const OFFSET = 480;

/** The instant of a vendor-local wall time (GMT+8) 'yyyy-MM-dd HH:mm:ss[.SSS]'. */
export function localMs(at: string): number {
  const ms = Date.parse(`${at.replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) throw new Error(`bad fixture time ${at}`);
  return ms - OFFSET * 60_000;
}

/** A vendor-local wall time as the UTC text stored in the tables. */
const local = (at: string) => timestampText(localMs(at));

export interface ActionRow {
  account?: string;
  set?: number;
  user: number;
  at: string;
  type: string;
  custom?: string;
  params?: Record<string, string>;
  url?: string;
  keyword?: string;
}

export interface AdRow {
  account?: string;
  user: number;
  at: string;
  type: 'EXPOSURE' | 'CLICK' | 'CONVERSION';
  conversion?: string;
  campaign?: number;
  adgroup?: number;
  objectType?: string;
  objectId?: string;
}

export interface PingRow {
  account?: string;
  user: number;
  at: string;
  lat?: number;
  lon?: number;
  region?: number;
  city?: number | null;
  poi?: number;
}

export interface Fixture {
  actions: ActionRow[];
  ads: AdRow[];
  pings: PingRow[];
}

type Value = string | number | null;

/** The fixture's rows of a kind, by column. */
function rowsOf(kind: EventKind, f: Fixture, account: string): Array<Record<string, Value>> {
  switch (kind) {
    case 'user_actions':
      return f.actions.map((a) => ({
        account_id: a.account ?? account,
        action_set_id: a.set ?? null,
        user_id: a.user,
        action_time: local(a.at),
        action_type: a.type,
        custom_action: a.custom ?? null,
        params: JSON.stringify(a.params ?? {}),
        url: a.url ?? null,
        keyword: a.keyword ?? null,
      }));
    case 'ad_events':
      return f.ads.map((a) => ({
        account_id: a.account ?? account,
        user_id: a.user,
        event_time: local(a.at),
        event_type: a.type,
        conversion_type: a.conversion ?? null,
        campaign_id: a.campaign ?? null,
        adgroup_id: a.adgroup ?? null,
        promoted_object_type: a.objectType ?? null,
        promoted_object_id: a.objectId ?? null,
      }));
    case 'location_pings':
      return f.pings.map((p) => ({
        account_id: p.account ?? account,
        user_id: p.user,
        ping_time: local(p.at),
        latitude: p.lat ?? 0,
        longitude: p.lon ?? 0,
        region_id: p.region ?? null,
        city_code: p.city ?? null,
        poi_category: p.poi ?? null,
      }));
  }
}

/** One INSERT per fixture row, every value cast to its column's type on the engine (schema.ts). */
function inserts(engine: EventEngine, f: Fixture, account: string): Array<{ sql: string; values: Value[] }> {
  return EVENT_KINDS.flatMap((kind) => {
    const typeOf = new Map(COLUMNS[kind].map(([name, duck, postgres]) => [name, engine === 'duckdb' ? duck : postgres]));
    return rowsOf(kind, f, account).map((row) => {
      const cols = Object.keys(row);
      const vals = cols.map((c, i) => {
        const type = typeOf.get(c);
        if (engine === 'postgres') return `$${i + 1}::${type}`;
        // Parameters are given as JSON text, and DuckDB makes a MAP from JSON only.
        return c === 'params' ? `CAST(CAST(? AS JSON) AS ${type})` : `CAST(? AS ${type})`;
      });
      return { sql: `INSERT INTO ${kind} (${cols.join(', ')}) VALUES (${vals.join(', ')})`, values: Object.values(row) };
    });
  });
}

export interface EventDb {
  users(rule: CompiledRule): Promise<number[]>;
  /** Any statement, for checks around the rules (tables still there, …). */
  count(sql: string): Promise<number>;
  close(): Promise<void>;
}

const sorted = (ids: unknown[]) => ids.map(Number).sort((a, b) => a - b);

async function duckdbWith(f: Fixture, account: string): Promise<EventDb> {
  const inst = await DuckDBInstance.create(':memory:');
  const c: DuckDBConnection = await inst.connect();
  for (const s of createTables('duckdb')) await c.run(s);
  for (const row of inserts('duckdb', f, account)) await c.run(row.sql, row.values);
  return {
    async users(rule) {
      const r = await c.runAndReadAll(rule.sql, rule.params);
      return sorted(r.getRowObjects().map((o) => o.user_id));
    },
    async count(sql) {
      const r = await c.runAndReadAll(sql);
      return Number(r.getRows()[0][0]);
    },
    async close() {
      c.closeSync();
      inst.closeSync();
    },
  };
}

async function postgresWith(url: string, f: Fixture, account: string): Promise<EventDb> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const s of createTables('postgres')) await client.query(s);
  for (const kind of EVENT_KINDS) await client.query(`CREATE TABLE ${kind}_default PARTITION OF ${kind} DEFAULT`);
  await client.query('BEGIN');
  for (const row of inserts('postgres', f, account)) await client.query(row.sql, row.values);
  await client.query('COMMIT');
  return {
    async users(rule) {
      const r = await client.query(rule.sql, rule.params);
      return sorted(r.rows.map((o: { user_id: unknown }) => o.user_id));
    },
    async count(sql) {
      const r = await client.query(sql);
      return Number(Object.values(r.rows[0] as Record<string, unknown>)[0]);
    },
    async close() {
      await client.end();
    },
  };
}

/**
 * Both engines holding `f`, opened before the file's tests and closed after
 * them; PostgreSQL only when its throwaway server starts. The answer gives a
 * test its engine's database, or skips the test (and gives undefined) when
 * that engine is not there.
 */
export function bothEngines(f: Fixture, account: string): (engine: EventEngine, t: TestContext) => EventDb | undefined {
  const dbs: Partial<Record<EventEngine, EventDb>> = {};
  let pgSkip = 'SKIPPED: PostgreSQL was not started';
  before(async () => {
    dbs.duckdb = await duckdbWith(f, account);
    const started = await startPostgres();
    if (started.ok) dbs.postgres = await postgresWith(await started.server.createDatabase(), f, account);
    else pgSkip = started.skip;
  });
  after(async () => {
    await dbs.duckdb?.close();
    await dbs.postgres?.close();
    await stopPostgres();
  });
  return (engine, t) => {
    const db = dbs[engine];
    if (!db) t.skip(pgSkip);
    return db;
  };
}
