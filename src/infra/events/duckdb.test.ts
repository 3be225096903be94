// The embedded event store (DuckDB) against the store's contract, on a
// database file of its own per test.
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbEventStore, rawIds } from './duckdb.js';
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

test('duckdb: the spill folder is made at start, parents and all (DuckDB would not make its parents when it first spills)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ah-duck-'));
  const tempDirectory = join(dir, 'tmp', 'events');
  const store = new DuckDbEventStore({ path: join(dir, 'events.duckdb'), threads: 2, tempDirectory });
  try {
    await store.init();
    assert.ok(existsSync(tempDirectory));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('duckdb: a rule result is read whole, its NULLs left out, however the chunk holds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ah-duck-'));
  const store = new DuckDbEventStore({ path: join(dir, 'events.duckdb'), threads: 2 });
  await store.init();
  try {
    // 10,000 values over several chunks, a NULL every seventh, with repeats and
    // ids past 2^31; whole validity words of NULLs and of values alike.
    const sql = `SELECT CASE WHEN i % 7 = 3 OR i BETWEEN 4096 AND 4223 THEN NULL ELSE ((i * 2654435761) % 4294967291) // 2 * 2 + 1 END::UINTEGER FROM range(10000) t(i)`;
    const expected = new Set<number>();
    for (let i = 0; i < 10000; i++) if (!(i % 7 === 3 || (i >= 4096 && i <= 4223))) expected.add(Number(((BigInt(i) * 2654435761n) % 4294967291n) / 2n * 2n + 1n));
    const got = (await store.users({ sql, params: [] })).toUint32Array();
    assert.deepEqual([...got], [...expected].sort((a, b) => a - b));
    // This DuckDB client's vectors are read as they lie in the chunk (a new
    // client with other fields would be read one value at a time: slower).
    const duck = await DuckDBInstance.create(':memory:');
    const c = await duck.connect();
    const chunk = await (await c.stream(sql)).fetchChunk();
    assert.ok(chunk && rawIds(chunk.getColumnVector(0)), 'a UINTEGER vector is read without a call per value');
    c.closeSync();
    duck.closeSync();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
