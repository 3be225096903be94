// The file check (stageSql) on its own, in an in-memory DuckDB: Parquet
// numbers read as numbers give exactly what their text gives, action
// parameters keep their stored form, a malformed parameter object refuses
// its row without failing the file, NDJSON lines are judged as batches are,
// and the two passes over a CSV number its rows alike.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { EventKind } from '../../infra/events/schema.js';
import { REASONS } from './fields.js';
import { jsNumberText, stageSql, type FileFormat } from './file-sql.js';
import { checkEvents } from './validate.js';
import { seededRandom } from '../../../test/support/random.js';

const NOW = Date.UTC(2026, 0, 10, 12);
let dir: string;
let duck: DuckDBInstance;
let c: DuckDBConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ah-file-sql-'));
  duck = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  c = await duck.connect();
});
after(() => {
  c.closeSync();
  duck.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

async function columnsOf(path: string, format: FileFormat): Promise<Array<{ name: string; type: string }>> {
  if (format === 'parquet') return (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRows().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  const header = (await c.runAndReadAll(`SELECT * FROM read_csv('${path}', header = false, all_varchar = true) LIMIT 1`)).getRows()[0];
  return header.map((n) => ({ name: String(n), type: 'VARCHAR' }));
}

/** The rows the check yields for a file, as text, in line order: [line, …data, bad_field]. */
async function staged(kind: EventKind, path: string, format: FileFormat, data: string[], opts: { rejects?: boolean; columns?: Array<{ name: string; type: string }> } = {}): Promise<string[][]> {
  const columns = opts.columns ?? (await columnsOf(path, format));
  const sql = stageSql({ kind, format, path, gzip: false, columns, now: NOW, utcOffsetMinutes: 480, wechatSet: false }, { rejects: opts.rejects });
  const rows = (await c.runAndReadAll(`SELECT line, ${data.map((d) => `CAST(${d} AS VARCHAR)`).join(', ')}, bad_field FROM (${sql}) ORDER BY line`)).getRows();
  await c.run('DROP TABLE IF EXISTS ev_rejects').catch(() => undefined);
  await c.run('DROP TABLE IF EXISTS ev_reject_scans').catch(() => undefined);
  return rows.map((r) => r.map((v) => (v === null ? 'NULL' : String(v))));
}

/** The same values written as Parquet (typed) and as CSV (text). */
async function bothFiles(name: string, select: string): Promise<{ parquet: string; csv: string }> {
  const parquet = join(dir, `${name}.parquet`);
  const csv = join(dir, `${name}.csv`);
  await c.run(`COPY (${select}) TO '${parquet}' (FORMAT parquet)`);
  await c.run(`COPY (${select}) TO '${csv}' (FORMAT csv, HEADER)`);
  return { parquet, csv };
}

test('Parquet numbers read as numbers pass and fail exactly as their text does, with the same values', async () => {
  const max = 2_147_483_647;
  // Times: negative, zero, the last second, one past it, eleven digits; coordinates at and past the limits, ids at 0, 1 and 2^53.
  const times = [-1, 0, 1_767_225_600, max, max + 1, 99_999_999_999];
  const lats = [-90, -90.000001, 0.1, 30.123456789, 90, 1e-7, 91];
  const ids = [0, 1, 310_000, 9_007_199_254_740_991, 9_007_199_254_740_992];
  const n = Math.max(times.length, lats.length, ids.length) * 3;
  const pick = (xs: number[], i: string) => `([${xs.join(', ')}])[1 + (${i} % ${xs.length})]`;
  const { parquet, csv } = await bothFiles(
    'pings',
    `SELECT CAST(${pick(times, 'i')} AS BIGINT) AS ping_time, md5(i::VARCHAR) AS hash_phone, CAST(${pick(lats, 'i')} AS DOUBLE) AS latitude,
       CAST(${pick(lats, 'i + 1')} * 2 AS DOUBLE) AS longitude, CAST(${pick(ids, 'i')} AS BIGINT) AS region_id, CAST(${pick(ids, 'i + 2')} % 2147483647 AS INTEGER) AS poi_category
     FROM range(${n}) r(i)`,
  );
  const data = ['ping_time', 'latitude', 'longitude', 'region_id', 'poi_category'];
  const fromParquet = await staged('location_pings', parquet, 'parquet', data);
  const fromCsv = await staged('location_pings', csv, 'csv', data);
  // CSV lines count the header; Parquet rows count from 1.
  assert.deepEqual(fromParquet, fromCsv.map((r) => [String(Number(r[0]) - 1), ...r.slice(1)]));
  assert.ok(fromParquet.some((r) => r[6] === 'NULL') && fromParquet.some((r) => r[6] === 'ping_time') && fromParquet.some((r) => r[6] === 'latitude'));
  const cols = await columnsOf(parquet, 'parquet');
  assert.deepEqual(cols.find((x) => x.name === 'ping_time')?.type, 'BIGINT');

  // Random doubles: a double's text reads back as the same double.
  const rnd = await bothFiles('coords', `SELECT 1700000000::BIGINT AS ping_time, 'a' AS hash_phone, (hash(i) >> 11)::DOUBLE / 9007199254740992.0 * 180 - 90 AS latitude, (hash(i + 7) >> 11)::DOUBLE / 9007199254740992.0 * 360 - 180 AS longitude FROM range(2000) r(i)`);
  assert.deepEqual(await staged('location_pings', rnd.parquet, 'parquet', ['latitude', 'longitude']), (await staged('location_pings', rnd.csv, 'csv', ['latitude', 'longitude'])).map((r) => [String(Number(r[0]) - 1), ...r.slice(1)]));

  // Action times and ad ids, likewise.
  const ua = await bothFiles('actions', `SELECT CAST(${pick(times, 'i')} AS BIGINT) AS action_time, 'h' || i AS hash_phone, 'PURCHASE' AS action_type FROM range(12) r(i)`);
  assert.deepEqual(await staged('user_actions', ua.parquet, 'parquet', ['action_time']), (await staged('user_actions', ua.csv, 'csv', ['action_time'])).map((r) => [String(Number(r[0]) - 1), ...r.slice(1)]));
  const ad = await bothFiles('ads', `SELECT 1700000000 AS event_time, 'h' || i AS hash_phone, 'CLICK' AS event_type, CAST(${pick(ids, 'i')} AS UBIGINT) AS campaign_id, CAST(i - 2 AS SMALLINT) AS adgroup_id FROM range(10) r(i)`);
  const adData = ['event_time', 'campaign_id', 'adgroup_id'];
  assert.deepEqual(await staged('ad_events', ad.parquet, 'parquet', adData), (await staged('ad_events', ad.csv, 'csv', adData)).map((r) => [String(Number(r[0]) - 1), ...r.slice(1)]));
});

test('action parameters: strings unquoted, other values as their JSON text, {} as none; a malformed object refuses its row and nothing else', async () => {
  const path = join(dir, 'params.ndjson');
  const t = Math.floor(NOW / 1000) - 60;
  const line = (p: string) => `{"action_time": ${t}, "user_id": {"hash_phone": "aa"}, "action_type": "SEARCH", "action_param": ${p}}`;
  const many = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}": ${i}`).join(', ');
  writeFileSync(
    path,
    [
      line('{"q": "tea \\"green\\"", "n": 1.50, "e": 1e2, "b": true, "i": -3}'),
      line('{}'),
      line('{"a": 1, "a": 2}'),
      line('{"o": {"x": 1}}'),
      line('{"z": null}'),
      line('[1]'),
      line('"{\\"keyword\\": \\"tea\\"}"'),
      line('{"keyword": 5}'),
      line(`{${many(20)}}`),
      line(`{${many(20)}, "k7": 0}`),
      line(`{"${'n'.repeat(129)}": 1}`),
      line('{"": 1}'),
    ].join('\n'),
  );
  const rows = await staged('user_actions', path, 'ndjson', ['params', 'keyword'], { columns: [{ name: 'hash_phone', type: 'VARCHAR' }] });
  assert.deepEqual(
    rows.map((r) => [r[1], r[2], r[3]]),
    [
      [`{q='tea "green"', n=1.5, e=100, b=true, i=-3}`, 'NULL', 'NULL'],
      ['NULL', 'NULL', 'NULL'],
      [rows[2][1], rows[2][2], 'action_param'],
      [rows[3][1], rows[3][2], 'action_param'],
      [rows[4][1], rows[4][2], 'action_param'],
      [rows[5][1], rows[5][2], 'action_param'],
      // The JSON text of an object is taken as the object; a SEARCH without a keyword takes a string keyword parameter.
      ['{keyword=tea}', 'tea', 'NULL'],
      ['{keyword=5}', 'NULL', 'NULL'],
      // Twenty names, then the same twenty and one of them again; a name of 129 bytes; an empty name.
      [`{${Array.from({ length: 20 }, (_, i) => `k${i}=${i}`).join(', ')}}`, 'NULL', 'NULL'],
      [rows[9][1], rows[9][2], 'action_param'],
      [rows[10][1], rows[10][2], 'action_param'],
      [rows[11][1], rows[11][2], 'action_param'],
    ],
  );
});

test('NDJSON lines are judged as a batch judges events: not an object, an unknown field, a user_id that is not an object of strings', async () => {
  const path = join(dir, 'lines.ndjson');
  const t = Math.floor(NOW / 1000) - 60;
  const ev = (extra: string) => `{"action_time": ${t}, "action_type": "PURCHASE"${extra}}`;
  writeFileSync(
    path,
    [
      ev(', "user_id": {"hash_phone": "aa", "phone": "13800000000"}'),
      '[1, 2]',
      ev(', "user_id": {"hash_phone": "aa"}, "colour": "red"'),
      ev(', "user_id": "aa"'),
      ev(', "user_id": {"hash_phone": "aa", "shoe_size": "9"}'),
      ev(', "user_id": {"phone": 13800000000}'),
      ev(', "user_id": {"wechat_openid": "o1", "wechat_app_id": "wx1"}'),
      ev(', "user_id": {"wechat_openid": "o1"}'),
      ev(', "user_id": {}'),
      '',
      `{"action_time": ${t}, "action_type": "NOPE", "user_id": {"hash_phone": "bb"}}`,
    ].join('\n'),
  );
  const columns = ['hash_phone', 'phone', 'wechat_openid'].map((name) => ({ name, type: 'VARCHAR' }));
  const sql = stageSql({ kind: 'user_actions', format: 'ndjson', path, gzip: false, columns, now: NOW, utcOffsetMinutes: 480, wechatSet: false });
  const rows = (await c.runAndReadAll(`SELECT line, id_0, id_1, id_2, bad_field, bad_reason FROM (${sql}) ORDER BY line`)).getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
  assert.deepEqual(
    rows.map((r) => [r[0], r[4], r[5]]),
    [
      ['1', null, null],
      ['2', '', REASONS.notObject],
      ['3', 'colour', REASONS.unknownField],
      ['4', 'user_id', REASONS.userIdObject],
      ['5', 'user_id.shoe_size', REASONS.unknownField],
      ['6', 'user_id.phone', REASONS.userIdValue],
      ['7', null, null],
      ['8', 'user_id.wechat_app_id', REASONS.wechatAppId],
      ['9', 'user_id', REASONS.noId],
      // The blank line is skipped; the next keeps its own number.
      ['11', 'action_type', REASONS.enumOf('an action type of the seed (or CUSTOM)')],
    ],
  );
  assert.deepEqual(rows[0].slice(1, 4), ['aa', '13800000000', null]);
  assert.deepEqual(rows[6].slice(1, 4), [null, null, 'o1']);
});

test('the two passes over a CSV number its rows alike, the rows the reader refuses skipped by both', async () => {
  const path = join(dir, 'rejects.csv');
  const rows = ['action_time,action_type,hash_phone', '1700000000,PURCHASE,a', '1700000000,PURCHASE,b,extra', '1700000000,NOPE,d', '1700000000', '1700000000,PURCHASE,e', '1700000000,"PURCHASE,f'];
  writeFileSync(path, `${rows.join('\n')}\n`);
  const columns = ['action_time', 'action_type', 'hash_phone'].map((name) => ({ name, type: 'VARCHAR' }));
  const checking = await staged('user_actions', path, 'csv', ['action_type', 'id_0'], { rejects: true, columns });
  const rowsPass = await staged('user_actions', path, 'csv', ['action_type', 'id_0'], { rejects: false, columns });
  assert.deepEqual(rowsPass, checking);
  assert.deepEqual(checking.map((r) => r[2]), ['a', 'd', 'e']);
});

test('a double is written as JavaScript writes it, whatever its size', async () => {
  const rnd = seededRandom(53);
  const xs = [1.5, 100, 0.1, 1e-6, 1e-7, 1e21, 1e20, -0, 2.5e-5, 2 ** 53, 1234567890123456.5, 0.0001, 1.2345e16, 5e-324, Number.MAX_VALUE, -7.77e-8, 123456789012345680];
  for (let i = 0; i < 4000; i++) xs.push((rnd() - 0.5) * 10 ** Math.floor(rnd() * 80 - 40), Math.round(rnd() * 10 ** (i % 22)));
  const values = xs.map((x) => `('${String(x)}'::DOUBLE)`).join(', ');
  const rows = (await c.runAndReadAll(`SELECT ${jsNumberText('CAST(d AS VARCHAR)')} FROM (VALUES ${values}) v(d)`)).getRows();
  const wrong = rows.map((r, i) => [String(xs[i]), r[0]]).filter(([want, got]) => want !== got);
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${xs.length} doubles written otherwise than String(x)`);
});

test('a file stores each action parameter as a batch stores it, and refuses a number of 2^53 or more as a batch does', async () => {
  const t = Math.floor(NOW / 1000) - 60;
  const params = [
    '{"n": 1.50, "e": 1e2, "w": 100.0, "s": 2.5e-5, "m": -0.0, "t": 7e-8, "l": 4503599627370495.5}',
    '{"i": 42, "neg": -7, "safe": 9007199254740991, "f": 9007199254740991.0, "u": "v1.2", "b": false}',
    '{"big": 9007199254740992}',
    '{"big": 12345678901234567891}',
    '{"x": "ok", "d": 1e16}',
    '{"d": -9.1e15}',
    '{"h": 1.5e300}',
    '{"digits": "12345678901234567890"}',
  ];
  const events = params.map((p) => ({ action_time: t, user_id: { hash_phone: 'aa' }, action_type: 'PURCHASE', action_param: p }));
  const path = join(dir, 'numbers.ndjson');
  writeFileSync(path, events.map((e) => `{"action_time": ${t}, "user_id": {"hash_phone": "aa"}, "action_type": "PURCHASE", "action_param": ${e.action_param}}`).join('\n'));
  const fromFile = await staged('user_actions', path, 'ndjson', ['to_json(params)', 'bad_reason'], { columns: [{ name: 'hash_phone', type: 'VARCHAR' }] });
  const batch = checkEvents('user_actions', events, { now: NOW, utcOffsetMinutes: 480 });
  const stored = new Map(batch.good.map((g) => [g.index, JSON.stringify(g.data[3])]));
  const refused = new Map(batch.refused.map((r) => [r.index, `${r.field}: ${r.reason}`]));
  assert.deepEqual(
    fromFile.map((r, i) => (r[3] === 'NULL' ? r[1] : `${r[3]}: ${r[2]}`)),
    params.map((_, i) => stored.get(i) ?? refused.get(i)),
  );
  // What they agree on.
  assert.equal(stored.get(0), JSON.stringify({ n: '1.5', e: '100', w: '100', s: '0.000025', m: '0', t: '7e-8', l: '4503599627370495.5' }));
  assert.equal(refused.get(3), `action_param: ${REASONS.paramNumber}`);
  assert.equal(refused.get(6), `action_param: ${REASONS.paramNumber}`);
  assert.equal(stored.get(7), JSON.stringify({ digits: '12345678901234567890' }), 'digits in a string are kept as written');

  // A Parquet STRUCT of doubles is taken as its JSON, and written the same way.
  const pq = join(dir, 'numbers.parquet');
  await c.run(`COPY (SELECT ${t}::BIGINT AS action_time, 'aa' AS hash_phone, 'PURCHASE' AS action_type, {'w': 100.0::DOUBLE, 's': 2.5e-5::DOUBLE, 'i': 42::INTEGER} AS action_param) TO '${pq}' (FORMAT parquet)`);
  const fromParquet = await staged('user_actions', pq, 'parquet', ['to_json(params)']);
  assert.deepEqual(fromParquet.map((r) => r[1]), [JSON.stringify({ w: '100', s: '0.000025', i: '42' })]);
});
