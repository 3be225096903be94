// Tencent Marketing API audience sharing and coverage estimates on /v1.3:
// audience_grant_relations/add and /get, custom_audience_estimations/get
// (POST as the v1.3 SDK sends it, GET with JSON in the query as the v3.0
// page's curl), in the vendor's shapes end to end; then a table of every
// refusal rule, each request differing from a valid one in one field, the
// vendor code and the field named in both messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { DELETE } from './support/paths.js';
import { api, builtAudience, lines, phones } from './support/audiences.js';
import { md5, nativeCreate, putUrl } from './support/front-door.js';
import { adsGlobals, adsToken, editByRow, missedRefusal, whenBuilt, type PathRow } from './support/tencent-ads.js';

type Body = Record<string, any>;
type Account = { id: string; secret: string; token: string };

let h: Harness;
let owner: Account;
let grantee: Account;
/**
 * The owner's audiences: A = phones 0..99, B = 50..149, C = 0..199, Empty and
 * Pending (no version yet), Combo (a COMBINE of A); the grantee's own G =
 * 90..199. A and B are shared by the first test, Combo and Pending by the
 * table's; C and Empty never are.
 */
const ids = { A: 0, B: 0, C: 0, Empty: 0, Pending: 0, Combo: 0, G: 0 };
let dataPath = '';
let pendingPath = '';

async function ads(as: Account, method: 'GET' | 'POST', path: string, body?: Body, query: Record<string, string> = {}): Promise<Body> {
  const params = new URLSearchParams({ ...adsGlobals(h, as.token), ...query });
  const res = await h.server.inject({ method, url: `/v1.3/${path}?${params}`, ...(body !== undefined ? { payload: body } : {}) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

const grantBody = (audienceIds: number[], accounts: string[]): Body => ({
  account_id: Number(owner.id),
  audience_id_list: audienceIds,
  grant_type: 'GRANT_TYPE_BUSINESS',
  grant_spec: {
    grant_to_business_spec: {
      grant_business_id: 12312,
      grant_scope_type: 'GRANT_SCOPE_TYPE_ACCOUNT',
      grant_account_permission: accounts.map((a) => ({ account_id: Number(a), grant_permission_type_list: ['GRANT_PERMISSION_TYPE_TARGET', 'GRANT_PERMISSION_TYPE_INSIGHT'] })),
    },
  },
});

const combineSpec = (include: number[][], exclude: number[][] = []) => ({
  combine_spec: { include: include.map((g) => g.map((audience_id) => ({ audience_id }))), ...(exclude.length ? { exclude: exclude.map((g) => g.map((audience_id) => ({ audience_id }))) } : {}) },
});

before(async () => {
  h = await startHarness({ jobs: true });
  owner = { ...h.account, token: await adsToken(h, h.account.secret) };
  const g = await h.newAccount(`grantee-${Date.now()}`);
  grantee = { ...g, token: await adsToken(h, g.secret) };
  const make = async (name: string, from: number, to: number, secret?: string) => (await builtAudience(h, { name, ids: { id_type: 'phone', values: phones(from, to) } }, secret)).id;
  ids.A = await make('A', 0, 100);
  ids.B = await make('B', 50, 150);
  ids.C = await make('C', 0, 200);
  ids.G = await make('G', 90, 200, grantee.secret);
  ids.Empty = (await api(h, 'POST', '/v1/audiences', { name: 'empty' })).body.id;
  ids.Pending = (await api(h, 'POST', '/v1/audiences', { name: 'pending' })).body.id;
  ids.Combo = (await builtAudience(h, { name: 'Combo', type: 'COMBINE', combine: { include: [[ids.A]] } })).id;
  // A file of MD5 phones for the file estimate: 10 known (0..9), 50 new (300..349), one twice, one bad line.
  const content = Buffer.from(lines([...phones(0, 10), ...phones(300, 350), phones(300, 301)[0]].map(md5).concat(['zz'])));
  const { upload, put } = await nativeCreate(h, { file_name: 'estimate.txt', md5: md5(content), size: content.length }, grantee.secret);
  assert.equal((await putUrl(h, put.url, content, put.headers)).status, 200);
  dataPath = upload.data_path;
  pendingPath = (await nativeCreate(h, { file_name: 'pending.txt' }, grantee.secret)).upload.data_path;
});
after(async () => h.close());

test('audience_grant_relations/add shares audiences with accounts; /get lists each grant in the SDK\'s shape', async () => {
  const r = await ads(owner, 'POST', 'audience_grant_relations/add', grantBody([ids.A, ids.B], [grantee.id]));
  assert.deepEqual(r, { code: 0, message: '', message_cn: '', data: {} });
  // Again: nothing changes, no error.
  assert.equal((await ads(owner, 'POST', 'audience_grant_relations/add', grantBody([ids.A], [grantee.id]))).code, 0);

  const all = await ads(owner, 'GET', 'audience_grant_relations/get', undefined, { account_id: owner.id });
  assert.equal(all.code, 0, JSON.stringify(all));
  const item = (audienceId: number) => ({
    audience_id: audienceId,
    grant_type: 'GRANT_TYPE_BUSINESS',
    grant_spec: {
      grant_to_business_spec: {
        grant_business_id: 0,
        grant_scope_type: 'GRANT_SCOPE_TYPE_ACCOUNT',
        grant_account_permission: { account_id: Number(grantee.id), grant_permission_type_list: ['GRANT_PERMISSION_TYPE_TARGET'] },
      },
    },
  });
  assert.deepEqual(all.data, { list: [item(ids.B), item(ids.A)], page_info: { page: 1, page_size: 10, total_number: 2, total_page: 1 } });
  const one = await ads(owner, 'GET', 'audience_grant_relations/get', undefined, {
    account_id: owner.id,
    filtering: JSON.stringify([{ field: 'audience_id', operator: 'IN', values: [ids.A, 999] }]),
    page: '1',
    page_size: '1',
    fields: JSON.stringify(['audience_id']),
  });
  assert.deepEqual(one.data, { list: [{ audience_id: ids.A }], page_info: { page: 1, page_size: 1, total_number: 1, total_page: 1 } });
  const page2 = await ads(owner, 'GET', 'audience_grant_relations/get', undefined, { account_id: owner.id, page: '2', page_size: '1' });
  assert.deepEqual(page2.data.list.map((x: Body) => x.audience_id), [ids.A]);
  // The grantee made no grant.
  assert.equal((await ads(grantee, 'GET', 'audience_grant_relations/get', undefined, { account_id: grantee.id })).data.page_info.total_number, 0);
});

test('a grantee combines a shared audience with its own through custom_audiences/add; the estimate says the same size first', async () => {
  // A is [0,100), G is [90,200): 10 in both.
  const spec = combineSpec([[ids.A], [ids.G]]);
  const post = await ads(grantee, 'POST', 'custom_audience_estimations/get', { account_id: Number(grantee.id), type: 'COMBINE', audience_spec: spec });
  assert.deepEqual(post, { code: 0, message: '', message_cn: '', data: { user_count: 10 } });
  const get = await ads(grantee, 'GET', 'custom_audience_estimations/get', undefined, { account_id: grantee.id, type: 'COMBINE', audience_spec: JSON.stringify(combineSpec([[ids.A, ids.G]], [[ids.B]])) });
  // ([0,100) ∪ [90,200)) − [50,150) = [0,50) ∪ [150,200)
  assert.deepEqual(get.data, { user_count: 100 });
  const sdkFields = await ads(grantee, 'GET', 'custom_audience_estimations/get', undefined, { account_id: grantee.id, type: 'COMBINE', audience_spec: JSON.stringify(spec), fields: 'user_count' });
  assert.deepEqual(sdkFields.data, { user_count: 10 });

  const made = await ads(grantee, 'POST', 'custom_audiences/add', { account_id: Number(grantee.id), name: 'with shared', type: 'COMBINE', audience_spec: spec });
  assert.equal(made.code, 0, JSON.stringify(made));
  const built = await whenBuilt('the COMBINE', async () => (await ads(grantee, 'GET', 'custom_audiences/get', undefined, { account_id: grantee.id, audience_id: String(made.data.audience_id) })).data.list[0]);
  assert.equal(built.user_count, 10);
  // The shared audience is no audience of the grantee's for anything else.
  const del = await ads(grantee, 'POST', 'custom_audiences/delete', { account_id: Number(grantee.id), audience_id: ids.A });
  assert.equal(del.code, 31005, JSON.stringify(del));
});

test('custom_audience_estimations/get CUSTOMER_FILE (our extension): known users plus distinct new ids, nothing added', async () => {
  const keysBefore = await h.app.db.selectFrom('audiences').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const r = await ads(grantee, 'POST', 'custom_audience_estimations/get', {
    account_id: Number(grantee.id),
    type: 'CUSTOMER_FILE',
    audience_spec: { customer_file_spec: { data_path: dataPath, user_id_type: 'HASH_MOBILE_PHONE' } },
  });
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.deepEqual(r.data, { user_count: 60, matched_user_count: 10, new_id_count: 50, line_count: 62, valid_line_count: 61, invalid_line_count: 1 });
  const onlyCount = await ads(grantee, 'GET', 'custom_audience_estimations/get', undefined, {
    account_id: grantee.id,
    type: 'CUSTOMER_FILE',
    audience_spec: JSON.stringify({ customer_file_spec: { data_path: dataPath, user_id_type: 'HASH_MOBILE_PHONE' } }),
    fields: JSON.stringify(['user_count', 'new_id_count']),
  });
  assert.deepEqual(onlyCount.data, { user_count: 60, new_id_count: 50 });
  const again = await ads(grantee, 'POST', 'custom_audience_estimations/get', {
    account_id: Number(grantee.id),
    type: 'CUSTOMER_FILE',
    audience_spec: { customer_file_spec: { data_path: dataPath, user_id_type: 'HASH_MOBILE_PHONE' } },
  });
  assert.equal(again.data.new_id_count, 50, 'the first estimate added no key');
  assert.deepEqual(await h.app.db.selectFrom('audiences').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(), keysBefore);
});

// ---------------------------------------------------------------------------
// Refusals.

const MISSING = 31001;
const INVALID = 31002;
const NOT_FOUND = 31005;
const NOT_READY = 31004;
const NOT_AVAILABLE = 31010;
const FORBIDDEN = 11014;
const many = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

interface Row extends PathRow {
  call: 'grant' | 'grants' | 'estimate';
}

const BS = 'grant_spec.grant_to_business_spec';
const GAP = `${BS}.grant_account_permission`;
const CS = 'audience_spec.combine_spec';
const FS = 'audience_spec.customer_file_spec';

/** One valid request per call and variant; `grants` bodies are query parameters. */
function valid(call: Row['call'], base: string): Body {
  if (call === 'grant') {
    const b = grantBody([ids.A], [grantee.id]);
    if (base === 'business') b.grant_spec.grant_to_business_spec = { grant_business_id: 1, grant_scope_type: 'GRANT_SCOPE_TYPE_BUSINESS', grant_business_permission: { grant_permission_type_list: ['GRANT_PERMISSION_TYPE_TARGET'] } };
    return b;
  }
  if (call === 'grants') return { account_id: owner.id, filtering: [{ field: 'audience_id', operator: 'IN', values: [ids.A] }], page: 1, page_size: 10, fields: ['audience_id'] };
  const account_id = Number(grantee.id);
  const specs: Record<string, [string, Body]> = {
    combine: ['COMBINE', combineSpec([[ids.A, ids.G]], [[ids.B]])],
    file: ['CUSTOMER_FILE', { customer_file_spec: { data_path: dataPath, user_id_type: 'HASH_MOBILE_PHONE' } }],
    lookalike: ['LOOKALIKE', { lookalike_spec: { seed_audience_id: ids.G, expand_user_count: 1_000_000 } }],
    keyword: ['KEYWORD', { keyword_spec: { include_keyword: ['手机'] } }],
  };
  const [type, audience_spec] = specs[base];
  return structuredClone({ account_id, type, audience_spec });
}

const rows: Row[] = [
  // audience_grant_relations/add.
  { call: 'grant', base: 'account', path: 'account_id', value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: 'account_id', value: 'abc', code: INVALID },
  { call: 'grant', base: 'account', path: 'account_id', value: () => Number(grantee.id), code: FORBIDDEN },
  { call: 'grant', base: 'account', path: 'audience_id_list', value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: 'audience_id_list', value: [], code: INVALID },
  { call: 'grant', base: 'account', path: 'audience_id_list', value: many(21, (i) => i + 1), code: INVALID },
  { call: 'grant', base: 'account', path: 'audience_id_list[0]', value: 0, code: INVALID },
  { call: 'grant', base: 'account', path: 'audience_id_list[0]', value: 2_147_483_648, code: INVALID },
  { call: 'grant', base: 'account', path: 'audience_id_list[0]', value: 999_999_999, code: NOT_FOUND },
  { call: 'grant', base: 'account', path: 'audience_id_list[0]', value: () => ids.G, code: NOT_FOUND }, // the grantee's, not the caller's
  { call: 'grant', base: 'account', path: 'grant_type', value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: 'grant_type', value: 'GRANT_TYPE_ACCOUNT', code: INVALID },
  { call: 'grant', base: 'account', path: 'grant_spec', value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: 'grant_spec.grant_to_business_spec', value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: 'grant_spec.other_spec', value: {}, code: INVALID },
  { call: 'grant', base: 'account', path: `${BS}.grant_business_id`, value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: `${BS}.grant_business_id`, value: -1, code: INVALID },
  { call: 'grant', base: 'account', path: `${BS}.grant_business_id`, value: 2_147_483_648, code: INVALID },
  { call: 'grant', base: 'account', path: `${BS}.grant_scope_type`, value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: `${BS}.grant_scope_type`, value: 'GRANT_SCOPE_TYPE_ALL', code: INVALID },
  { call: 'grant', base: 'account', path: `${BS}.grant_business_permission`, value: { grant_permission_type_list: ['GRANT_PERMISSION_TYPE_TARGET'] }, code: INVALID },
  { call: 'grant', base: 'account', path: GAP, value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: GAP, value: [], code: INVALID },
  { call: 'grant', base: 'account', path: GAP, value: many(101, (i) => ({ account_id: i + 1, grant_permission_type_list: ['GRANT_PERMISSION_TYPE_TARGET'] })), code: INVALID },
  { call: 'grant', base: 'account', path: `${GAP}[0].account_id`, value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: `${GAP}[0].account_id`, value: 0, code: INVALID },
  { call: 'grant', base: 'account', path: `${GAP}[0].account_id`, value: () => Number(owner.id), code: INVALID },
  { call: 'grant', base: 'account', path: `${GAP}[0].account_id`, value: 999_999_999, code: NOT_FOUND },
  { call: 'grant', base: 'account', path: `${GAP}[0].grant_permission_type_list`, value: DELETE, code: MISSING },
  { call: 'grant', base: 'account', path: `${GAP}[0].grant_permission_type_list`, value: [], code: INVALID },
  { call: 'grant', base: 'account', path: `${GAP}[0].grant_permission_type_list[0]`, value: 'GRANT_PERMISSION_TYPE_ALL', code: INVALID },
  { call: 'grant', base: 'account', path: `${GAP}[0].grant_permission_type_list`, value: ['GRANT_PERMISSION_TYPE_INSIGHT'], code: NOT_AVAILABLE },
  { call: 'grant', base: 'account', path: 'colour', value: 'red', code: INVALID },
  { call: 'grant', base: 'business', path: `${BS}.grant_business_permission`, value: DELETE, code: MISSING },
  { call: 'grant', base: 'business', path: `${BS}.grant_business_permission.grant_permission_type_list`, value: DELETE, code: MISSING },
  { call: 'grant', base: 'business', path: GAP, value: [{ account_id: 1, grant_permission_type_list: ['GRANT_PERMISSION_TYPE_TARGET'] }], code: INVALID },
  { call: 'grant', base: 'business', path: `${BS}.grant_business_id`, value: 7, code: NOT_AVAILABLE, field: `${BS}.grant_scope_type` },
  // audience_grant_relations/get.
  { call: 'grants', base: 'q', path: 'account_id', value: DELETE, code: MISSING },
  { call: 'grants', base: 'q', path: 'account_id', value: () => grantee.id, code: FORBIDDEN },
  { call: 'grants', base: 'q', path: 'filtering', value: many(2, () => ({ field: 'audience_id', operator: 'IN', values: [1] })), code: INVALID },
  { call: 'grants', base: 'q', path: 'filtering[0].field', value: 'name', code: INVALID },
  { call: 'grants', base: 'q', path: 'filtering[0].operator', value: 'CONTAINS', code: INVALID },
  { call: 'grants', base: 'q', path: 'filtering[0].values', value: [], code: INVALID },
  { call: 'grants', base: 'q', path: 'filtering[0].values', value: many(101, (i) => i), code: INVALID },
  { call: 'grants', base: 'q', path: 'filtering[0].values[0]', value: -1, code: INVALID },
  { call: 'grants', base: 'q', path: 'filtering[0].operator', value: 'EQUALS', code: INVALID, field: 'filtering[0].values', also: [['filtering[0].values', [1, 2]]] },
  { call: 'grants', base: 'q', path: 'page', value: 0, code: INVALID },
  { call: 'grants', base: 'q', path: 'page_size', value: 101, code: INVALID },
  { call: 'grants', base: 'q', path: 'fields[0]', value: 'grantee', code: INVALID },
  { call: 'grants', base: 'q', path: 'filtering', value: 'not json', code: INVALID },
  // custom_audience_estimations/get.
  { call: 'estimate', base: 'combine', path: 'account_id', value: DELETE, code: MISSING },
  { call: 'estimate', base: 'combine', path: 'account_id', value: () => Number(owner.id), code: FORBIDDEN },
  { call: 'estimate', base: 'combine', path: 'type', value: DELETE, code: MISSING },
  { call: 'estimate', base: 'combine', path: 'type', value: 'TAG', code: INVALID },
  { call: 'estimate', base: 'combine', path: 'audience_spec', value: DELETE, code: MISSING },
  { call: 'estimate', base: 'file', path: 'audience_spec', value: DELETE, code: MISSING },
  { call: 'estimate', base: 'combine', path: 'name', value: 'x', code: INVALID },
  { call: 'estimate', base: 'combine', path: CS, value: DELETE, code: MISSING },
  { call: 'estimate', base: 'combine', path: `${CS}.include`, value: [], code: INVALID },
  { call: 'estimate', base: 'combine', path: `${CS}.include[0]`, value: [], code: INVALID },
  { call: 'estimate', base: 'combine', path: `${CS}.include[0][0].audience_id`, value: DELETE, code: MISSING },
  { call: 'estimate', base: 'combine', path: `${CS}.include[0][0].time_window`, value: 2, code: INVALID },
  { call: 'estimate', base: 'combine', path: `${CS}.include`, value: many(300, (i) => [{ audience_id: i + 1 }]), code: INVALID, field: CS, also: [[`${CS}.exclude`, many(201, (i) => [{ audience_id: 1000 + i }])]] },
  { call: 'estimate', base: 'combine', path: `${CS}.include[0][1].audience_id`, value: 999_999_999, code: NOT_FOUND },
  { call: 'estimate', base: 'combine', path: `${CS}.include[0][1].audience_id`, value: () => ids.Empty, code: NOT_FOUND }, // the owner's, not shared
  { call: 'estimate', base: 'combine', path: `${CS}.include[0][1].audience_id`, value: () => ids.C, code: NOT_FOUND }, // the owner's, not shared
  { call: 'estimate', base: 'combine', path: `${CS}.exclude[0][0].audience_id`, value: () => ids.Combo, code: INVALID }, // shared, but a COMBINE
  { call: 'estimate', base: 'combine', path: `${CS}.exclude[0][0].audience_id`, value: () => ids.Pending, code: NOT_READY }, // shared, not built
  { call: 'estimate', base: 'combine', path: 'audience_spec.customer_file_spec', value: { data_path: 'oss://b/k', user_id_type: 'IMEI' }, code: INVALID },
  { call: 'estimate', base: 'file', path: FS, value: DELETE, code: MISSING },
  { call: 'estimate', base: 'file', path: `${FS}.user_id_type`, value: DELETE, code: MISSING },
  { call: 'estimate', base: 'file', path: `${FS}.user_id_type`, value: 'MOBILE_PHONE', code: INVALID },
  { call: 'estimate', base: 'file', path: `${FS}.data_path`, value: DELETE, code: MISSING },
  { call: 'estimate', base: 'file', path: `${FS}.resource_url`, value: 'https://example.com/x.txt', code: INVALID },
  { call: 'estimate', base: 'file', path: `${FS}.data_path`, value: '', code: INVALID },
  { call: 'estimate', base: 'file', path: `${FS}.data_path`, value: 'ftp://bucket/key', code: INVALID },
  { call: 'estimate', base: 'file', path: `${FS}.data_path`, value: 'oss://no-such-bucket/key.txt', code: FORBIDDEN },
  { call: 'estimate', base: 'file', path: `${FS}.data_path`, value: () => pendingPath, code: NOT_READY },
  { call: 'estimate', base: 'file', path: `${FS}.user_id_type`, value: 'IMEI', code: INVALID }, // no line is an IMEI
  { call: 'estimate', base: 'file', path: `${FS}.extra`, value: 1, code: INVALID },
  { call: 'estimate', base: 'file', path: 'audience_spec.combine_spec', value: { include: [[{ audience_id: 1 }]] }, code: INVALID },
  { call: 'estimate', base: 'lookalike', path: 'audience_spec.lookalike_spec.expand_user_count', value: 750_000, code: INVALID },
  { call: 'estimate', base: 'lookalike', path: 'audience_spec.lookalike_spec.seed_audience_id', value: () => ids.A, code: NOT_FOUND }, // shared, but a seed is the account's own
  { call: 'estimate', base: 'lookalike', path: 'audience_spec.lookalike_spec.seed_audience_id', value: 999_999_999, code: NOT_FOUND },
  { call: 'estimate', base: 'lookalike', path: 'type', value: 'LOOKALIKE', code: NOT_AVAILABLE, field: 'type' },
  { call: 'estimate', base: 'keyword', path: 'audience_spec.keyword_spec.include_keyword', value: [], code: INVALID },
];

test('every valid request of the refusal table succeeds (or is NotAvailable where the type is not served)', async () => {
  assert.equal((await ads(owner, 'POST', 'audience_grant_relations/add', grantBody([ids.Combo, ids.Pending], [grantee.id]))).code, 0);
  assert.equal((await ads(owner, 'POST', 'audience_grant_relations/add', valid('grant', 'account'))).code, 0);
  assert.equal((await ads(owner, 'GET', 'audience_grant_relations/get', undefined, query(valid('grants', 'q')))).code, 0);
  for (const base of ['combine', 'file', 'keyword']) assert.equal((await ads(grantee, 'POST', 'custom_audience_estimations/get', valid('estimate', base))).code, 0, base);
});

/** A get's parameters as the vendor sends them: lists and structs as JSON. */
function query(b: Body): Record<string, string> {
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]));
}

test('each refusal rule of the three calls refuses a request that breaks it, naming the field', async () => {
  const failures: string[] = [];
  for (const row of rows) {
    const body = valid(row.call, row.base);
    const value = editByRow(body, row);
    let r: Body;
    if (row.call === 'grant') r = await ads(owner, 'POST', 'audience_grant_relations/add', body);
    else if (row.call === 'grants') {
      const q = query(body);
      if (row.path === 'filtering' && value === 'not json') q.filtering = 'not json';
      r = await ads(owner, 'GET', 'audience_grant_relations/get', undefined, q);
    } else r = await ads(grantee, 'POST', 'custom_audience_estimations/get', body);
    const missed = missedRefusal(`${row.call}/${row.base}`, row, value, r);
    if (missed) failures.push(missed);
  }
  assert.deepEqual(failures, []);
  // Refused grants granted nothing: the grantee holds exactly what the tests above shared.
  const shared = (await api(h, 'GET', '/v1/shared-audiences', undefined, grantee.secret)).body.items.map((a: Body) => a.id).sort((x: number, y: number) => x - y);
  assert.deepEqual(shared, [ids.A, ids.B, ids.Combo, ids.Pending].sort((x, y) => x - y));
});

test('the estimate of a GET and of a POST read the same rules: a GET\'s audience_spec that is not JSON is refused naming it', async () => {
  const r = await ads(grantee, 'GET', 'custom_audience_estimations/get', undefined, { account_id: grantee.id, type: 'COMBINE', audience_spec: '{combine_spec' });
  assert.equal(r.code, INVALID);
  assert.match(r.message, /audience_spec/);
});
