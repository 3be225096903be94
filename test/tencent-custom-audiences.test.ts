// Tencent Marketing API audience calls on /v1.3 (seed 001 and neighbours):
// custom_audiences/add, get, update, delete, in the vendor's envelope.
// The validation table sends, through HTTP, requests that each differ from a
// valid one in one field, and expects the vendor code and the field named.
// Rules: src/http/dialects/tencent-ads/audience-rules.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { validateAddRequest, vendorToday } from '../src/http/dialects/tencent-ads/audience-rules.js';
import { startHarness, type Harness } from './support/harness.js';
import { DELETE } from './support/paths.js';
import { builtAudience, members, phones } from './support/audiences.js';
import { nativeApi } from './support/front-door.js';
import { adsGlobals, adsToken, editByRow, missedRefusal, whenBuilt, type PathRow } from './support/tencent-ads.js';

let h: Harness;
let token: string;
let accountId: number;
/** Built customer audiences: A = phones 0..99, B = 50..149, C = 0..19 (too small a seed), Empty = created without ids. */
const ids = { A: 0, B: 0, C: 0, Empty: 0, Combined: 0 };
/** A user action set of the account, for the USER_ACTION rules. */
let actionSetId = 0;

type Body = Record<string, any>;

async function ads(method: 'GET' | 'POST', path: string, body?: Body, query: Record<string, string> = {}): Promise<Body> {
  const params = new URLSearchParams({ ...adsGlobals(h, token), ...query });
  const res = await h.server.inject({ method, url: `/v1.3/${path}?${params}`, ...(body !== undefined ? { payload: body } : {}) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

const add = (body: Body) => ads('POST', 'custom_audiences/add', body);
const getOne = async (id: number) => {
  const r = await ads('GET', 'custom_audiences/get', undefined, { account_id: String(accountId), audience_id: String(id) });
  assert.equal(r.code, 0, JSON.stringify(r));
  return r.data.list[0];
};
const waitReady = (id: number) => whenBuilt(`audience ${id}`, () => getOne(id));

before(async () => {
  h = await startHarness({ jobs: true });
  token = await adsToken(h);
  accountId = Number(h.account.id);
  ids.A = (await builtAudience(h, { name: 'A', ids: { id_type: 'phone', values: phones(0, 100) } })).id;
  ids.B = (await builtAudience(h, { name: 'B', ids: { id_type: 'phone', values: phones(50, 150) } })).id;
  ids.C = (await builtAudience(h, { name: 'C', ids: { id_type: 'phone', values: phones(0, 20) } })).id;
  ids.Empty = (await nativeApi(h, 'POST', '/v1/audiences', { body: { name: 'empty' } })).body.id;
  actionSetId = (await h.app.actionSets.create(h.account.id, { name: 'web', type: 'WEB' })).id;
});
after(async () => h.close());

const DAY = 86_400_000;
const day = (offset: number) => vendorToday(h.app.now() + offset * DAY);

const matcher = { param_name: 'value', param_value: '1', operator: 'EQ' };

/** One valid request per type and spec variant. */
function valid(kind: string): Body {
  const base = { account_id: accountId, name: `aud-${randomUUID().slice(0, 8)}`, description: '描述', cooperated: false, platform: 'DMP' };
  const specs: Record<string, [string, Body | undefined]> = {
    file: ['CUSTOMER_FILE', undefined],
    lookalike: ['LOOKALIKE', { lookalike_spec: { seed_audience_id: ids.A, expand_user_count: 1_000_000 } }],
    ua_url: ['USER_ACTION', { user_action_spec: { user_action_set_id: actionSetId, match_rule_type: 'URL', time_window: 30, url_match_rule: { url_matcher_group: [{ url_matcher: [{ param_value: 'example.com', operator: 'CONTAIN' }] }] } } }],
    ua_filter: [
      'USER_ACTION',
      { user_action_spec: { user_action_set_id: actionSetId, match_rule_type: 'ACTION', extract_type: 'FILTER', time_window: 180, action_match_rule: { action_type: 'CUSTOM', custom_action: 'signup', param_matcher_group: [{ param_matcher: [matcher] }] } } },
    ],
    ua_agg: [
      'USER_ACTION',
      {
        user_action_spec: {
          user_action_set_id: actionSetId,
          match_rule_type: 'ACTION',
          extract_type: 'AGGREGATION',
          time_window: 90,
          action_aggregation_rule: {
            action_type: 'PURCHASE',
            aggregation_group: [{ aggregation_matcher: [{ aggregation_type: 'SUM', param_name: 'value', comparator: 'COMPARATOR_BETWEEN', comparison_min_value: 1, comparison_max_value: 10 }] }],
            filter_group: [{ param_matcher: [matcher] }],
          },
        },
      },
    ],
    keyword: ['KEYWORD', { keyword_spec: { include_keyword: ['手机', 'phone'], exclude_keyword: ['二手'] } }],
    ad: ['AD', { ad_rule_spec: { rule_type: 'CONVERSION', conversion_type: ['APP_INSTALL'], start_date: day(-30), end_date: day(-1), campaign_id_list: [1, 2] } }],
    poi: ['LBS', { lbs_spec: { lbs_type: 'POI', poi_rule: { region_id: [110000], poi_category_id: [1], date_range: { start_date: day(-30), end_date: day(0) }, day_of_week: ['MONDAY'], frequency: 1 } } }],
    cross: ['LBS', { lbs_spec: { lbs_type: 'CROSS_CITY', cross_city_rule: { route: ['1|2'], date_range: { start_date: day(-30), end_date: day(0) }, frequency: 2 } } }],
    custom_loc: [
      'LBS',
      {
        lbs_spec: {
          lbs_type: 'CUSTOM_LOCATION',
          custom_location_rule: {
            poi_type: 'ALL',
            date_range: { start_date: day(-60), end_date: day(-1) },
            frequency_spec: { comparator: 'COMPARATOR_BETWEEN', frequency_min_value: 1, frequency_max_value: 5 },
            area_list: [{ area_type: 'CIRCLE', circle_area: { longitude: 116.397128, latitude: 39.916527, radius: 1000 } }],
          },
        },
      },
    ],
    combine: ['COMBINE', { combine_spec: { include: [[{ audience_id: ids.A }, { audience_id: ids.B }]], exclude: [[{ audience_id: ids.C }]] } }],
  };
  const [type, spec] = specs[kind];
  return structuredClone({ ...base, type, ...(spec ? { audience_spec: spec } : {}) });
}

const UA = 'audience_spec.user_action_spec';
const AGG = `${UA}.action_aggregation_rule.aggregation_group[0].aggregation_matcher[0]`;
const AD = 'audience_spec.ad_rule_spec';
const POI = 'audience_spec.lbs_spec.poi_rule';
const CROSS = 'audience_spec.lbs_spec.cross_city_rule';
const LOC = 'audience_spec.lbs_spec.custom_location_rule';
const KW = 'audience_spec.keyword_spec';
const CS = 'audience_spec.combine_spec';
const many = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
const MISSING = 31001;
const INVALID = 31002;

const rows: PathRow[] = [
  // Common fields.
  { base: 'file', path: 'account_id', value: DELETE, code: MISSING },
  { base: 'file', path: 'account_id', value: 'abc', code: INVALID },
  { base: 'file', path: 'account_id', value: 0, code: INVALID },
  { base: 'file', path: 'account_id', value: 123456789, code: 11014 },
  { base: 'file', path: 'name', value: DELETE, code: MISSING },
  { base: 'file', path: 'name', value: '', code: INVALID },
  { base: 'file', path: 'name', value: 'n'.repeat(33), code: INVALID },
  { base: 'file', path: 'name', value: '人'.repeat(11), code: INVALID }, // 11 characters, 33 bytes
  { base: 'file', path: 'type', value: DELETE, code: MISSING },
  { base: 'file', path: 'type', value: 'DMP', code: INVALID },
  { base: 'file', path: 'external_audience_id', value: 'has-dash', code: INVALID },
  { base: 'file', path: 'external_audience_id', value: '', code: INVALID },
  { base: 'file', path: 'external_audience_id', value: 'x'.repeat(129), code: INVALID },
  { base: 'file', path: 'description', value: '', code: INVALID },
  { base: 'file', path: 'description', value: '描'.repeat(34), code: INVALID }, // 102 bytes
  { base: 'file', path: 'cooperated', value: 'yes', code: INVALID },
  { base: 'file', path: 'platform', value: 'GDT', code: INVALID },
  { base: 'file', path: 'colour', value: 'red', code: INVALID },
  { base: 'file', path: 'audience_spec', value: { lookalike_spec: { seed_audience_id: 1, expand_user_count: 500_000 } }, code: INVALID, field: 'audience_spec.lookalike_spec' },
  // LOOKALIKE.
  { base: 'lookalike', path: 'audience_spec', value: DELETE, code: MISSING },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec', value: DELETE, code: MISSING },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.seed_audience_id', value: DELETE, code: MISSING },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.expand_user_count', value: DELETE, code: MISSING },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.expand_user_count', value: 750_000, code: INVALID },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.expand_user_count', value: 0, code: INVALID },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.expand_user_count', value: 100_500_000, code: INVALID },
  { base: 'lookalike', path: 'audience_spec.combine_spec', value: { include: [[{ audience_id: 1 }]] }, code: INVALID },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.seed_audience_id', value: 999_999_999, code: 31005 },
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.seed_audience_id', value: () => ids.C, code: INVALID }, // 20 users
  { base: 'lookalike', path: 'audience_spec.lookalike_spec.seed_audience_id', value: () => ids.Empty, code: 31004 },
  // USER_ACTION.
  { base: 'ua_url', path: 'audience_spec.user_action_spec', value: DELETE, code: MISSING },
  { base: 'ua_url', path: `${UA}.user_action_set_id`, value: DELETE, code: MISSING },
  { base: 'ua_url', path: `${UA}.match_rule_type`, value: 'REGEX', code: INVALID },
  { base: 'ua_url', path: `${UA}.time_window`, value: DELETE, code: MISSING },
  { base: 'ua_url', path: `${UA}.time_window`, value: 181, code: INVALID },
  { base: 'ua_url', path: `${UA}.time_window`, value: -1, code: INVALID },
  { base: 'ua_agg', path: `${UA}.time_window`, value: 91, code: INVALID },
  { base: 'ua_url', path: `${UA}.url_match_rule`, value: DELETE, code: MISSING },
  { base: 'ua_url', path: `${UA}.extract_type`, value: 'FILTER', code: INVALID },
  { base: 'ua_url', path: `${UA}.action_match_rule`, value: { action_type: 'PURCHASE' }, code: INVALID },
  { base: 'ua_url', path: `${UA}.url_match_rule.url_matcher_group[0].url_matcher[0].operator`, value: 'LT', code: INVALID },
  { base: 'ua_url', path: `${UA}.url_match_rule.url_matcher_group[0].url_matcher[0].operator`, value: 'LIKE', code: INVALID },
  { base: 'ua_url', path: `${UA}.url_match_rule.url_matcher_group[0].url_matcher[0].param_value`, value: 'p'.repeat(129), code: INVALID },
  { base: 'ua_url', path: `${UA}.url_match_rule.url_matcher_group`, value: many(17, () => ({ url_matcher: [{ param_value: 'a', operator: 'EQ' }] })), code: INVALID },
  { base: 'ua_url', path: `${UA}.url_match_rule.url_matcher_group[0].url_matcher`, value: many(17, () => ({ param_value: 'a', operator: 'EQ' })), code: INVALID },
  { base: 'ua_filter', path: `${UA}.action_match_rule`, value: DELETE, code: MISSING },
  { base: 'ua_filter', path: `${UA}.action_match_rule.action_type`, value: 'JUMP', code: INVALID },
  { base: 'ua_filter', path: `${UA}.action_match_rule.custom_action`, value: DELETE, code: MISSING },
  { base: 'ua_filter', path: `${UA}.action_match_rule.action_type`, value: 'PURCHASE', code: INVALID, field: `${UA}.action_match_rule.custom_action` },
  { base: 'ua_filter', path: `${UA}.action_match_rule.param_matcher_group`, value: many(17, () => ({ param_matcher: [matcher] })), code: INVALID },
  { base: 'ua_filter', path: `${UA}.action_match_rule.param_matcher_group[0].param_matcher[0].operator`, value: 'IN', code: INVALID },
  { base: 'ua_filter', path: `${UA}.action_match_rule.param_matcher_group[0].param_matcher[0].param_name`, value: '', code: INVALID },
  { base: 'ua_agg', path: `${UA}.action_aggregation_rule`, value: DELETE, code: MISSING },
  { base: 'ua_agg', path: `${UA}.action_match_rule`, value: { action_type: 'PURCHASE' }, code: INVALID },
  { base: 'ua_agg', path: `${UA}.action_aggregation_rule.aggregation_group`, value: [], code: INVALID },
  { base: 'ua_agg', path: `${UA}.action_aggregation_rule.aggregation_group`, value: many(5, () => ({ aggregation_matcher: [{ aggregation_type: 'MAX', param_name: 'v', comparator: 'COMPARATOR_GE', comparison_value: 1 }] })), code: INVALID },
  { base: 'ua_agg', path: `${UA}.action_aggregation_rule.aggregation_group[0].aggregation_matcher`, value: many(2, () => ({ aggregation_type: 'MAX', param_name: 'v', comparator: 'COMPARATOR_GE', comparison_value: 1 })), code: INVALID },
  { base: 'ua_agg', path: `${AGG}.aggregation_type`, value: 'AVG', code: INVALID },
  { base: 'ua_agg', path: `${AGG}.aggregation_type`, value: 'COUNT', code: MISSING, field: `${AGG}.count_type` },
  { base: 'ua_agg', path: `${AGG}.count_type`, value: 'BY_WEEK', code: INVALID },
  { base: 'ua_agg', path: `${AGG}.param_name`, value: DELETE, code: MISSING },
  { base: 'ua_agg', path: `${AGG}.comparator`, value: 'COMPARATOR_NE', code: INVALID },
  { base: 'ua_agg', path: `${AGG}.comparison_min_value`, value: DELETE, code: MISSING },
  { base: 'ua_agg', path: `${AGG}.comparison_max_value`, value: DELETE, code: MISSING },
  { base: 'ua_agg', path: `${AGG}.comparator`, value: 'COMPARATOR_GE', code: MISSING, field: `${AGG}.comparison_value` },
  { base: 'ua_agg', path: `${UA}.action_aggregation_rule.filter_group`, value: [], code: INVALID },
  { base: 'ua_agg', path: `${UA}.action_aggregation_rule.filter_group[0].param_matcher`, value: [matcher, matcher], code: INVALID },
  // KEYWORD.
  { base: 'keyword', path: KW, value: DELETE, code: MISSING },
  { base: 'keyword', path: `${KW}.include_keyword`, value: DELETE, code: MISSING },
  { base: 'keyword', path: `${KW}.include_keyword`, value: [], code: INVALID },
  { base: 'keyword', path: `${KW}.include_keyword`, value: many(101, (i) => `k${i}`), code: INVALID },
  { base: 'keyword', path: `${KW}.include_keyword[0]`, value: '关键词汇', code: INVALID }, // 4 characters, 12 bytes
  { base: 'keyword', path: `${KW}.include_keyword[0]`, value: '', code: INVALID },
  { base: 'keyword', path: `${KW}.exclude_keyword`, value: many(21, (i) => `k${i}`), code: INVALID },
  // AD.
  { base: 'ad', path: AD, value: DELETE, code: MISSING },
  { base: 'ad', path: `${AD}.rule_type`, value: DELETE, code: MISSING },
  { base: 'ad', path: `${AD}.rule_type`, value: 'SHARE', code: INVALID },
  { base: 'ad', path: `${AD}.conversion_type`, value: DELETE, code: MISSING },
  { base: 'ad', path: `${AD}.rule_type`, value: 'CLICK', code: INVALID, field: `${AD}.conversion_type` },
  { base: 'ad', path: `${AD}.conversion_type`, value: ['APP_INSTALL', 'APP_ACTIVATE', 'APP_INSTALL', 'APP_ACTIVATE', 'APP_INSTALL', 'APP_ACTIVATE'], code: INVALID },
  { base: 'ad', path: `${AD}.conversion_type[0]`, value: 'PURCHASE', code: INVALID },
  { base: 'ad', path: `${AD}.start_date`, value: DELETE, code: MISSING },
  { base: 'ad', path: `${AD}.start_date`, value: '2024/01/01', code: INVALID },
  { base: 'ad', path: `${AD}.start_date`, value: () => day(-91), code: INVALID },
  { base: 'ad', path: `${AD}.start_date`, value: () => day(0), code: INVALID },
  { base: 'ad', path: `${AD}.end_date`, value: () => day(0), code: INVALID },
  { base: 'ad', path: `${AD}.end_date`, value: () => day(-31), code: INVALID },
  { base: 'ad', path: `${AD}.adgroup_id_list`, value: [1], code: INVALID },
  { base: 'ad', path: `${AD}.campaign_id_list`, value: many(76, (i) => i + 1), code: INVALID },
  { base: 'ad', path: `${AD}.campaign_id_list[0]`, value: 0, code: INVALID },
  { base: 'ad', path: `${AD}.campaign_id_list`, value: DELETE, code: INVALID, field: `${AD}.promoted_object_list[0].promoted_object_type`, also: [[`${AD}.promoted_object_list`, [{ promoted_object_type: 'APP', promoted_object_id: '1' }]]] },
  { base: 'ad', path: `${AD}.campaign_id_list`, value: DELETE, code: INVALID, field: `${AD}.promoted_object_list[0].promoted_object_id`, also: [[`${AD}.promoted_object_list`, [{ promoted_object_type: 'PROMOTED_OBJECT_TYPE_APP_IOS', promoted_object_id: 'i'.repeat(129) }]]] },
  // LBS.
  { base: 'poi', path: 'audience_spec.lbs_spec.lbs_type', value: DELETE, code: MISSING },
  { base: 'poi', path: 'audience_spec.lbs_spec.lbs_type', value: 'WIFI', code: INVALID },
  { base: 'poi', path: POI, value: DELETE, code: MISSING },
  { base: 'poi', path: `${POI}.poi_category_id`, value: DELETE, code: MISSING },
  { base: 'poi', path: `${POI}.poi_category_id`, value: many(11, (i) => i + 1), code: INVALID },
  { base: 'poi', path: `${POI}.poi_category_id[0]`, value: 0, code: INVALID },
  { base: 'poi', path: `${POI}.region_id`, value: many(51, (i) => i + 1), code: INVALID },
  { base: 'poi', path: `${POI}.region_id`, value: [], code: INVALID },
  { base: 'poi', path: `${POI}.day_of_week[0]`, value: 'FUNDAY', code: INVALID },
  { base: 'poi', path: `${POI}.frequency`, value: 0, code: INVALID },
  { base: 'poi', path: `${POI}.date_range`, value: DELETE, code: MISSING },
  { base: 'poi', path: `${POI}.date_range.end_date`, value: () => day(1), code: INVALID },
  { base: 'poi', path: `${POI}.date_range.start_date`, value: () => day(-366), code: INVALID },
  { base: 'poi', path: `${POI}.date_range.start_date`, value: () => day(0), code: INVALID, field: `${POI}.date_range.end_date` },
  { base: 'poi', path: `${POI}.date_range.start_date`, value: '2025-02-30', code: INVALID },
  { base: 'poi', path: `${POI}.date_range.start_date`, value: '2025-2-3', code: INVALID },
  { base: 'cross', path: CROSS, value: DELETE, code: MISSING },
  { base: 'cross', path: 'audience_spec.lbs_spec.lbs_type', value: 'POI', code: INVALID, field: CROSS },
  { base: 'cross', path: `${CROSS}.route`, value: many(11, (i) => `${i + 1}|2`), code: INVALID },
  { base: 'cross', path: `${CROSS}.route[0]`, value: '1-2', code: INVALID },
  { base: 'cross', path: `${CROSS}.frequency`, value: 2_147_483_648, code: INVALID },
  { base: 'custom_loc', path: LOC, value: DELETE, code: MISSING },
  { base: 'custom_loc', path: `${LOC}.poi_type`, value: 'HOME', code: INVALID },
  { base: 'custom_loc', path: `${LOC}.date_range.start_date`, value: () => day(-62), code: INVALID, field: `${LOC}.date_range.end_date` }, // 61 days
  { base: 'custom_loc', path: `${LOC}.date_range.end_date`, value: () => day(0), code: INVALID },
  { base: 'custom_loc', path: `${LOC}.frequency_spec.comparator`, value: 'COMPARATOR_GE', code: INVALID },
  { base: 'custom_loc', path: `${LOC}.frequency_spec.frequency_min_value`, value: DELETE, code: MISSING },
  { base: 'custom_loc', path: `${LOC}.frequency_spec.frequency_max_value`, value: 101, code: INVALID },
  { base: 'custom_loc', path: `${LOC}.area_list`, value: [], code: INVALID },
  { base: 'custom_loc', path: `${LOC}.area_list`, value: many(21, () => ({ area_type: 'CIRCLE', circle_area: { longitude: 1, latitude: 1, radius: 100 } })), code: INVALID },
  { base: 'custom_loc', path: `${LOC}.area_list[0].area_type`, value: 'SQUARE', code: INVALID },
  { base: 'custom_loc', path: `${LOC}.area_list[0].circle_area`, value: DELETE, code: MISSING },
  { base: 'custom_loc', path: `${LOC}.area_list[0].circle_area.radius`, value: 99, code: INVALID },
  { base: 'custom_loc', path: `${LOC}.area_list[0].circle_area.radius`, value: 5001, code: INVALID },
  { base: 'custom_loc', path: `${LOC}.area_list[0].circle_area.longitude`, value: 180.5, code: INVALID },
  { base: 'custom_loc', path: `${LOC}.area_list[0].circle_area.latitude`, value: 39.1234567, code: INVALID },
  // COMBINE.
  { base: 'combine', path: CS, value: DELETE, code: MISSING },
  { base: 'combine', path: `${CS}.include`, value: DELETE, code: MISSING },
  { base: 'combine', path: `${CS}.include`, value: [], code: INVALID },
  { base: 'combine', path: `${CS}.include[0]`, value: [], code: INVALID },
  { base: 'combine', path: `${CS}.include[0]`, value: { audience_id: 1 }, code: INVALID }, // one level only
  { base: 'combine', path: `${CS}.include[0][0]`, value: 5, code: INVALID },
  { base: 'combine', path: `${CS}.include[0][0].audience_id`, value: DELETE, code: MISSING },
  { base: 'combine', path: `${CS}.include[0][0].time_window`, value: 2, code: INVALID },
  { base: 'combine', path: `${CS}.include`, value: many(501, (i) => [{ audience_id: i + 1 }]), code: INVALID },
  { base: 'combine', path: `${CS}.include[0]`, value: many(501, (i) => ({ audience_id: i + 1 })), code: INVALID },
  { base: 'combine', path: `${CS}.include`, value: many(300, (i) => [{ audience_id: i + 1 }]), code: INVALID, field: CS, also: [[`${CS}.exclude`, many(201, (i) => [{ audience_id: 1000 + i }])]] },
  { base: 'combine', path: `${CS}.exclude[0]`, value: [], code: INVALID },
  { base: 'combine', path: `${CS}.include[0][1].audience_id`, value: 999_999_999, code: 31005 },
  { base: 'combine', path: `${CS}.include[0][1].audience_id`, value: () => ids.Empty, code: 31004 },
  { base: 'combine', path: `${CS}.exclude[0][0].audience_id`, value: () => ids.Combined, code: INVALID },
  { base: 'combine', path: 'audience_spec.lookalike_spec', value: { seed_audience_id: 1, expand_user_count: 500_000 }, code: INVALID },
];

test('every valid request passes the rules', () => {
  for (const kind of ['file', 'lookalike', 'ua_url', 'ua_filter', 'ua_agg', 'keyword', 'ad', 'poi', 'cross', 'custom_loc', 'combine']) {
    assert.doesNotThrow(() => validateAddRequest(valid(kind), h.app.now()), kind);
  }
});

test('custom_audiences/add: each rule of the seed refuses a request that breaks it, naming the field', async () => {
  // A COMBINE audience to try as an input of another.
  ids.Combined = (await add(valid('combine'))).data.audience_id;
  assert.ok(ids.Combined > 0);
  const failures: string[] = [];
  for (const row of rows) {
    const body = valid(row.base);
    const value = editByRow(body, row);
    const missed = missedRefusal(row.base, row, value, await add(body));
    if (missed) failures.push(missed);
  }
  assert.deepEqual(failures, []);
});

test('rule types are created and built from behaviour data; an action set of another account is refused; LOOKALIKE is refused with NotAvailable', async () => {
  for (const kind of ['ua_url', 'ua_filter', 'ua_agg', 'keyword', 'ad', 'poi', 'cross', 'custom_loc']) {
    const r = await add(valid(kind));
    assert.equal(r.code, 0, `${kind}: ${JSON.stringify(r)}`);
    // No event was sent to this account: every rule is built, and empty.
    const a = await waitReady(r.data.audience_id);
    assert.equal(a.user_count, 0, kind);
  }
  const before = (await ads('GET', 'custom_audiences/get', undefined, { account_id: String(accountId), page_size: '100' })).data.page_info.total_number;
  const other = await h.newAccount('other-sets');
  const foreign = (await h.app.actionSets.create(other.id, { name: 'theirs', type: 'WEB' })).id;
  const ua = valid('ua_url');
  ua.audience_spec.user_action_spec.user_action_set_id = foreign;
  const refused = await add(ua);
  assert.equal(refused.code, 31005, JSON.stringify(refused));
  assert.match(refused.message_cn, /字段：audience_spec\.user_action_spec\.user_action_set_id/);
  const r = await add(valid('lookalike'));
  assert.equal(r.code, 31010, JSON.stringify(r));
  assert.match(r.message, /lookalike expansion is not available on this deployment/);
  const after = (await ads('GET', 'custom_audiences/get', undefined, { account_id: String(accountId), page_size: '100' })).data.page_info.total_number;
  assert.equal(after, before, 'nothing was created by the refusals');
});

test('custom_audiences/add CUSTOMER_FILE: created empty; external_audience_id answers the same audience; names are unique', async () => {
  const body = { ...valid('file'), name: '客户人群', external_audience_id: 'crm_42' };
  const r = await add(body);
  assert.deepEqual(Object.keys(r), ['code', 'message', 'message_cn', 'data']);
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.equal(r.message, '');
  const id = r.data.audience_id;
  assert.ok(Number.isInteger(id));
  const again = await add({ ...body, name: 'another name' });
  assert.equal(again.code, 0);
  assert.equal(again.data.audience_id, id);
  const dup = await add({ ...valid('file'), name: '客户人群' });
  assert.equal(dup.code, 31003, JSON.stringify(dup));
  assert.match(dup.message_cn, /字段：name/);
  const a = await getOne(id);
  assert.equal(a.name, '客户人群');
  assert.equal(a.type, 'CUSTOMER_FILE');
  assert.equal(a.external_audience_id, 'crm_42');
  assert.equal(a.user_count, 0);
  assert.equal(a.account_id, accountId);
  assert.match(a.created_time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  // Integers as strings, as the vendor's examples send them.
  const s = await add({ ...valid('file'), account_id: String(accountId) });
  assert.equal(s.code, 0, JSON.stringify(s));
});

test('custom_audiences/add COMBINE builds a real audience of the right size', async () => {
  // (A OR B) minus C = phones 20..149.
  const r = await add({ ...valid('combine'), name: 'a-or-b-minus-c' });
  assert.equal(r.code, 0, JSON.stringify(r));
  const built = await waitReady(r.data.audience_id);
  assert.equal(built.user_count, 130);
  assert.equal(built.type, 'COMBINE');
  assert.deepEqual(built.audience_spec.combine_spec, { include: [[{ audience_id: ids.A }, { audience_id: ids.B }]], exclude: [[{ audience_id: ids.C }]] });
  assert.equal(await members(h, built.audience_id, 'phone', [...phones(19, 21), ...phones(149, 151)]), '0110');
  // A AND B = phones 50..99.
  const and = await add({ ...valid('combine'), name: 'a-and-b', audience_spec: { combine_spec: { include: [[{ audience_id: ids.A }], [{ audience_id: ids.B }]] } } });
  assert.equal(and.code, 0, JSON.stringify(and));
  assert.equal((await waitReady(and.data.audience_id)).user_count, 50);
});

test('custom_audiences/get: one by id, pages with totals, filtering and fields', async () => {
  const names = ['list-1', 'list-2', 'list-3'];
  const made: number[] = [];
  for (const name of names) made.push((await add({ ...valid('file'), name })).data.audience_id);
  const q = (extra: Record<string, string>) => ads('GET', 'custom_audiences/get', undefined, { account_id: String(accountId), ...extra });
  const all = await q({ page_size: '100' });
  assert.equal(all.code, 0, JSON.stringify(all));
  const total = all.data.page_info.total_number;
  assert.ok(total >= 3 + 4);
  assert.equal(all.data.list.length, total);
  const p2 = await q({ page: '2', page_size: '2' });
  assert.deepEqual(p2.data.page_info, { page: 2, page_size: 2, total_number: total, total_page: Math.ceil(total / 2) });
  assert.deepEqual(p2.data.list.map((a: Body) => a.audience_id), all.data.list.slice(2, 4).map((a: Body) => a.audience_id));
  const filtered = await q({ filtering: JSON.stringify([{ field: 'name', operator: 'CONTAINS', values: ['list-'] }]), fields: JSON.stringify(['audience_id', 'name']) });
  assert.equal(filtered.code, 0, JSON.stringify(filtered));
  assert.deepEqual(filtered.data.list.map((a: Body) => a.name).sort(), names);
  assert.deepEqual(Object.keys(filtered.data.list[0]).sort(), ['audience_id', 'name']);
  const byId = await q({ filtering: JSON.stringify([{ field: 'audience_id', operator: 'IN', values: [made[0], made[2]] }]) });
  assert.deepEqual(byId.data.list.map((a: Body) => a.audience_id).sort(), [made[0], made[2]].sort());
  const byType = await q({ filtering: JSON.stringify([{ field: 'type', operator: 'EQUALS', values: ['COMBINE'] }]) });
  assert.ok(byType.data.list.length >= 1 && byType.data.list.every((a: Body) => a.type === 'COMBINE'));
  // Refusals.
  assert.equal((await q({ page_size: '101' })).code, 31002);
  assert.equal((await q({ filtering: '[{"field":"name","operator":"IN"' })).code, 31002);
  const badOp = await q({ filtering: JSON.stringify([{ field: 'name', operator: 'IN', values: ['x'] }]) });
  assert.equal(badOp.code, 31002);
  assert.match(badOp.message_cn, /字段：filtering\[0\]\.operator/);
  assert.equal((await q({ fields: JSON.stringify(['colour']) })).code, 31002);
  assert.equal((await q({ audience_id: '999999999' })).code, 31005);
  const noAccount = await ads('GET', 'custom_audiences/get', undefined, {});
  assert.equal(noAccount.code, 31001);
  assert.equal((await ads('GET', 'custom_audiences/get', undefined, { account_id: '123456789' })).code, 11014);
});

test('custom_audiences/update renames and describes; delete removes', async () => {
  const id = (await add({ ...valid('file'), name: 'before' })).data.audience_id;
  const up = await ads('POST', 'custom_audiences/update', { account_id: accountId, audience_id: id, name: '之后', description: '新的描述' });
  assert.equal(up.code, 0, JSON.stringify(up));
  let a = await getOne(id);
  assert.equal(a.name, '之后');
  assert.equal(a.description, '新的描述');
  assert.equal((await ads('POST', 'custom_audiences/update', { account_id: accountId, audience_id: id, audience_name: 'again' })).code, 0);
  a = await getOne(id);
  assert.equal(a.name, 'again');
  const long = await ads('POST', 'custom_audiences/update', { account_id: accountId, audience_id: id, name: '长'.repeat(11) });
  assert.equal(long.code, 31002);
  assert.match(long.message_cn, /字段：name/);
  assert.equal((await ads('POST', 'custom_audiences/update', { account_id: accountId, audience_id: id, name: 'A' })).code, 31003);
  assert.equal((await ads('POST', 'custom_audiences/update', { account_id: accountId, audience_id: id })).code, 31001);
  assert.equal((await ads('POST', 'custom_audiences/update', { account_id: accountId, audience_id: 999_999_999, name: 'x' })).code, 31005);

  const del = await ads('POST', 'custom_audiences/delete', { account_id: accountId, audience_id: id });
  assert.equal(del.code, 0, JSON.stringify(del));
  assert.equal((await ads('GET', 'custom_audiences/get', undefined, { account_id: String(accountId), audience_id: String(id) })).code, 31005);
  assert.equal((await ads('POST', 'custom_audiences/delete', { account_id: accountId, audience_id: id })).code, 31005);
  assert.equal((await ads('POST', 'custom_audiences/delete', { account_id: accountId })).code, 31001);
});
