// The event store's contract, run against each engine (duckdb.test.ts,
// postgres.test.ts): batches and their de-duplication, file loads that land
// whole or not at all and only once, rule results as bitmaps, counts and
// account deletion.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageSql } from '../../domain/events/file-sql.js';
import { NO_USER } from '../identities/index.js';
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

function csvPlan(dir: string, accountId: string, rows: string[], key?: string) {
  const path = join(dir, `f-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(path, ['action_time,action_type,hash_phone,outer_action_id', ...rows].join('\n') + '\n');
  const columns = ['action_time', 'action_type', 'hash_phone', 'outer_action_id'].map((name) => ({ name, type: 'VARCHAR' }));
  return {
    kind: 'user_actions' as const,
    accountId,
    actionSetId: 7,
    loadKey: key,
    stageSql: stageSql({ kind: 'user_actions', format: 'csv', path, gzip: false, columns, now: T0 + DAY, utcOffsetMinutes: 480, wechatSet: false }),
    idFields: ['hash_phone'],
    readerRejects: true,
  };
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

  test("deleting an account's events leaves the others'", async (store) => {
    await store.append({ kind: 'user_actions', accountId: 'acc-d', rows: [action(1, T0)] });
    await store.append({ kind: 'user_actions', accountId: 'acc-e', rows: [action(1, T0)] });
    await store.deleteAccount('acc-d');
    assert.equal(await store.count('user_actions', 'acc-d'), 0);
    assert.equal(await store.count('user_actions', 'acc-e'), 1);
  });
}
