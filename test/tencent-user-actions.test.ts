// Tencent Marketing API behaviour data on /v1.3, through HTTP with an
// access token, as a vendor client sends it: user_action_sets/add and /get
// in the vendor's shapes, user_actions/add storing the good actions of a
// batch and naming each bad one by its path, a table of every refusal rule
// (each differing from a good action or call in one field), a USER_ACTION
// audience made through custom_audiences/add that holds exactly the users of
// the good actions, the WeChat sets' id rules, another account's set, and a
// call over the vendor's limits refused with nothing stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TENCENT_MAX_ACTIONS } from '../src/domain/events/fields.js';
import { startHarness, type Harness } from './support/harness.js';
import { DELETE, setPath } from './support/paths.js';
import { members, phones } from './support/audiences.js';
import { md5, nativeApi } from './support/front-door.js';
import { adsGlobals, adsToken, whenBuilt } from './support/tencent-ads.js';
import { serviceSeconds } from './support/vendor-clients.js';

type Body = Record<string, any>;
type Account = { id: string; secret: string; token: string };

let h: Harness;
let me: Account;
let other: Account;
/** A WEB set of the account, for the actions of most tests. */
let webSet = 0;

const hourAgo = () => serviceSeconds(h) - 3600;

/** A /v1.3 call over HTTP; `query` pairs may repeat a name, as the SDKs repeat list parameters. */
async function ads(as: Account, method: 'GET' | 'POST', path: string, body?: unknown, query: Array<[string, string]> = []): Promise<Body> {
  const params = new URLSearchParams([...Object.entries(adsGlobals(h, as.token)), ...query]);
  const res = await fetch(`${h.url}/v1.3/${path}?${params}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

const addSet = (body: Body, as = me) => ads(as, 'POST', 'user_action_sets/add', { account_id: Number(as.id), ...body });
const getSets = (query: Array<[string, string]>, as = me) => ads(as, 'GET', 'user_action_sets/get', undefined, [['account_id', as.id], ...query]);
const addActions = (setId: number, actions: unknown, as = me) => ads(as, 'POST', 'user_actions/add', { account_id: Number(as.id), user_action_set_id: setId, actions });

async function stored(as: Account): Promise<number> {
  const r = await nativeApi(h, 'GET', '/v1/events/stats', { secret: as.secret });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.rows.user_actions;
}

/** A good action: a purchase by the phone's MD5, an hour ago. */
const purchase = (phone: string, extra: Body = {}): Body => ({ action_time: hourAgo(), user_id: { hash_phone: md5(phone) }, action_type: 'PURCHASE', ...extra });

before(async () => {
  h = await startHarness({ jobs: true });
  me = { ...h.account, token: await adsToken(h, h.account.secret) };
  const o = await h.newAccount(`ua-other-${Date.now()}`);
  other = { ...o, token: await adsToken(h, o.secret) };
  const r = await addSet({ type: 'WEB', name: 'web shop' });
  assert.equal(r.code, 0, JSON.stringify(r));
  webSet = r.data.user_action_set_id;
});
after(async () => h.close());

test('user_action_sets/add answers the id; /get lists the sets in the vendor\'s shape, filtered as the vendor allows', async () => {
  // The vendor's own example: account_id quoted, description empty, usages empty.
  const example = await ads(me, 'POST', 'user_action_sets/add', { account_id: me.id, type: 'WEB', name: 'webuser_action_set', description: '', usages: [] });
  assert.equal(example.code, 0, JSON.stringify(example));
  assert.deepEqual(Object.keys(example.data), ['user_action_set_id']);
  const android = await addSet({ type: 'ANDROID', mobile_app_id: 1104895848, description: '安卓应用', enable_conversion_claim: false });
  assert.equal(android.code, 0, JSON.stringify(android));
  const mini = await addSet({ type: 'WECHAT_MINI_PROGRAM', wechat_app_id: 'wx1234567890abcdef', name: '小程序', usages: ['DEEP_DATA_COOPERATION'] });
  const harmony = await addSet({ type: 'HARMONY', app_id_str: 'com.example.harmony' });
  const offline = await addSet({ type: 'OFFLINE' });
  for (const r of [mini, harmony, offline]) assert.equal(r.code, 0, JSON.stringify(r));

  const one = await getSets([['user_action_set_id', String(android.data.user_action_set_id)]]);
  assert.equal(one.code, 0, JSON.stringify(one));
  assert.equal(one.data.list.length, 1);
  const a = one.data.list[0];
  assert.deepEqual(Object.keys(a), ['user_action_set_id', 'type', 'mobile_app_id', 'name', 'description', 'created_time']);
  assert.deepEqual([a.user_action_set_id, a.type, a.mobile_app_id, a.name, a.description], [android.data.user_action_set_id, 'ANDROID', 1104895848, '1104895848', '安卓应用']);
  assert.match(a.created_time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

  const names = (r: Body) => r.data.list.map((s: Body) => s.name);
  const all = await getSets([]);
  assert.equal(all.data.list.length, 6);
  assert.deepEqual(names(await getSets([['type', '["WEB"]']])), ['web shop', 'webuser_action_set']);
  assert.deepEqual(names(await getSets([['type', 'HARMONY']])), ['com.example.harmony']);
  assert.deepEqual(names(await getSets([['type', 'WECHAT_MINI_PROGRAM'], ['type', 'ANDROID']])), ['1104895848', '小程序']);
  assert.deepEqual(names(await getSets([['name', '小程序']])), ['小程序']);
  assert.deepEqual(names(await getSets([['wechat_app_id', 'wx1234567890abcdef']])), ['小程序']);
  assert.deepEqual(names(await getSets([['app_id_str', 'com.example.harmony'], ['type', '["WEB"]']])), []);
  assert.match(names(await getSets([['type', '["OFFLINE"]']]))[0], /^OFFLINE \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  const perm = await getSets([['user_action_set_id', String(webSet)], ['include_permission', 'true'], ['fields', '["user_action_set_id","permission"]']]);
  assert.deepEqual(perm.data.list, [{ user_action_set_id: webSet, permission: { can_create_audience: true, can_exact_conversion_claim: false, can_as_serving: false } }]);
  // Another account sees none of them.
  assert.deepEqual((await getSets([], other)).data.list, []);

  const taken = await addSet({ type: 'WEB', name: 'web shop' });
  assert.equal(taken.code, 31003, JSON.stringify(taken));
  assert.match(taken.message_cn, /字段：name/);
});

test('user_actions/add stores a batch, with the fields the vendor documents and nothing here reads, duplicates counted by outer_action_id', async () => {
  const set = (await addSet({ type: 'WEB', name: 'happy' })).data.user_action_set_id;
  const before = await stored(me);
  const actions = [
    // The vendor's example, with a real MD5: lists among the parameters, product and channel fields.
    {
      outer_action_id: 'order_1',
      action_time: hourAgo(),
      user_id: { hash_imei: md5('861234567890123') },
      action_type: 'CUSTOM',
      custom_action: 'my_type',
      action_param: { value: 28, quantity: 5, brand_name: 'my_brand', int_array_example: [123, 234], bool_example: true, string_array_example: ['123', 'abc'] },
      product_inform: { content_type: 'EC', category_path: ['家用电器/厨房小电/豆浆机'] },
      channel: 'CHANNEL_NATURAL',
    },
    // The SDK sends action_param as JSON text; the time may be left to the server.
    { user_id: { hash_phone: md5('13800138000'), caid_version: 20220111 }, action_type: 'PURCHASE', action_param: '{"value": 99}', trace: { click_id: 'wx0ct7ztvyfmxxx' }, url: 'https://example.com/p?id=1', channel: 'TENCENT' },
    { action_time: hourAgo(), user_id: { wechat_openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M', wechat_app_id: 'wx123456' }, action_type: 'SEARCH', action_param: { keyword: '豆浆机' } },
    { ...purchase('13800138001'), outer_action_id: 'order_1' },
  ];
  const r = await addActions(set, actions);
  assert.deepEqual(r, { code: 0, message: '', message_cn: '', data: { received: 4, stored: 3, duplicates: [3], refused: [] } });
  assert.equal(await stored(me), before + 3);
  const store = h.app.eventStore;
  const rows = async (where: string) => (await store.users({ sql: `SELECT user_id FROM user_actions WHERE account_id = $1 AND action_set_id = $2 AND ${where}`, params: [me.id, set] })).size;
  assert.equal(await rows(`custom_action = 'my_type'`), 1);
  assert.equal(await rows(`keyword = '豆浆机'`), 1, "a SEARCH action's keyword is its action_param.keyword");
  assert.equal(await rows(`url = 'https://example.com/p?id=1'`), 1);
  // A list of parameter values is kept as its JSON text.
  assert.equal(await rows(`params['int_array_example'] = '[123,234]'`), 1);
  // The same outer_action_id in a later call is a duplicate too.
  const again = await addActions(set, [purchase('13800138002', { outer_action_id: 'order_1' }), purchase('13800138002', { outer_action_id: 'order_2' })]);
  assert.deepEqual(again.data, { received: 2, stored: 1, duplicates: [0], refused: [] });
});

/** Whole-call refusals: the call differs from a good one in one field; nothing of it is stored. */
test('a call that breaks a rule of the call is refused whole, with the vendor code and the field, and nothing of it is stored', async () => {
  const theirs = (await addSet({ type: 'WEB', name: 'theirs' }, other)).data.user_action_set_id;
  const good = (): Body => ({ account_id: Number(me.id), user_action_set_id: webSet, actions: [purchase('13900000001'), purchase('13900000002')] });
  const big = 'x'.repeat(1200);
  const cases: Array<[string, unknown, number, string]> = [
    ['account_id', DELETE, 31001, 'account_id'],
    ['account_id', Number(other.id), 11014, 'account_id'],
    ['account_id', 'abc', 31002, 'account_id'],
    ['user_action_set_id', DELETE, 31001, 'user_action_set_id'],
    ['user_action_set_id', 0, 31002, 'user_action_set_id'],
    ['user_action_set_id', 987_654_321, 31005, 'user_action_set_id'],
    ['user_action_set_id', theirs, 31005, 'user_action_set_id'],
    ['actions', DELETE, 31001, 'actions'],
    ['actions', [], 31002, 'actions'],
    ['actions', { action_type: 'PURCHASE' }, 31002, 'actions'],
    ['actions', Array.from({ length: TENCENT_MAX_ACTIONS + 1 }, (_, i) => purchase(String(13_900_000_100 + i))), 31002, 'actions'],
    ['actions', Array.from({ length: 45 }, (_, i) => purchase(String(13_900_000_200 + i), { url: `https://example.com/${big}` })), 31002, 'actions'],
    ['colour', 'red', 31002, 'colour'],
  ];
  const before = [await stored(me), await stored(other)];
  for (const [path, value, code, field] of cases) {
    const body = good();
    setPath(body, path, value);
    const r = await ads(me, 'POST', 'user_actions/add', body);
    assert.equal(r.code, code, `${path}=${String(JSON.stringify(value)).slice(0, 80)}: ${JSON.stringify(r).slice(0, 300)}`);
    assert.match(r.message, new RegExp(`\\b${field}\\b`), `${path}: the message names ${field}`);
    assert.match(r.message_cn, new RegExp(`字段：${field}$`), `${path}: message_cn names ${field}`);
    assert.deepEqual(r.data, {});
  }
  assert.deepEqual([await stored(me), await stored(other)], before, 'no call stored anything');
  // At the limits exactly, the call is taken.
  const fifty = await addActions(webSet, Array.from({ length: TENCENT_MAX_ACTIONS }, (_, i) => purchase(String(13_900_000_300 + i))));
  assert.deepEqual([fifty.code, fifty.data.stored], [0, TENCENT_MAX_ACTIONS], JSON.stringify(fifty).slice(0, 300));
});

/**
 * Per-action refusals: each case is one bad action after a good one; the
 * call is answered code 0, the good action stored, the bad one named by its
 * path. Field paths are under actions[1].
 */
const ACTION_CASES: Array<[string, (a: Body) => unknown, string]> = [
  ['not an object', () => 'PURCHASE', 'actions[1]'],
  ['a field the vendor does not list', (a) => ({ ...a, keyword: 'tea' }), 'actions[1].keyword'],
  ["the SDK's external_action_id", (a) => ({ ...a, external_action_id: 'x1' }), 'actions[1].external_action_id'],
  ['action_time not a time', (a) => ({ ...a, action_time: 'yesterday' }), 'actions[1].action_time'],
  ['action_time past 2^31 - 1', (a) => ({ ...a, action_time: 2_147_483_648 }), 'actions[1].action_time'],
  ['action_time days ahead', (a) => ({ ...a, action_time: serviceSeconds(h) + 3 * 86_400 }), 'actions[1].action_time'],
  ['action_type missing', (a) => ({ ...a, action_type: undefined }), 'actions[1].action_type'],
  ['action_type unknown', (a) => ({ ...a, action_type: 'BUY' }), 'actions[1].action_type'],
  ['CUSTOM without custom_action', (a) => ({ ...a, action_type: 'CUSTOM' }), 'actions[1].custom_action'],
  ['custom_action on another type', (a) => ({ ...a, custom_action: 'x' }), 'actions[1].custom_action'],
  ['custom_action over 128 bytes', (a) => ({ ...a, action_type: 'CUSTOM', custom_action: '行'.repeat(43) }), 'actions[1].custom_action'],
  ['action_param nested', (a) => ({ ...a, action_param: { cart: { value: 1 } } }), 'actions[1].action_param'],
  ['action_param text that is not JSON', (a) => ({ ...a, action_param: '{value: 1' }), 'actions[1].action_param'],
  ['action_param a list', (a) => ({ ...a, action_param: [1, 2] }), 'actions[1].action_param'],
  ['url over 2048 bytes', (a) => ({ ...a, url: `https://example.com/${'a'.repeat(2030)}` }), 'actions[1].url'],
  ['url not a string', (a) => ({ ...a, url: 5 }), 'actions[1].url'],
  ['outer_action_id with a space', (a) => ({ ...a, outer_action_id: 'order 1' }), 'actions[1].outer_action_id'],
  ['user_id missing', (a) => ({ ...a, user_id: undefined }), 'actions[1].user_id'],
  ['user_id empty', (a) => ({ ...a, user_id: {} }), 'actions[1].user_id'],
  ['user_id not an object', (a) => ({ ...a, user_id: md5('1') }), 'actions[1].user_id'],
  ['user_id with our own id type name', (a) => ({ ...a, user_id: { phone: '13800138000' } }), 'actions[1].user_id.phone'],
  ['hash_phone not an MD5', (a) => ({ ...a, user_id: { hash_phone: 'zz' } }), 'actions[1].user_id.hash_phone'],
  ['sha256_phone of the wrong length', (a) => ({ ...a, user_id: { sha256_phone: md5('1') } }), 'actions[1].user_id.sha256_phone'],
  ['an id not a string', (a) => ({ ...a, user_id: { hash_imei: 12345 } }), 'actions[1].user_id.hash_imei'],
  ['wechat_openid without wechat_app_id', (a) => ({ ...a, user_id: { wechat_openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M' } }), 'actions[1].user_id.wechat_app_id'],
  ['wechat_app_id of one byte', (a) => ({ ...a, user_id: { wechat_openid: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M', wechat_app_id: 'w' } }), 'actions[1].user_id.wechat_app_id'],
  ['caid_version negative', (a) => ({ ...a, user_id: { ...a.user_id, caid_version: -1 } }), 'actions[1].user_id.caid_version'],
  ['trace not an object', (a) => ({ ...a, trace: 'click' }), 'actions[1].trace'],
  ['trace.click_id over 64 bytes', (a) => ({ ...a, trace: { click_id: 'c'.repeat(65) } }), 'actions[1].trace.click_id'],
  ['trace with an unknown field', (a) => ({ ...a, trace: { impression_id: 'x' } }), 'actions[1].trace.impression_id'],
  ['product_inform.content_type unknown', (a) => ({ ...a, product_inform: { content_type: 'SHOES' } }), 'actions[1].product_inform.content_type'],
  ['product_inform.category_path over 16', (a) => ({ ...a, product_inform: { category_path: Array.from({ length: 17 }, () => 'a/b') } }), 'actions[1].product_inform.category_path'],
  ['product_inform.product_catalog_id empty', (a) => ({ ...a, product_inform: { product_catalog_id: '' } }), 'actions[1].product_inform.product_catalog_id'],
  ['channel unknown', (a) => ({ ...a, channel: 'WEIBO' }), 'actions[1].channel'],
];

test('each refusal rule of an action refuses that action alone, naming its field; the good action of the call is stored', async () => {
  for (const [what, bad, field] of ACTION_CASES) {
    const before = await stored(me);
    const r = await addActions(webSet, [purchase('13700000001'), bad(purchase('13700000002'))]);
    assert.equal(r.code, 0, `${what}: ${JSON.stringify(r)}`);
    assert.deepEqual([r.data.received, r.data.stored, r.data.duplicates], [2, 1, []], `${what}: ${JSON.stringify(r.data)}`);
    assert.equal(r.data.refused.length, 1, `${what}: ${JSON.stringify(r.data.refused)}`);
    assert.deepEqual([r.data.refused[0].index, r.data.refused[0].field], [1, field], what);
    assert.ok(r.data.refused[0].reason.length > 5, `${what}: the refusal says why`);
    assert.equal(await stored(me), before + 1, `${what}: only the good action is stored`);
  }
});

test('a batch of good and bad actions stores only the good; a USER_ACTION audience made afterwards through custom_audiences/add holds exactly their users', async () => {
  const set = (await addSet({ type: 'WEB', name: 'rule source' })).data.user_action_set_id;
  const people = phones(7000, 7010);
  const bad: Array<(a: Body) => Body> = [
    (a) => ({ ...a, action_type: 'BUY' }),
    (a) => ({ ...a, user_id: { hash_phone: 'not-an-md5' } }),
    (a) => ({ ...a, action_time: 'last week' }),
    (a) => ({ ...a, keyword: 'x' }),
    (a) => ({ ...a, trace: { click_id: '' } }),
  ];
  // People 0, 2, 4, 6, 8 buy; 1, 3, 5, 7, 9 send a broken purchase each.
  const actions = people.map((p, i) => (i % 2 === 0 ? purchase(p) : bad[(i - 1) / 2](purchase(p))));
  const r = await addActions(set, actions);
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.equal(r.data.stored, 5);
  assert.deepEqual(r.data.refused.map((x: Body) => [x.index, x.field]), [
    [1, 'actions[1].action_type'],
    [3, 'actions[3].user_id.hash_phone'],
    [5, 'actions[5].action_time'],
    [7, 'actions[7].keyword'],
    [9, 'actions[9].trace.click_id'],
  ]);

  const spec = { user_action_spec: { user_action_set_id: set, match_rule_type: 'ACTION', extract_type: 'FILTER', time_window: 30, action_match_rule: { action_type: 'PURCHASE' } } };
  const estimate = await ads(me, 'POST', 'custom_audience_estimations/get', { account_id: Number(me.id), type: 'USER_ACTION', audience_spec: spec });
  assert.deepEqual(estimate.data, { user_count: 5 }, JSON.stringify(estimate));
  const made = await ads(me, 'POST', 'custom_audiences/add', { account_id: Number(me.id), name: 'buyers', type: 'USER_ACTION', audience_spec: spec });
  assert.equal(made.code, 0, JSON.stringify(made));
  const built = await whenBuilt('the USER_ACTION audience', async () => (await ads(me, 'GET', 'custom_audiences/get', undefined, [['account_id', me.id], ['audience_id', String(made.data.audience_id)]])).data.list[0]);
  assert.equal(built.user_count, 5);
  // The actions named MD5s of the phones; the raw phones are the same users.
  assert.equal(await members(h, made.data.audience_id, 'phone', people), '1010101010');
});

test('WeChat sets: the set needs its wechat_app_id, and each action a WeChat user (openid or unionid) with the app id', async () => {
  const noApp = await addSet({ type: 'WECHAT', name: 'official account' });
  assert.equal(noApp.code, 31001, JSON.stringify(noApp));
  assert.match(noApp.message_cn, /字段：wechat_app_id$/);
  const shortApp = await addSet({ type: 'WECHAT_MINI_GAME', name: 'game', wechat_app_id: 'w' });
  assert.equal(shortApp.code, 31002, JSON.stringify(shortApp));
  assert.match(shortApp.message_cn, /字段：wechat_app_id$/);
  for (const [type, field] of [['ANDROID', 'mobile_app_id'], ['IOS', 'mobile_app_id'], ['HARMONY', 'app_id_str'], ['WEB', 'name']]) {
    const r = await addSet({ type });
    assert.equal(r.code, 31001, `${type}: ${JSON.stringify(r)}`);
    assert.match(r.message_cn, new RegExp(`字段：${field}$`), type);
  }

  const set = (await addSet({ type: 'WECHAT_MINI_GAME', wechat_app_id: 'wx_game_0001' })).data.user_action_set_id;
  const t = hourAgo();
  const r = await addActions(set, [
    { action_time: t, user_id: { wechat_openid: 'oGame_0001', wechat_app_id: 'wx_game_0001' }, action_type: 'CREATE_ROLE' },
    { action_time: t, user_id: { wechat_unionid: 'uGame_0002', wechat_app_id: 'wx_game_0001' }, action_type: 'UPDATE_LEVEL' },
    { action_time: t, user_id: { hash_phone: md5('13600000001') }, action_type: 'CREATE_ROLE' },
    { action_time: t, user_id: { wechat_unionid: 'uGame_0003' }, action_type: 'CREATE_ROLE' },
    { action_time: t, user_id: { wechat_openid: 'oGame_0004' }, action_type: 'CREATE_ROLE' },
  ]);
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.equal(r.data.stored, 2);
  assert.deepEqual(r.data.refused.map((x: Body) => x.field), ['actions[2].user_id', 'actions[3].user_id', 'actions[4].user_id.wechat_app_id']);
  assert.match(r.data.refused[0].reason, /WeChat/);
  // The same ids in a WEB set need no WeChat id.
  const web = await addActions(webSet, [{ action_time: t, user_id: { hash_phone: md5('13600000001') }, action_type: 'CREATE_ROLE' }]);
  assert.deepEqual(web.data.refused, []);
});

test("another account's action set is refused for its actions, named user_action_set_id, and neither account stores anything", async () => {
  const theirs = (await addSet({ type: 'WEB', name: 'their shop' }, other)).data.user_action_set_id;
  const before = [await stored(me), await stored(other)];
  const r = await addActions(theirs, [purchase('13500000001')]);
  assert.equal(r.code, 31005, JSON.stringify(r));
  assert.match(r.message, /user_action_set_id/);
  assert.match(r.message_cn, /用户行为数据源不存在，字段：user_action_set_id$/);
  assert.deepEqual((await getSets([['user_action_set_id', String(theirs)]])).data.list, [], 'nor is it listed');
  assert.deepEqual([await stored(me), await stored(other)], before);
  // Its owner sends to it as usual.
  assert.equal((await addActions(theirs, [purchase('13500000001')], other)).data.stored, 1);
});

test('user_action_sets/add and /get refuse what the vendor refuses, naming the field', async () => {
  const cases: Array<[Body, number, string]> = [
    [{ type: 'WEBSITE', name: 'x' }, 31002, 'type'],
    [{ name: 'x' }, 31001, 'type'],
    [{ type: 'WEB', name: 'n'.repeat(33) }, 31002, 'name'],
    [{ type: 'WEB', name: 'x', description: 'd'.repeat(129) }, 31002, 'description'],
    [{ type: 'ANDROID', mobile_app_id: 0 }, 31002, 'mobile_app_id'],
    [{ type: 'HARMONY', app_id_str: 'h'.repeat(65) }, 31002, 'app_id_str'],
    [{ type: 'HARMONY', app_id_str: 'h'.repeat(40) }, 31001, 'name'],
    [{ type: 'WEB', name: 'x', usages: ['ADS'] }, 31002, 'usages[0]'],
    [{ type: 'WEB', name: 'x', enable_conversion_claim: 'yes' }, 31002, 'enable_conversion_claim'],
    [{ type: 'WEB', name: 'x', access_way: 'API' }, 31002, 'access_way'],
  ];
  const count = (await getSets([])).data.list.length;
  for (const [body, code, field] of cases) {
    const r = await addSet(body);
    assert.equal(r.code, code, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(r)}`);
    assert.ok(r.message_cn.endsWith(`字段：${field}`), `${field}: ${r.message_cn}`);
  }
  assert.equal((await getSets([])).data.list.length, count, 'no set was made');
  const gets: Array<[Array<[string, string]>, string]> = [
    [[['type', '["SHOP"]']], 'type[0]'],
    [[['user_action_set_id', 'abc']], 'user_action_set_id'],
    [[['include_permission', 'maybe']], 'include_permission'],
    [[['fields', '["activate_status"]']], 'fields[0]'],
    [[['type', '["WEB"']], 'type'],
  ];
  for (const [query, field] of gets) {
    const r = await getSets(query);
    assert.equal(r.code, 31002, `${field}: ${JSON.stringify(r)}`);
    assert.ok(r.message_cn.endsWith(`字段：${field}`), `${field}: ${r.message_cn}`);
  }
});
