// The embedded event store (DuckDB) against the store's contract, on a
// database file of its own per test.
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbEventStore } from './duckdb.js';
import { storeCases } from './store.fixtures.js';

storeCases((name, fn) =>
  test(`duckdb: ${name}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ah-duck-'));
    const store = new DuckDbEventStore({ path: join(dir, 'events.duckdb'), threads: 2 });
    await store.init();
    try {
      await fn(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }),
);
