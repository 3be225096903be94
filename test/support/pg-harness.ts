// The service on this test file's throwaway PostgreSQL server, for the
// postgres-*.test.ts files. When the server cannot be started every test is
// reported as skipped with the reason (printed once as a SKIPPED line); none
// passes silently.
import { after, before, test, type TestContext } from 'node:test';
import { closeHarness } from './front-door.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';
import { startPostgres, stopPostgres } from './postgres.js';

export function onPostgres(opts: Omit<HarnessOptions, 'database'> = {}) {
  const state: { h?: Harness; skip: string } = { skip: 'SKIPPED: PostgreSQL was not started' };
  before(async () => {
    const pg = await startPostgres();
    if (!pg.ok) {
      state.skip = pg.skip;
      return;
    }
    state.h = await startHarness({ ...opts, database: 'postgres' });
  });
  after(async () => {
    if (state.h) await closeHarness(state.h);
    await stopPostgres();
  });
  return {
    test(name: string, fn: (h: Harness, t: TestContext) => Promise<void>, options: { timeout?: number } = {}) {
      test(name, options, async (t) => {
        if (!state.h) return t.skip(state.skip);
        await fn(state.h, t);
      });
    },
  };
}
