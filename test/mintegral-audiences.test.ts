// Mintegral's audience calls on /api/open/v1/audience, with the real token
// auth: create from uploaded data_paths, update (a replace, at most every 12
// hours), delete all-or-nothing, list with page/limit. Every validation rule
// is refused with a code and a message naming the field, leaving nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { getUpload, mintegralHeaders, mintegralUpload, putUrl, serviceSeconds, waitFor, type Json, type Key } from './support/front-door.js';
import { uploadText } from './support/audiences.js';

let h: Harness;
before(async () => {
  h = await startHarness({ jobs: true });
  await refusalFixtures();
});
after(() => h.close());

const HOUR = 3_600_000;

/** One call to /api/open/v1/audience with the seed's headers. */
async function mtg(method: string, body?: unknown, query = '', key?: Key): Promise<Json> {
  const headers: Record<string, string> = mintegralHeaders(key ?? h.account, serviceSeconds(h));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${h.url}/api/open/v1/audience${query ? `?${query}` : ''}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

/** IDFAs i in [from, to), one a line. */
const idfas = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `A1B2C3D4-0000-4000-8000-${String(from + i).padStart(12, '0')}`).join('\n') + '\n';

let files = 0;
/** A READY upload made the Mintegral way (presign, then the PUT); answers its data_path. */
async function readyPath(content: string, key?: Key): Promise<string> {
  const d = await mintegralUpload(h, 1, `aud-${++files}.txt`, content, key);
  const r = await putUrl(h, d.s3.url, content);
  assert.equal(r.status, 200, r.body);
  return d.s3.data_path;
}

async function listAll(query = 'limit=500'): Promise<any> {
  const r = await mtg('GET', undefined, query);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.code, 200);
  return r.body.data;
}

const listed = async (id: number) => (await listAll(`ta_ids=${id}`)).list[0];

/** Waits until the audience is built (or failed); answers its list entry. */
const settled = (id: number) =>
  waitFor(`audience ${id} built`, async () => {
    const a = await listed(id);
    return a && a.status !== 'processing' ? a : undefined;
  }, 30_000);

async function create(body: Record<string, unknown>): Promise<number> {
  const r = await mtg('POST', body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.code, 200, JSON.stringify(r.body));
  assert.equal(r.body.msg, 'success');
  assert.equal(r.body.message, 'success');
  assert.equal(typeof r.body.data.ta_id, 'number');
  return r.body.data.ta_id;
}

test('POST creates an audience from data_paths; GET lists it with platform, device_type, area_type, status and size', async () => {
  const a = await readyPath(idfas(0, 5));
  const b = await readyPath(idfas(3, 8).toLowerCase());
  const id = await create({ ta_name: 'seed create', area_type: 1, platform: 2, data_path: [{ device_type: 2, data_path: a }, { device_type: 2, data_path: b }] });
  const got = await settled(id);
  assert.equal(got.status, 'ready', JSON.stringify(got));
  assert.equal(got.size, 8);
  assert.equal(got.ta_name, 'seed create');
  assert.equal(got.ta_type, 1);
  assert.equal(got.platform, 2);
  assert.equal(got.device_type, '2');
  assert.equal(got.area_type, 1);
  assert.equal(typeof got.ctime, 'number');
  assert.ok(Math.abs(got.ctime - serviceSeconds(h)) < 60, `ctime ${got.ctime} is in seconds`);
  assert.equal(typeof got.utime, 'number');
});

test('PUT within 12 hours is refused with UpdateTooSoon naming when; after 12 hours it replaces the audience', async () => {
  const id = await create({ ta_name: 'seed update', area_type: 1, platform: 1, data_path: [{ device_type: 2, data_path: await readyPath(idfas(0, 4)) }] });
  assert.equal((await settled(id)).size, 4);

  const next = await readyPath(idfas(100, 103));
  const soon = await mtg('PUT', { ta_id: id, data_path: [{ device_type: 7, data_path: next }] });
  assert.equal(soon.status, 409, JSON.stringify(soon.body));
  assert.equal(soon.body.code, 409);
  assert.match(soon.body.msg, /ta_id/);
  assert.match(soon.body.msg, /updated again from \d{4}-\d\d-\d\dT/);

  h.clock.offsetMs += 11 * HOUR;
  assert.equal((await mtg('PUT', { ta_id: id, data_path: [{ device_type: 2, data_path: next }] })).status, 409, 'still refused after 11 hours');

  h.clock.offsetMs += HOUR + 60_000;
  const later = await mtg('PUT', { ta_id: id, data_path: [{ device_type: 2, data_path: next }] });
  assert.equal(later.status, 200, JSON.stringify(later.body));
  assert.deepEqual(later.body.data, { ta_id: id });
  const got = await waitFor('the update built', async () => {
    const a = await listed(id);
    return a.status === 'ready' && a.size === 3 ? a : undefined;
  }, 30_000);
  assert.equal(got.size, 3, 'the update replaced the old ids');
  assert.equal(got.platform, 1, 'the platform is kept');

  const again = await mtg('PUT', { ta_id: id, data_path: [{ device_type: 2, data_path: next }] });
  assert.equal(again.status, 409, 'the 12 hours start again from the update');
});

test('DELETE removes every listed audience; with one unknown id it deletes nothing', async () => {
  const p = await readyPath(idfas(0, 2));
  const x = await create({ ta_name: 'del x', area_type: 1, platform: 3, data_path: [{ device_type: 2, data_path: p }] });
  const y = await create({ ta_name: 'del y', area_type: 1, platform: 3, data_path: [{ device_type: 2, data_path: p }] });
  await settled(x);
  await settled(y);

  const missing = await mtg('DELETE', { ta_id: [x, 987654321] });
  assert.equal(missing.status, 404, JSON.stringify(missing.body));
  assert.equal(missing.body.code, 404);
  assert.match(missing.body.msg, /987654321/);
  assert.match(missing.body.msg, /nothing was deleted/);
  assert.ok(await listed(x), 'x survives a refused delete');

  const other = await h.newAccount('someone-else');
  const foreign = await mtg('DELETE', { ta_id: [x] }, '', other);
  assert.equal(foreign.status, 404, "another account's audience is unknown");
  assert.ok(await listed(x));

  const r = await mtg('DELETE', { ta_id: [x, y] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.code, 200);
  assert.equal(await listed(x), undefined);
  assert.equal(await listed(y), undefined);
});

test('GET pages with page and limit (default 10, above 500 means 500) and filters by ta_name and platform', async () => {
  const acct = await h.newAccount('lister');
  const p = await readyPath(idfas(0, 2), acct);
  for (let i = 0; i < 3; i++) {
    const r = await mtg('POST', { ta_name: `page-${i}`, area_type: 1, platform: i === 0 ? 1 : 2, data_path: [{ device_type: 2, data_path: p }] }, '', acct);
    assert.equal(r.body.code, 200, JSON.stringify(r.body));
  }
  const get = async (q: string) => {
    const r = await mtg('GET', undefined, q, acct);
    assert.equal(r.body.code, 200, JSON.stringify(r.body));
    return r.body.data;
  };
  const first = await get('page=1&limit=2');
  assert.deepEqual([first.page, first.limit, first.current_total, first.total], [1, 2, 2, 3]);
  assert.deepEqual(first.list.map((a: any) => a.ta_name), ['page-2', 'page-1'], 'newest first');
  const second = await get('page=2&limit=2');
  assert.deepEqual([second.current_total, second.total], [1, 3]);
  assert.equal(second.list[0].ta_name, 'page-0');
  assert.equal((await get('')).limit, 10);
  assert.equal((await get('limit=9999')).limit, 500);
  assert.equal((await get('platform=1')).total, 1);
  assert.equal((await get('ta_name=page-')).total, 3);
  assert.equal((await get('ta_name=page-1')).total, 1);
  assert.equal((await get('page=3&limit=2')).current_total, 0);
});

// Refusals: each is a valid create with one thing wrong.
type Case = [what: string, body: () => Promise<Record<string, unknown>>, status: number, names: RegExp];

let good: string;
let pending: string;
let foreign: string;
let otherCluster: string;
async function refusalFixtures() {
  good = await readyPath(idfas(0, 3));
  pending = (await mintegralUpload(h, 1, 'never-sent.txt', idfas(0, 3))).s3.data_path;
  const other = await h.newAccount('stranger');
  foreign = await readyPath(idfas(0, 3), other);
  const id = await uploadText(h, 'cn.txt', idfas(0, 3), { clusterId: 2 });
  otherCluster = (await getUpload(h, id)).data_path;
}

const base = (over: Record<string, unknown> = {}) => ({ ta_name: 'refused', area_type: 1, platform: 2, data_path: [{ device_type: 2, data_path: good }], ...over });
const entry = (over: Record<string, unknown>) => base({ data_path: [{ device_type: 2, data_path: good }, { device_type: 2, data_path: good, ...over }] });
const without = (k: string) => {
  const b: Record<string, unknown> = base();
  delete b[k];
  return b;
};

const createCases: Case[] = [
  ['ta_name missing', async () => without('ta_name'), 400, /ta_name/],
  ['ta_name not a string', async () => base({ ta_name: 12 }), 400, /ta_name/],
  ['ta_name blank', async () => base({ ta_name: '   ' }), 400, /ta_name/],
  ['ta_name too long', async () => base({ ta_name: 'x'.repeat(201) }), 400, /ta_name/],
  ['area_type missing', async () => without('area_type'), 400, /area_type/],
  ['area_type not a number', async () => base({ area_type: 'one' }), 400, /area_type/],
  ['area_type of no cluster', async () => base({ area_type: 3 }), 400, /area_type/],
  ['platform missing', async () => without('platform'), 400, /platform/],
  ['platform 0', async () => base({ platform: 0 }), 400, /platform/],
  ['platform 4', async () => base({ platform: 4 }), 400, /platform/],
  ['platform not a number', async () => base({ platform: 'ios' }), 400, /platform/],
  ['data_path missing', async () => without('data_path'), 400, /data_path/],
  ['data_path empty', async () => base({ data_path: [] }), 400, /data_path/],
  ['data_path not a list', async () => base({ data_path: good }), 400, /data_path/],
  ['data_path entry not an object', async () => base({ data_path: [good] }), 400, /data_path\[0\]/],
  ['device_type missing', async () => entry({ device_type: undefined }), 400, /data_path\[1\]\.device_type/],
  ['device_type 5 (no such type)', async () => entry({ device_type: 5 }), 400, /data_path\[1\]\.device_type/],
  ['device_type not a number', async () => entry({ device_type: 'IDFA' }), 400, /data_path\[1\]\.device_type/],
  ['entry data_path missing', async () => entry({ data_path: undefined }), 400, /data_path\[1\]\.data_path/],
  ['data_path unknown', async () => entry({ data_path: 's3://audiencehub-intl/nope.txt' }), 404, /data_path\[1\]\.data_path/],
  ["data_path of another account's upload", async () => entry({ data_path: foreign }), 404, /data_path\[1\]\.data_path/],
  ['data_path not READY', async () => entry({ data_path: pending }), 409, /data_path\[1\]\.data_path.*PENDING/],
  ['data_path in another cluster', async () => entry({ data_path: otherCluster }), 400, /data_path\[1\]\.data_path.*area_type 2/],
];

for (const [what, body, status, names] of createCases) {
  test(`create: ${what} is refused with code ${status} naming the field`, async () => {
    const before = (await listAll()).total;
    const r = await mtg('POST', await body());
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.code, status);
    assert.equal(r.body.data, null);
    assert.match(r.body.msg, names);
    assert.equal(r.body.message, r.body.msg);
    assert.equal((await listAll()).total, before, 'no audience was created');
  });
}

test('create: a taken ta_name is refused with 409 naming ta_name', async () => {
  await create(base({ ta_name: 'taken' }));
  const r = await mtg('POST', base({ ta_name: 'taken' }));
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.code, 409);
  assert.match(r.body.msg, /ta_name/);
});

test('create: without the token the call is refused and nothing is created', async () => {
  const before = (await listAll()).total;
  const r = await fetch(`${h.url}/api/open/v1/audience`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(base({ ta_name: 'no auth' })) });
  assert.equal(r.status, 401);
  assert.equal((await listAll()).total, before);
});

test('update: every field is checked before the 12 hours matter', async () => {
  const id = await create(base({ ta_name: 'update refusals' }));
  const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['ta_id missing', { data_path: [{ device_type: 2, data_path: good }] }, 400, /ta_id/],
    ['ta_id not a number', { ta_id: 'abc', data_path: [{ device_type: 2, data_path: good }] }, 400, /ta_id/],
    ['ta_id unknown', { ta_id: 987654321, data_path: [{ device_type: 2, data_path: good }] }, 404, /ta_id/],
    ['data_path missing', { ta_id: id }, 400, /data_path/],
    ['data_path not READY', { ta_id: id, data_path: [{ device_type: 2, data_path: pending }] }, 409, /data_path\[0\]\.data_path/],
    ['within 12 hours', { ta_id: id, data_path: [{ device_type: 2, data_path: good }] }, 409, /ta_id.*updated again from/],
  ];
  for (const [what, body, status, names] of cases) {
    const r = await mtg('PUT', body);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.msg, names, what);
  }
  h.clock.offsetMs += 13 * HOUR;
  const bad: Array<[string, unknown, number, RegExp]> = [
    ['data_path missing', undefined, 400, /data_path/],
    ['device_type unknown', [{ device_type: 99, data_path: good }], 400, /data_path\[0\]\.device_type/],
    ['data_path not READY', [{ device_type: 2, data_path: pending }], 409, /data_path\[0\]\.data_path/],
    ['data_path not ours', [{ device_type: 2, data_path: foreign }], 404, /data_path\[0\]\.data_path/],
    ['data_path in another cluster', [{ device_type: 2, data_path: otherCluster }], 400, /data_path\[0\]\.data_path/],
  ];
  for (const [what, dataPath, status, names] of bad) {
    const r = await mtg('PUT', { ta_id: id, ...(dataPath === undefined ? {} : { data_path: dataPath }) });
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.msg, names, what);
  }
  const r = await mtg('PUT', { ta_id: id, data_path: [{ device_type: 2, data_path: good }] });
  assert.equal(r.status, 200, 'the refused updates did not start the 12 hours again');
});

test('delete: a missing, empty or malformed ta_id is refused', async () => {
  for (const [body, status] of [[{}, 400], [{ ta_id: [] }, 400], [{ ta_id: ['x'] }, 400], [{ ta_id: [987654321] }, 404]] as const) {
    const r = await mtg('DELETE', body);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.body.msg, /ta_id/);
  }
});

test('list: a malformed page, limit, platform or ta_ids is refused naming it', async () => {
  for (const [q, names] of [['page=0', /page/], ['page=x', /page/], ['limit=0', /limit/], ['platform=7', /platform/], ['ta_ids=1,x', /ta_ids/]] as const) {
    const r = await mtg('GET', undefined, q);
    assert.equal(r.status, 400, `${q}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.msg, names);
  }
});
