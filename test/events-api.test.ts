// Behaviour events through the native API: user action sets, batches checked
// event by event, ids mapped through the same dictionary as audience files,
// outer_action_id de-duplication, loads of NDJSON, CSV and Parquet uploads as
// jobs with a report, all or nothing, and only the account's own uploads.
// Event files are uploaded as a client uploads them: POST /v1/uploads with
// purpose "events", then a PUT of the bytes (Parquet included); a load takes
// only such an upload and an audience never does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { api, builtAudience, lines, phones, uploadText } from './support/audiences.js';
import { assertNothingKept, closeHarness, md5, nativeApi, putUrl, waitFor } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ jobs: true });
});
after(() => closeHarness(h));

const now = () => Math.floor(Date.now() / 1000);
const usersOf = async (accountId: string, where = 'true') =>
  (await h.app.eventStore.users({ sql: `SELECT user_id FROM user_actions WHERE account_id = $1 AND ${where}`, params: [accountId] })).toArray();

async function finishedLoad(id: number, secret?: string): Promise<any> {
  return waitFor(`load ${id}`, async () => {
    const r = await api(h, 'GET', `/v1/events/loads/${id}`, undefined, secret);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.status === 'SUCCESS' || r.body.status === 'ERROR' ? r.body : undefined;
  }, 60_000);
}

/** POST /v1/uploads with purpose "events" (the answer, whatever its status). */
const createEventUpload = (name: string, body: Buffer, secret?: string) =>
  nativeApi(h, 'POST', '/v1/uploads', { secret, body: { file_name: name, md5: md5(body), size: body.length, purpose: 'events' } });

/** A READY event upload holding `content`, made as a client makes it; returns its id. */
async function uploadEvents(name: string, content: string | Buffer, secret?: string): Promise<string> {
  const body = typeof content === 'string' ? Buffer.from(content) : content;
  const made = await createEventUpload(name, body, secret);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.upload.purpose, 'events');
  const r = await putUrl(h, made.body.put.url, body, made.body.put.headers);
  assert.equal(r.status, 200, r.body);
  return made.body.upload.id;
}

/** The bytes of a Parquet file DuckDB writes from `select`. */
async function parquetOf(select: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'ah-parquet-'));
  const duck = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const c = await duck.connect();
  try {
    await c.run(`COPY (${select}) TO '${join(dir, 'f.parquet')}' (FORMAT parquet)`);
    return readFileSync(join(dir, 'f.parquet'));
  } finally {
    c.closeSync();
    duck.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function load(kind: string, uploadId: string, format: string, extra: Record<string, unknown> = {}, secret?: string) {
  const r = await api(h, 'POST', `/v1/events/${kind}/loads`, { upload_id: uploadId, format, ...extra }, secret);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return finishedLoad(r.body.id, secret);
}

test('user action sets: created, listed, names unique in the account, fields checked', async () => {
  const a = await api(h, 'POST', '/v1/user-action-sets', { name: 'web shop', type: 'WEB', description: 'the shop' });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.equal(a.body.type, 'WEB');
  const again = await api(h, 'POST', '/v1/user-action-sets', { name: 'web shop', type: 'WEB' });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'ActionSetNameTaken');
  const android = await api(h, 'POST', '/v1/user-action-sets', { name: 'app', type: 'ANDROID' });
  assert.equal(android.status, 400);
  assert.equal(android.body.error.field, 'mobile_app_id');
  const list = await api(h, 'GET', '/v1/user-action-sets?type=WEB');
  assert.deepEqual(list.body.items.map((s: any) => s.name), ['web shop']);
});

test('a batch keeps exactly its good events and refuses each bad one with its index, field and reason', async () => {
  const acct = await h.newAccount('events-batch');
  const t = now() - 3600;
  const events = [
    { action_time: t, user_id: { hash_phone: md5('13900000001') }, action_type: 'PURCHASE', action_param: { value: 28, brand: 'x', gift: false }, outer_action_id: 'o_1' },
    { action_time: t, user_id: { hash_phone: md5('13900000002') }, action_type: 'NOT_A_TYPE' },
    { action_time: 'yesterday', user_id: { hash_phone: md5('13900000003') }, action_type: 'PURCHASE' },
    { action_time: t, user_id: {}, action_type: 'PURCHASE' },
    { action_time: t, user_id: { hash_phone: 'zz' }, action_type: 'PURCHASE' },
    { action_time: t, user_id: { hash_phone: md5('13900000004') }, action_type: 'CUSTOM' },
    { action_time: t, user_id: { hash_phone: md5('13900000005') }, action_type: 'SEARCH', keyword: 'running shoes' },
    { action_time: '2026-01-02 10:00:00', user_id: { hash_imei: md5('861234567890123') }, action_type: 'CUSTOM', custom_action: 'my_type', url: 'https://example.com/a' },
    { action_time: t, user_id: { hash_phone: md5('13900000006') }, action_type: 'PURCHASE', colour: 'red' },
    { action_time: t, user_id: { hash_phone: md5('13900000007') }, action_type: 'PURCHASE', action_param: { nested: { a: 1 } } },
    { action_time: t + 3 * 86_400, user_id: { hash_phone: md5('13900000008') }, action_type: 'PURCHASE' },
  ];
  const r = await api(h, 'POST', '/v1/events/user-actions', { events }, acct.secret);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.received, 11);
  assert.equal(r.body.stored, 3);
  assert.deepEqual(
    r.body.refused.map((x: any) => [x.index, x.field]),
    [
      [1, 'action_type'],
      [2, 'action_time'],
      [3, 'user_id'],
      [4, 'user_id.hash_phone'],
      [5, 'custom_action'],
      [8, 'colour'],
      [9, 'action_param'],
      [10, 'action_time'],
    ],
  );
  for (const x of r.body.refused) assert.ok(x.reason.length > 5, JSON.stringify(x));
  assert.match(r.body.refused[3].reason, /hex/);
  assert.match(r.body.refused[7].reason, /future/);
  const stats = await api(h, 'GET', '/v1/events/stats', undefined, acct.secret);
  assert.deepEqual(stats.body.rows, { user_actions: 3, ad_events: 0, location_pings: 0 });
  assert.equal((await usersOf(acct.id, `action_type = 'SEARCH' AND keyword = 'running shoes'`)).length, 1);
});

test('ad events and location pings: every field checked, the good ones kept', async () => {
  const acct = await h.newAccount('events-ad');
  const t = now() - 60;
  const ad = await api(
    h,
    'POST',
    '/v1/events/ad-events',
    {
      events: [
        { event_time: t, user_id: { oaid: 'abcd1234-5678-90ef' }, event_type: 'CONVERSION', conversion_type: 'APP_INSTALL', campaign_id: 11, adgroup_id: '12', promoted_object_type: 'PROMOTED_OBJECT_TYPE_APP_ANDROID', promoted_object_id: 'com.example' },
        { event_time: t, user_id: { oaid: 'abcd1234-5678-90ef' }, event_type: 'CONVERSION' },
        { event_time: t, user_id: { oaid: 'abcd1234-5678-90ef' }, event_type: 'CLICK', conversion_type: 'APP_INSTALL' },
        { event_time: t, user_id: { oaid: 'abcd1234-5678-90ef' }, event_type: 'EXPOSURE', campaign_id: -3 },
      ],
    },
    acct.secret,
  );
  assert.equal(ad.body.stored, 1, JSON.stringify(ad.body));
  assert.deepEqual(ad.body.refused.map((x: any) => x.field), ['conversion_type', 'conversion_type', 'campaign_id']);
  const pings = await api(
    h,
    'POST',
    '/v1/events/location-pings',
    {
      events: [
        { ping_time: t, user_id: { phone: '13800000009' }, latitude: 31.2304, longitude: 121.4737, region_id: 310000, city_code: 310100, poi_id: 'B001', poi_category: 5 },
        { ping_time: t, user_id: { phone: '13800000009' }, latitude: 91, longitude: 0 },
        { ping_time: t, user_id: { phone: '13800000009' }, latitude: 10 },
      ],
    },
    acct.secret,
  );
  assert.equal(pings.body.stored, 1, JSON.stringify(pings.body));
  assert.deepEqual(pings.body.refused.map((x: any) => x.field), ['latitude', 'longitude']);
});

test('a raw phone and its MD5 are one user, the user an audience file of those phones holds', async () => {
  const acct = await h.newAccount('events-ids');
  const ps = phones(500, 503);
  const t = now() - 100;
  const r = await api(
    h,
    'POST',
    '/v1/events/user-actions',
    {
      events: [
        { action_time: t, user_id: { phone: ps[0] }, action_type: 'PURCHASE' },
        { action_time: t, user_id: { hash_phone: md5(ps[0]) }, action_type: 'PURCHASE' },
        { action_time: t, user_id: { hash_phone: md5(ps[1]).toUpperCase() }, action_type: 'VIEW_CONTENT' },
        { action_time: t, user_id: { sha256_phone: (await import('node:crypto')).createHash('sha256').update(ps[2]).digest('hex') }, action_type: 'VIEW_CONTENT' },
      ],
    },
    acct.secret,
  );
  assert.equal(r.body.stored, 4, JSON.stringify(r.body));
  const eventUsers = await usersOf(acct.id);
  assert.equal(eventUsers.length, 3);
  const upload = await uploadText(h, 'phones.txt', lines(ps), { secret: acct.secret });
  const a = await builtAudience(h, { name: 'buyers', files: [{ upload_id: upload, id_type: 'phone' }] }, acct.secret);
  assert.equal(a.status, 'SUCCESS', JSON.stringify(a));
  const row = await h.app.db.selectFrom('audiences').select(['bitmap_key', 'cluster_id']).where('id', '=', a.id).executeTakeFirstOrThrow();
  const bitmap = await h.app.bitmaps.load(Number(row.cluster_id), row.bitmap_key!);
  assert.deepEqual(bitmap.toArray(), eventUsers);
});

test('outer_action_id duplicates are counted and not stored, in a batch and across batches', async () => {
  const acct = await h.newAccount('events-dupes');
  const t = now() - 10;
  const ev = (id: string) => ({ action_time: t, user_id: { hash_phone: md5('13700000001') }, action_type: 'PURCHASE', outer_action_id: id });
  const first = await api(h, 'POST', '/v1/events/user-actions', { events: [ev('a1'), ev('a2'), ev('a1')] }, acct.secret);
  assert.deepEqual([first.body.stored, first.body.duplicates], [2, [2]]);
  const second = await api(h, 'POST', '/v1/events/user-actions', { events: [ev('a2'), ev('a3')] }, acct.secret);
  assert.deepEqual([second.body.stored, second.body.duplicates], [1, [0]]);
  const bad = await api(h, 'POST', '/v1/events/user-actions', { events: [ev('has space')] }, acct.secret);
  assert.equal(bad.body.refused[0].field, 'outer_action_id');
});

test('a WeChat action set needs WeChat ids on its actions', async () => {
  const acct = await h.newAccount('events-wechat');
  const set = await api(h, 'POST', '/v1/user-action-sets', { name: 'mini', type: 'WECHAT_MINI_PROGRAM', wechat_app_id: 'wx123456' }, acct.secret);
  assert.equal(set.status, 201);
  const t = now() - 10;
  const r = await api(
    h,
    'POST',
    '/v1/events/user-actions',
    {
      action_set_id: set.body.id,
      events: [
        { action_time: t, user_id: { wechat_openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M', wechat_app_id: 'wx123456' }, action_type: 'REGISTER' },
        { action_time: t, user_id: { hash_phone: md5('13600000001') }, action_type: 'REGISTER' },
        { action_time: t, user_id: { wechat_openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M' }, action_type: 'REGISTER' },
      ],
    },
    acct.secret,
  );
  assert.equal(r.body.stored, 1, JSON.stringify(r.body));
  assert.deepEqual(r.body.refused.map((x: any) => x.field), ['user_id', 'user_id.wechat_app_id']);
  const other = await api(h, 'POST', '/v1/events/user-actions', { action_set_id: set.body.id, events: [] }, acct.secret);
  assert.equal(other.status, 400);
  const missing = await api(h, 'POST', '/v1/events/user-actions', { action_set_id: 999_999, events: [{ action_time: t, user_id: { hash_phone: md5('1') }, action_type: 'REGISTER' }] }, acct.secret);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'ActionSetNotFound');
});

test('an NDJSON load: a report with counts and the refused lines, the same reasons as a batch', async () => {
  const acct = await h.newAccount('events-ndjson');
  const set = await api(h, 'POST', '/v1/user-action-sets', { name: 'offline', type: 'OFFLINE' }, acct.secret);
  const t = now() - 7200;
  const body = [
    JSON.stringify({ action_time: t, user_id: { hash_phone: md5('13500000001') }, action_type: 'PURCHASE', action_param: { value: 28 }, outer_action_id: 'n1' }),
    JSON.stringify({ action_time: t, user_id: { hash_phone: md5('13500000002') }, action_type: 'NOT_A_TYPE' }),
    '{not json',
    '',
    JSON.stringify({ action_time: t, user_id: { phone: '13500000003' }, action_type: 'SEARCH', keyword: 'tea' }),
    JSON.stringify({ action_time: t, user_id: { hash_phone: 'zz' }, action_type: 'PURCHASE' }),
    JSON.stringify({ action_time: t, user_id: { hash_phone: md5('13500000001') }, action_type: 'PURCHASE', outer_action_id: 'n1' }),
    JSON.stringify({ action_time: t, user_id: { hash_phone: md5('13500000004') }, action_type: 'PURCHASE', colour: 'red' }),
    JSON.stringify({ action_time: t, user_id: { hash_phone: md5('13500000005') }, action_type: 'CUSTOM' }),
  ].join('\n');
  const upload = await uploadEvents('actions.ndjson', body, acct.secret);
  const l = await load('user-actions', upload, 'ndjson', { action_set_id: set.body.id }, acct.secret);
  assert.equal(l.status, 'SUCCESS', JSON.stringify(l));
  const r = l.report;
  assert.deepEqual([r.rows, r.stored, r.duplicates, r.refused], [8, 2, 1, 5], JSON.stringify(r));
  assert.deepEqual(
    r.samples.map((s: any) => [s.line, s.field]),
    [
      [2, 'action_type'],
      [3, ''],
      [6, 'user_id.hash_phone'],
      [8, 'colour'],
      [9, 'custom_action'],
    ],
  );
  // The same events in a batch are refused for the same words.
  const batch = await api(h, 'POST', '/v1/events/user-actions', { events: body.split('\n').filter((x) => x && x !== '{not json').map((x) => JSON.parse(x)) }, acct.secret);
  const byField = new Map(batch.body.refused.map((x: any) => [x.field, x.reason]));
  for (const s of r.samples) if (s.field) assert.equal(byField.get(s.field), s.reason, s.field);
  assert.equal((await usersOf(acct.id, `keyword = 'tea'`)).length, 1);
});

test('an id field that only refused lines carry leaves the ids of the other fields as they are', async () => {
  const acct = await h.newAccount('events-id-fields');
  const ps = phones(600, 603);
  const t = now() - 7200;
  // The file's id fields are hash_phone and phone; no good line has a hash_phone.
  const body = [
    JSON.stringify({ action_time: t, user_id: { hash_phone: md5(ps[0]) }, action_type: 'NOT_A_TYPE' }),
    JSON.stringify({ action_time: t, user_id: { phone: ps[1] }, action_type: 'PURCHASE' }),
    JSON.stringify({ action_time: t, user_id: { phone: ps[2] }, action_type: 'PURCHASE' }),
  ].join('\n');
  const l = await load('user-actions', await uploadEvents('id-fields.ndjson', body, acct.secret), 'ndjson', {}, acct.secret);
  assert.equal(l.status, 'SUCCESS', JSON.stringify(l));
  assert.deepEqual([l.report.rows, l.report.stored, l.report.refused, l.report.new_users], [3, 2, 1, 2], JSON.stringify(l.report));
  assert.deepEqual(l.report.samples.map((s: any) => [s.line, s.field]), [[1, 'action_type']]);
  // The phones were read as phones: their MD5s name the same two users.
  const users = await usersOf(acct.id);
  const r = await api(h, 'POST', '/v1/events/user-actions', { events: ps.slice(1).map((p) => ({ action_time: t, user_id: { hash_phone: md5(p) }, action_type: 'SEARCH' })) }, acct.secret);
  assert.equal(r.body.stored, 2, JSON.stringify(r.body));
  assert.deepEqual(await usersOf(acct.id), users);
});

test('a line whose action_param names a key twice is refused on its own; the rest of the file loads', async () => {
  const acct = await h.newAccount('events-param-keys');
  const t = now() - 7200;
  const body = [
    `{"action_time": ${t}, "user_id": {"hash_phone": "${md5('13600000001')}"}, "action_type": "PURCHASE", "action_param": {"value": 1, "value": 2}}`,
    `{"action_time": ${t}, "user_id": {"hash_phone": "${md5('13600000002')}"}, "action_type": "PURCHASE", "action_param": {"value": 3, "note": null}}`,
    `{"action_time": ${t}, "user_id": {"hash_phone": "${md5('13600000003')}"}, "action_type": "PURCHASE", "action_param": {"value": 4}}`,
  ].join('\n');
  const l = await load('user-actions', await uploadEvents('param-keys.ndjson', body, acct.secret), 'ndjson', {}, acct.secret);
  assert.equal(l.status, 'SUCCESS', JSON.stringify(l));
  assert.deepEqual([l.report.stored, l.report.refused], [1, 2]);
  assert.deepEqual(l.report.samples.map((s: any) => [s.line, s.field]), [[1, 'action_param'], [2, 'action_param']]);
  // A batch refuses the same null value for the same words.
  const batch = await api(h, 'POST', '/v1/events/user-actions', { events: [{ action_time: t, user_id: { hash_phone: md5('13600000002') }, action_type: 'PURCHASE', action_param: { note: null } }] }, acct.secret);
  assert.equal(batch.body.refused[0]?.reason, l.report.samples[1].reason);
});

test('a CSV load, gzipped or not, and a Parquet load', async () => {
  const acct = await h.newAccount('events-csv');
  const t = now() - 7200;
  const csv = ['event_time,hash_oaid,event_type,conversion_type,campaign_id', `${t},${md5('oaid-1')},CLICK,,5`, `${t},${md5('oaid-2')},CONVERSION,APP_ACTIVATE,5`, `${t},${md5('oaid-3')},CONVERSION,,5`, `${t},${md5('oaid-4')},CLICK,,5,extra`, `${t},${md5('oaid-5')},EXPOSURE,,6`].join('\n');
  const upload = await uploadEvents('ads.csv', csv, acct.secret);
  const l = await load('ad-events', upload, 'csv', {}, acct.secret);
  assert.equal(l.status, 'SUCCESS', JSON.stringify(l));
  assert.deepEqual([l.report.rows, l.report.stored, l.report.refused], [5, 3, 2], JSON.stringify(l.report));
  assert.deepEqual(l.report.samples.map((s: any) => s.line), [4, 5]);
  assert.equal(l.report.samples[0].field, 'conversion_type');
  assert.match(l.report.samples[1].reason, /CSV reader refused the line/);

  const gz = await uploadEvents('ads.csv.gz', gzipSync(csv), acct.secret);
  const lg = await load('ad-events', gz, 'csv', {}, acct.secret);
  assert.deepEqual([lg.report.rows, lg.report.stored, lg.report.refused], [5, 3, 2], JSON.stringify(lg));

  // A column that is no field refuses the whole load, and nothing is kept.
  const odd = await uploadEvents('odd.csv', `event_time,hash_oaid,event_type,colour\n${t},${md5('x')},CLICK,red\n`, acct.secret);
  const bad = await load('ad-events', odd, 'csv', {}, acct.secret);
  assert.equal(bad.status, 'ERROR');
  assert.match(bad.error.message, /colour/);

  // Parquet: uploaded as it is, binary, the way a client sends it.
  const pings = await parquetOf(`SELECT ${t}::BIGINT AS ping_time, md5('p' || i) AS hash_phone, 30.0 + i / 10 AS latitude, CASE WHEN i = 3 THEN 500.0 ELSE 120.0 END AS longitude, 310000 AS region_id FROM range(5) r(i)`);
  const parquet = await uploadEvents('pings.parquet', pings, acct.secret);
  const stored = (await api(h, 'GET', `/v1/uploads/${parquet}`, undefined, acct.secret)).body;
  assert.deepEqual([stored.status, stored.format, stored.purpose, stored.size], ['READY', 'parquet', 'events', pings.length]);
  const p = await load('location-pings', parquet, 'parquet', {}, acct.secret);
  assert.equal(p.status, 'SUCCESS', JSON.stringify(p));
  assert.deepEqual([p.report.rows, p.report.stored, p.report.refused], [5, 4, 1]);
  assert.deepEqual(p.report.samples, [{ line: 4, field: 'longitude', reason: 'must be a number from -180 to 180' }]);
  const stats = await api(h, 'GET', '/v1/events/stats', undefined, acct.secret);
  assert.deepEqual(stats.body.rows, { user_actions: 0, ad_events: 6, location_pings: 4 });
});

test('a load that fails midway leaves no rows, and ends in ERROR after its retries', async () => {
  const acct = await h.newAccount('events-fail');
  const t = now() - 60;
  const body = Array.from({ length: 50 }, (_, i) => JSON.stringify({ action_time: t, user_id: { phone: String(13_100_000_000 + i) }, action_type: 'PURCHASE' })).join('\n');
  const upload = await uploadEvents('fail.ndjson', body, acct.secret);
  const commit = h.app.dictionary.commit;
  // Every row is in place when the dictionary's commit (just before the store's) fails.
  h.app.dictionary.commit = () => Promise.reject(new Error('no space left on device'));
  try {
    const l = await load('user-actions', upload, 'ndjson', {}, acct.secret);
    assert.equal(l.status, 'ERROR');
    assert.match(l.error.message, /no space left/);
  } finally {
    h.app.dictionary.commit = commit;
  }
  assert.equal(await h.app.eventStore.count('user_actions', acct.id), 0);
});

test("another account's upload cannot be loaded", async () => {
  const other = await h.newAccount('events-other');
  const upload = await uploadEvents('theirs.csv', 'action_time,hash_phone,action_type\n1,2,3\n', other.secret);
  const r = await api(h, 'POST', '/v1/events/user-actions/loads', { upload_id: upload, format: 'csv' });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'UploadNotFound');
  const theirs = await api(h, 'POST', '/v1/events/user-actions/loads', { upload_id: upload, format: 'csv' }, other.secret);
  assert.equal(theirs.status, 202);
  const mine = await api(h, 'GET', `/v1/events/loads/${theirs.body.id}`);
  assert.equal(mine.status, 404);
  assert.equal(mine.body.error.code, 'EventLoadNotFound');
});

test('an events upload takes only event file names; .parquet is checked for PAR1 at both ends, text event files for text; nothing refused is kept', async () => {
  const acct = await h.newAccount('events-uploads');
  const named = await createEventUpload('actions.txt', Buffer.from('x\n'), acct.secret);
  assert.equal(named.status, 400, JSON.stringify(named.body));
  assert.deepEqual([named.body.error.code, named.body.error.field], ['InvalidParameter', 'file_name']);
  const purpose = await nativeApi(h, 'POST', '/v1/uploads', { secret: acct.secret, body: { file_name: 'a.csv', purpose: 'logs' } });
  assert.equal(purpose.status, 400, JSON.stringify(purpose.body));

  const pings = await parquetOf(`SELECT 1700000000::BIGINT AS ping_time, 'x' AS hash_phone, 1.0 AS latitude, 2.0 AS longitude`);
  const csv = Buffer.from('ping_time,hash_phone,latitude,longitude\n1700000000,x,1,2\n');
  const refused: Array<[string, string, Buffer, RegExp]> = [
    ['text named .parquet', 'pings.parquet', csv, /does not start with Parquet's magic bytes/],
    ['gzip named .parquet', 'pings.parquet', gzipSync(pings), /does not start with Parquet's magic bytes/],
    ['a Parquet file cut short', 'pings.parquet', pings.subarray(0, pings.length - 9), /does not end with Parquet's magic bytes/],
    ['Parquet named .csv', 'pings.csv', pings, /NUL byte .*upload a Parquet file under a \.parquet name/],
    ['Parquet gzipped and named .ndjson.gz', 'pings.ndjson.gz', gzipSync(pings), /decompressed gzip content holds binary data/],
    ['Latin-1 named .jsonl', 'pings.jsonl', Buffer.from('{"poi_id":"caf\xe9"}\n', 'latin1'), /not UTF-8 text; a \.csv, \.ndjson or \.jsonl event file/],
  ];
  for (const [what, name, body, why] of refused) {
    const made = await createEventUpload(name, body, acct.secret);
    assert.equal(made.status, 201, `${what}: ${JSON.stringify(made.body)}`);
    const r = await putUrl(h, made.body.put.url, body, made.body.put.headers);
    assert.equal(r.status, 400, `${what}: ${r.body}`);
    await assertNothingKept(h, made.body.upload.id, { code: 'NotAudienceFile', messageMatches: why, secret: acct.secret });
  }

  // A JSON Lines file is NDJSON under another name.
  const t = now() - 60;
  const jsonl = await uploadEvents('pings.jsonl', JSON.stringify({ ping_time: t, user_id: { hash_phone: md5('jl') }, latitude: 1, longitude: 2 }) + '\n', acct.secret);
  const l = await load('location-pings', jsonl, 'ndjson', {}, acct.secret);
  assert.deepEqual([l.status, l.report.stored], ['SUCCESS', 1], JSON.stringify(l));
});

test('a load refuses an audience upload, and an audience (or its estimate) refuses an events upload, naming the upload', async () => {
  const acct = await h.newAccount('events-purpose');
  const t = now() - 60;
  const line = JSON.stringify({ action_time: t, user_id: { hash_phone: md5('13400000001') }, action_type: 'PURCHASE' }) + '\n';
  const audienceUpload = await uploadText(h, 'actions.ndjson', line, { secret: acct.secret });
  const l = await api(h, 'POST', '/v1/events/user-actions/loads', { upload_id: audienceUpload, format: 'ndjson' }, acct.secret);
  assert.equal(l.status, 400, JSON.stringify(l.body));
  assert.deepEqual([l.body.error.code, l.body.error.field], ['InvalidParameter', 'upload_id']);
  assert.match(l.body.error.message, /purpose "audience"/);

  const eventUpload = await uploadEvents('phones.csv', lines(phones(0, 3)), acct.secret);
  const a = await api(h, 'POST', '/v1/audiences', { name: 'from-events', files: [{ upload_id: eventUpload, id_type: 'phone' }] }, acct.secret);
  assert.equal(a.status, 400, JSON.stringify(a.body));
  assert.deepEqual([a.body.error.code, a.body.error.field], ['InvalidParameter', 'files[0].upload_id']);
  const e = await api(h, 'POST', '/v1/audiences/estimate', { type: 'CUSTOMER_FILE', files: [{ upload_id: eventUpload, id_type: 'phone' }] }, acct.secret);
  assert.equal(e.status, 400, JSON.stringify(e.body));
  assert.equal(e.body.error.field, 'files[0].upload_id');
  assert.equal((await api(h, 'GET', '/v1/audiences', undefined, acct.secret)).body.items.length, 0);
  assert.equal(await h.app.eventStore.count('user_actions', acct.id), 0);
});
