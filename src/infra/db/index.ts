// The metadata store: one Kysely query layer over either SQLite (better-sqlite3,
// WAL) in the data folder, the embedded default, or PostgreSQL for scale,
// chosen by config.database.url. The schema, the migrations and every query
// are the same on both; nothing above this file knows which one runs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import type pg from 'pg';
import type { Config } from '../../config.js';
import { migrations } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/** For the few places where PostgreSQL can do better than the portable form (row locks that skip). */
export const isPostgres = (db: Db): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

/** A statement refused for a duplicate key: PostgreSQL's 23505, or SQLite's UNIQUE constraint. */
export function isUniqueViolation(e: unknown): boolean {
  const x = e as { code?: string; message?: string };
  return x?.code === '23505' || x?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(x?.message ?? '');
}

export function openDatabase(config: Pick<Config, 'dataDir' | 'database'>): Promise<Db> {
  return config.database.url ? openPostgres(config.database.url) : openSqlite(config.dataDir);
}

export async function openSqlite(dataDir: string): Promise<Db> {
  mkdirSync(dataDir, { recursive: true });
  const raw = new SQLite(join(dataDir, 'metadata.sqlite'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  await migrate(db);
  return db;
}

const INT8_OID = 20;

/**
 * Timestamps and sizes are `bigint` columns holding milliseconds and bytes,
 * all below 2^53, so int8 (and count(*)) is read as a JS number, as SQLite
 * hands it back. pg's default is a string, to be safe for larger values.
 * Set on this pool only, not in pg's process-wide table.
 */
function typesOf(driver: typeof pg) {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
      return driver.types.getTypeParser(oid, format ?? 'text');
    },
  };
}

export async function openPostgres(url: string): Promise<Db> {
  // Loaded only in the scale mode: the embedded default never pays for the driver.
  const { default: driver } = await import('pg');
  const pool = new driver.Pool({ connectionString: url, types: typesOf(driver) as pg.CustomTypesConfig, max: 10 });
  // An idle client losing its connection (server restart) must not crash the process;
  // the pool drops it and the next query opens a new one.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return db;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Runs the pending migrations; on PostgreSQL Kysely holds an advisory lock, so processes starting together take turns. */
export async function migrate(db: Db): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? error}`);
  }
}
