// The job queue on PostgreSQL: the shared cases (test/support/job-queue-cases.ts),
// with claimers racing over a pool of connections (claims pick with FOR UPDATE
// SKIP LOCKED there).
import { after, before, test, type TestContext } from 'node:test';
import { openDatabase, type Db } from '../src/infra/db/index.js';
import { jobQueueCases } from './support/job-queue-cases.js';
import { startPostgres, stopPostgres } from './support/postgres.js';

let db: Db | undefined;
let skip = 'SKIPPED: PostgreSQL was not started';
before(async () => {
  const pg = await startPostgres();
  if (!pg.ok) {
    skip = pg.skip;
    return;
  }
  db = await openDatabase({ dataDir: '/nonexistent', database: { url: await pg.server.createDatabase() } });
});
after(async () => {
  await db?.destroy();
  await stopPostgres();
});

function pgTest(name: string, fn: (db: Db) => Promise<void>, opts: { timeout?: number } = {}) {
  test(name, opts, async (t: TestContext) => {
    if (!db) return t.skip(skip);
    await fn(db);
  });
}

jobQueueCases((name, fn, opts) => pgTest(name, fn, opts));
