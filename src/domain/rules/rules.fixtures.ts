// Test support: the event tables on either engine (DuckDB in memory, or a
// database of the throwaway PostgreSQL server with one DEFAULT partition per
// table), hand-made rows written in vendor-local time, and a runner that
// executes a compiled rule and answers its users sorted.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { createTables, EVENT_KINDS, type EventEngine, type EventKind } from '../../infra/events/schema.js';
import { timestampText } from './time.js';
import type { CompiledRule } from './types.js';

export const OFFSET = 480;

/** Vendor-local wall time (GMT+8) 'yyyy-MM-dd HH:mm:ss[.SSS]' as the UTC text stored in the tables. */
export function local(at: string): string {
  const ms = Date.parse(`${at.replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) throw new Error(`bad fixture time ${at}`);
  return timestampText(ms - OFFSET * 60_000);
}

/** The instant of a vendor-local wall time. */
export const localMs = (at: string) => Date.parse(`${at.replace(' ', 'T')}Z`) - OFFSET * 60_000;

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

/** One row as (column, value, SQL type) triples. */
function rowsOf(kind: EventKind, f: Fixture, account: string): Array<Array<[string, Value, 'text' | 'bigint' | 'timestamp' | 'double' | 'params']>> {
  switch (kind) {
    case 'user_actions':
      return f.actions.map((a) => [
        ['account_id', a.account ?? account, 'text'],
        ['action_set_id', a.set ?? null, 'bigint'],
        ['user_id', a.user, 'bigint'],
        ['action_time', local(a.at), 'timestamp'],
        ['action_type', a.type, 'text'],
        ['custom_action', a.custom ?? null, 'text'],
        ['params', JSON.stringify(a.params ?? {}), 'params'],
        ['url', a.url ?? null, 'text'],
        ['keyword', a.keyword ?? null, 'text'],
      ]);
    case 'ad_events':
      return f.ads.map((a) => [
        ['account_id', a.account ?? account, 'text'],
        ['user_id', a.user, 'bigint'],
        ['event_time', local(a.at), 'timestamp'],
        ['event_type', a.type, 'text'],
        ['conversion_type', a.conversion ?? null, 'text'],
        ['campaign_id', a.campaign ?? null, 'bigint'],
        ['adgroup_id', a.adgroup ?? null, 'bigint'],
        ['promoted_object_type', a.objectType ?? null, 'text'],
        ['promoted_object_id', a.objectId ?? null, 'text'],
      ]);
    case 'location_pings':
      return f.pings.map((p) => [
        ['account_id', p.account ?? account, 'text'],
        ['user_id', p.user, 'bigint'],
        ['ping_time', local(p.at), 'timestamp'],
        ['latitude', p.lat ?? 0, 'double'],
        ['longitude', p.lon ?? 0, 'double'],
        ['region_id', p.region ?? null, 'bigint'],
        ['city_code', p.city ?? null, 'bigint'],
        ['poi_category', p.poi ?? null, 'bigint'],
      ]);
  }
}

export interface EventDb {
  engine: EventEngine;
  users(rule: CompiledRule): Promise<number[]>;
  /** Any statement, for checks around the rules (tables still there, …). */
  count(sql: string): Promise<number>;
  close(): Promise<void>;
}

const sorted = (ids: unknown[]) => ids.map(Number).sort((a, b) => a - b);

export async function duckdbWith(f: Fixture, account: string): Promise<EventDb> {
  const inst = await DuckDBInstance.create(':memory:');
  const c: DuckDBConnection = await inst.connect();
  for (const s of createTables('duckdb')) await c.run(s);
  const cast: Record<string, string> = { text: 'VARCHAR', bigint: 'BIGINT', timestamp: 'TIMESTAMP', double: 'DOUBLE' };
  for (const kind of EVENT_KINDS) {
    for (const row of rowsOf(kind, f, account)) {
      const cols = row.map(([c]) => c).join(', ');
      const vals = row.map(([, , t]) => (t === 'params' ? 'CAST(CAST(? AS JSON) AS MAP(VARCHAR, VARCHAR))' : `CAST(? AS ${cast[t]})`)).join(', ');
      await c.run(`INSERT INTO ${kind} (${cols}) VALUES (${vals})`, row.map(([, v]) => v));
    }
  }
  return {
    engine: 'duckdb',
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

export async function postgresWith(url: string, f: Fixture, account: string): Promise<EventDb> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const s of createTables('postgres')) await client.query(s);
  for (const kind of EVENT_KINDS) await client.query(`CREATE TABLE ${kind}_default PARTITION OF ${kind} DEFAULT`);
  await client.query('BEGIN');
  for (const kind of EVENT_KINDS) {
    for (const row of rowsOf(kind, f, account)) {
      const cols = row.map(([c]) => c).join(', ');
      const vals = row.map(([, , t], i) => `$${i + 1}::${t === 'params' ? 'jsonb' : t === 'double' ? 'double precision' : t}`).join(', ');
      await client.query(`INSERT INTO ${kind} (${cols}) VALUES (${vals})`, row.map(([, v]) => v));
    }
  }
  await client.query('COMMIT');
  return {
    engine: 'postgres',
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
