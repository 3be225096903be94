// The scale-mode event store (PostgreSQL, partitioned by month) against the
// store's contract, on this file's throwaway server; skipped with the reason
// when PostgreSQL cannot be started.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startPostgres, stopPostgres } from '../../../test/support/postgres.js';
import { openPostgres } from '../db/index.js';
import { PgEventStore } from './postgres.js';
import { storeCases } from './store.fixtures.js';
import type { EventStore } from './types.js';

after(() => stopPostgres());

async function withStore(fn: (store: EventStore, db: Awaited<ReturnType<typeof openPostgres>>) => Promise<void>, t: { skip(m: string): void }) {
  const pg = await startPostgres();
  if (!pg.ok) return t.skip(pg.skip);
  const db = await openPostgres(await pg.server.createDatabase());
  const store = new PgEventStore(db, { threads: 2 });
  await store.init();
  try {
    await fn(store, db);
  } finally {
    await store.close();
    await db.destroy();
  }
}

storeCases((name, fn) => test(`postgres: ${name}`, (t) => withStore((s) => fn(s), t)));

test('postgres: each month of events gets its own partition', (t) =>
  withStore(async (store, db) => {
    const at = (m: number) => Date.UTC(2026, m, 3);
    await store.append({ kind: 'location_pings', accountId: 'acc', rows: [0, 1, 1, 4].map((m) => [1, at(m), 1, 2, null, null, null, null]) });
    const parts = await sql<{ n: string }>`SELECT c.relname AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'location_pings' ORDER BY 1`.execute(db);
    assert.deepEqual(parts.rows.map((r) => r.n), ['location_pings_p202601', 'location_pings_p202602', 'location_pings_p202605']);
    assert.equal(await store.count('location_pings', 'acc'), 4);
  }, t));
