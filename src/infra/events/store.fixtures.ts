// The event store's contract, run against each engine (duckdb.test.ts,
// postgres.test.ts): batches and their de-duplication, file loads that land
// whole or not at all and only once, rule results as bitmaps, counts and
// account deletion.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadPasses } from '../../domain/events/file-sql.js';
import { NO_USER } from '../identities/index.js';
import { FileStage } from './stage.js';
import type { EventStore, IdMapper, TupleBatch } from './types.js';

type Case = (name: string, fn: (store: EventStore) => Promise<void>) => void;

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12);

/** user_actions row: action_set_id, user_id, action_time, action_type, custom_action, params, url, keyword, outer_action_id. */
const action = (user: number, at: number, type = 'PURCHASE', outer: string | null = null, params: Record<string, string> | null = null) => [1, user, at, type, null, params, null, null, outer];

/** A mapper that gives each distinct id text the number it spells (ids here are decimal), or refuses "x…". */
function numberMapper(seen: { batches: number }): IdMapper {
  return async (b: TupleBatch) => {
    seen.batches++;
    const lines = b.columns[0].toString('utf8').split('\n');
    const users = new Uint32Array(b.count).fill(NO_USER);
    const why = new Uint16Array(b.count);
    for (let t = 0; t < b.count; t++) {
      if (lines[t].startsWith('x')) why[t] = 1;
      else users[t] = Number(lines[t]);
    }
    return { users, why, reasons: [{ field: 'user_id.hash_phone', reason: 'not a number' }] };
  };
}

function csvPlan(dir: string, accountId: string, rows: string[], key?: string, actionSetId = 7) {
  const path = join(dir, `f-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(path, ['action_time,action_type,hash_phone,outer_action_id', ...rows].join('\n') + '\n');
  const columns = ['action_time', 'action_type', 'hash_phone', 'outer_action_id'].map((name) => ({ name, type: 'VARCHAR' }));
  const spec = { kind: 'user_actions' as const, format: 'csv' as const, path, gzip: false, columns, now: T0 + DAY, utcOffsetMinutes: 480, wechatSet: false };
  return {
    kind: 'user_actions' as const,
    accountId,
    actionSetId,
    loadKey: key,
    ...loadPasses(spec),
    idFields: ['hash_phone'],
    readerRejects: true,
  };
}

/** The same rows as a Parquet file (every column text), numbered from 1 by the reader. */
async function parquetPlan(dir: string, accountId: string, rows: string[]) {
  const csv = join(dir, `f-${Math.random().toString(36).slice(2)}.csv`);
  const path = `${csv}.parquet`;
  writeFileSync(csv, ['action_time,action_type,hash_phone,outer_action_id', ...rows].join('\n') + '\n');
  const duck = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const c = await duck.connect();
  try {
    await c.run(`COPY (SELECT * FROM read_csv('${csv}', header = true, all_varchar = true)) TO '${path}' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    duck.closeSync();
  }
  const columns = ['action_time', 'action_type', 'hash_phone', 'outer_action_id'].map((name) => ({ name, type: 'VARCHAR' }));
  const spec = { kind: 'user_actions' as const, format: 'parquet' as const, path, gzip: false, columns, now: T0 + DAY, utcOffsetMinutes: 480, wechatSet: false };
  return { kind: 'user_actions' as const, accountId, actionSetId: 7, ...loadPasses(spec), idFields: ['hash_phone'], readerRejects: false };
}

export function storeCases(test: Case): void {
  test('a batch is stored; outer_action_id duplicates (in the batch and already stored) are counted and left out', async (store) => {
    const a = await store.append({ kind: 'user_actions', accountId: 'acc-a', rows: [action(1, T0, 'PURCHASE', 'o1', { value: '12' }), action(2, T0, 'PURCHASE', 'o1'), action(3, T0, 'SEARCH')] });
    assert.deepEqual(a, { stored: 2, duplicates: 1, duplicateIndexes: [1] });
    const b = await store.append({ kind: 'user_actions', accountId: 'acc-a', rows: [action(4, T0, 'PURCHASE', 'o1'), action(5, T0, 'PURCHASE', 'o2')] });
    assert.deepEqual(b, { stored: 1, duplicates: 1, duplicateIndexes: [0] });
    // Another account's ids are its own.
    const c = await store.append({ kind: 'user_actions', accountId: 'acc-b', rows: [action(6, T0, 'PURCHASE', 'o1')] });
    assert.equal(c.stored, 1);
    assert.equal(await store.count('user_actions', 'acc-a'), 3);
    assert.equal(await store.count('user_actions', 'acc-b'), 1);
  });

  test('ad events and location pings are stored, each month in its place', async (store) => {
    const ad = await store.append({ kind: 'ad_events', accountId: 'acc-c', rows: [[9, T0, 'CONVERSION', 'APP_INSTALL', 11, 12, 'PROMOTED_OBJECT_TYPE_APP_IOS', 'id1'], [10, T0 - 40 * DAY, 'CLICK', null, 11, null, null, null]] });
    assert.equal(ad.stored, 2);
    const pings = await store.append({ kind: 'location_pings', accountId: 'acc-c', rows: [[9, T0, 31.23, 121.47, 310000, 310100, 'poi-1', 7]] });
    assert.equal(pings.stored, 1);
    assert.equal(await store.count('ad_events', 'acc-c'), 2);
  });

  test("a rule's statement gives its distinct users as a bitmap", async (store) => {
    await store.append({ kind: 'user_actions', accountId: 'acc-r', rows: [action(30, T0), action(10, T0), action(30, T0 - DAY), action(20, T0, 'SEARCH'), action(4_000_000_000, T0)] });
    const sql = `SELECT user_id FROM user_actions WHERE account_id = $1 AND action_type = $2`;
    const b = await store.users({ sql, params: ['acc-r', 'PURCHASE'] });
    assert.deepEqual(b.toArray(), [10, 30, 4_000_000_000]);
    const none = await store.users({ sql, params: ['acc-r', 'REGISTER'] });
    assert.equal(none.size, 0);
  });

  test('a file loads: bad rows refused with line and reason, ids mapped, duplicates counted', async (store) => {
    const dir = mkdtempSync(join(tmpdir(), 'ah-events-'));
    try {
      const seen = { batches: 0 };
      const at = String(Math.floor(T0 / 1000));
      const r = await store.bulkLoad(
        csvPlan(dir, 'acc-f', [`${at},PURCHASE,100,k1`, `${at},NOPE,101,`, `${at},PURCHASE,x1,`, `${at},SEARCH,100,k1`, `2026-01-10 20:00:00,REGISTER,102,`, `${at},PURCHASE,,`]),
        numberMapper(seen),
      );
      assert.equal(r.rows, 6);
      assert.equal(r.stored, 2);
      assert.equal(r.duplicates, 1);
      assert.equal(r.refused, 3);
      assert.deepEqual(
        r.samples.map((s) => [s.line, s.field]),
        [
          [3, 'action_type'],
          [4, 'user_id.hash_phone'],
          [7, 'user_id'],
        ],
      );
      assert.equal(seen.batches, 1);
      const users = await store.users({ sql: 'SELECT user_id FROM user_actions WHERE account_id = $1', params: ['acc-f'] });
      assert.deepEqual(users.toArray(), [100, 102]);
      // 20:00 at GMT+8 is 12:00 UTC.
      const noon = await store.users({ sql: `SELECT user_id FROM user_actions WHERE account_id = $1 AND action_type = 'REGISTER' AND action_time = TIMESTAMP '2026-01-10 12:00:00'`, params: ['acc-f'] });
      assert.deepEqual(noon.toArray(), [102]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a load that fails after its rows are in leaves nothing; a load is stored once per key', async (store) => {
    const dir = mkdtempSync(join(tmpdir(), 'ah-events-'));
    try {
      const at = String(Math.floor(T0 / 1000));
      const rows = [`${at},PURCHASE,1,`, `${at},PURCHASE,2,`];
      await assert.rejects(
        store.bulkLoad({ ...csvPlan(dir, 'acc-g', rows), beforeCommit: async () => Promise.reject(new Error('the dictionary could not commit')) }, numberMapper({ batches: 0 })),
        /could not commit/,
      );
      assert.equal(await store.count('user_actions', 'acc-g'), 0);
      const first = await store.bulkLoad(csvPlan(dir, 'acc-g', rows, 'load:1'), numberMapper({ batches: 0 }));
      assert.equal(first.stored, 2);
      const again = await store.bulkLoad(csvPlan(dir, 'acc-g', rows, 'load:1'), numberMapper({ batches: 0 }));
      assert.equal(again.stored, 2);
      assert.equal(await store.count('user_actions', 'acc-g'), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const key of ['hash', 'text'] as const) {
    test(`a file keeps the first good row of each outer_action_id and none stored before; refused rows count one by one, whatever shares their ids (rows joined on the ${key})`, async (store) => {
      FileStage.joinOnHash = key === 'hash';
      const dir = mkdtempSync(join(tmpdir(), 'ah-events-'));
      try {
        const at = String(Math.floor(T0 / 1000));
        // Stored before, by a batch, in the load's action set (7) and in another (1).
        await store.append({ kind: 'user_actions', accountId: 'acc-o', rows: [[7, 20, T0, 'PURCHASE', null, null, null, null, 'b1'], [1, 21, T0, 'PURCHASE', null, null, null, null, 'c1']] });
        const r = await store.bulkLoad(
          csvPlan(dir, 'acc-o', [
            `${at},PURCHASE,x5,d1`, // 2: the mapper refuses x5; d1 is not taken by it
            `${at},NOPE,6,d1`, // 3: refused by the check; d1 is not taken by it either
            `${at},PURCHASE,7,d1`, // 4: the first good d1: stored
            `${at},SEARCH,8,d1`, // 5: d1 again: a duplicate
            `${at},PURCHASE,9,b1`, // 6: b1 is stored in set 7: a duplicate
            `${at},PURCHASE,10,c1`, // 7: c1 is stored only in set 1: stored
            `${at},PURCHASE,x5,`, // 8: the same refused ids: refused again
            `${at},PURCHASE,11,d2`, // 9: stored
            `${at},PURCHASE,11,d2`, // 10: a duplicate
            `${at},NOPE,7,`, // 11: refused, though its ids are those of line 4
            `${at},PURCHASE,12,,extra`, // 12: the CSV reader refuses it
            `${at},NOPE,13,`, // 13: refused (numbered past the reader's refusal)
            `${at},PURCHASE,14,`, // 14: stored
          ]),
          numberMapper({ batches: 0 }),
        );
        assert.deepEqual([r.rows, r.stored, r.duplicates, r.refused], [13, 4, 3, 6], JSON.stringify(r));
        assert.deepEqual(
          r.samples.map((x) => [x.line, x.field]),
          [
            [2, 'user_id.hash_phone'],
            [3, 'action_type'],
            [8, 'user_id.hash_phone'],
            [11, 'action_type'],
            [12, 'line'],
            [13, 'action_type'],
          ],
        );
        const users = await store.users({ sql: 'SELECT user_id FROM user_actions WHERE account_id = $1 AND action_set_id = 7', params: ['acc-o'] });
        assert.deepEqual(users.toArray(), [7, 10, 11, 14, 20]);
        // The same ids in another action set are not duplicates.
        const other = await store.bulkLoad(csvPlan(dir, 'acc-o', [`${at},PURCHASE,30,b1`, `${at},PURCHASE,31,d1`], undefined, 8), numberMapper({ batches: 0 }));
        assert.deepEqual([other.stored, other.duplicates], [2, 0]);
        // Loaded again into set 7, every id is stored already.
        const again = await store.bulkLoad(csvPlan(dir, 'acc-o', [`${at},PURCHASE,32,d1`, `${at},PURCHASE,33,d2`, `${at},PURCHASE,34,`]), numberMapper({ batches: 0 }));
        assert.deepEqual([again.stored, again.duplicates], [1, 2]);
      } finally {
        FileStage.joinOnHash = true;
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a Parquet file: refused rows are left out by their row number, the first good row of each outer_action_id is kept', async (store) => {
    const dir = mkdtempSync(join(tmpdir(), 'ah-events-'));
    try {
      const at = String(Math.floor(T0 / 1000));
      const r = await store.bulkLoad(
        await parquetPlan(dir, 'acc-p', [
          `${at},PURCHASE,x5,d1`, // 1: refused by the mapper
          `${at},NOPE,6,d1`, // 2: refused by the check
          `${at},PURCHASE,7,d1`, // 3: stored
          `${at},SEARCH,8,d1`, // 4: a duplicate
          `${at},NOPE,7,`, // 5: refused, though its ids are those of row 3
          `${at},PURCHASE,9,`, // 6: stored
          `${at},NOPE,20,d9`, // 7: refused
          `${at},PURCHASE,21,d9`, // 8: the only good d9: stored
        ]),
        numberMapper({ batches: 0 }),
      );
      assert.deepEqual([r.rows, r.stored, r.duplicates, r.refused], [8, 3, 1, 4], JSON.stringify(r));
      assert.deepEqual(r.samples.map((x) => [x.line, x.field]), [[1, 'user_id.hash_phone'], [2, 'action_type'], [5, 'action_type'], [7, 'action_type']]);
      const users = await store.users({ sql: 'SELECT user_id FROM user_actions WHERE account_id = $1', params: ['acc-p'] });
      assert.deepEqual(users.toArray(), [7, 9, 21]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("deleting an account's events leaves the others'", async (store) => {
    await store.append({ kind: 'user_actions', accountId: 'acc-d', rows: [action(1, T0)] });
    await store.append({ kind: 'user_actions', accountId: 'acc-e', rows: [action(1, T0)] });
    await store.deleteAccount('acc-d');
    assert.equal(await store.count('user_actions', 'acc-d'), 0);
    assert.equal(await store.count('user_actions', 'acc-e'), 1);
  });
}
