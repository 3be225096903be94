// Every rule type and every semantic choice of compile.ts, on hand-made
// events whose users are known, run on BOTH engines: DuckDB in memory and a
// real PostgreSQL (partitioned tables with a DEFAULT partition). "Now" is
// 2024-03-15 12:00 in GMT+8; rows are written in that local time, and the
// edge cases sit on the vendor's day boundaries, where UTC and GMT+8 dates
// differ.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../errors.js';
import type { EventEngine } from '../../infra/events/schema.js';
import { compileRule } from './compile.js';
import { destination, type LatLon } from './geo.js';
import { NUMBER_PATTERN } from './sql.js';
import { bothEngines, localMs, OFFSET, type Fixture } from './rules.fixtures.js';
import type { AdRuleSpec, AggregationMatcher, CompileContext, DayOfWeek, LbsSpec, ParamMatcher, RuleSpec, UrlMatcher } from './types.js';

const ACC = '1001';
const OTHER = '2002';
const NOW = localMs('2024-03-15 12:00:00');
const WEB = 7;
const APP = 9;

// Circles: central Beijing; near the antimeridian from the east and from the
// west; around the north pole; around the south pole.
const A = { latitude: 39.9087, longitude: 116.3975, radius: 1000 };
const B = { latitude: -16.5, longitude: 179.999, radius: 2000 };
const D = { latitude: 60, longitude: -179.995, radius: 1000 };
const C = { latitude: 89.99, longitude: 45, radius: 3000 };
const E = { latitude: -89.995, longitude: 0, radius: 1000 };
const at = (p: LatLon) => ({ lat: p.latitude, lon: p.longitude });
const FAR_BEIJING = { lat: 40.0, lon: 116.5 };
const SHANGHAI = { lat: 31.23, lon: 121.47 };

const fixture: Fixture = {
  actions: [
    // URL rules, action set WEB.
    { user: 1, set: WEB, at: '2024-03-15 10:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/cart?id=1' },
    { user: 2, set: WEB, at: '2024-03-14 09:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/item/42' },
    { user: 3, set: WEB, at: '2024-03-10 12:00:00', type: 'PAGE_VIEW', url: 'https://blog.example.com/post' },
    { user: 4, set: WEB, at: '2024-03-13 12:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/100%_off' },
    { user: 5, set: WEB, at: '2024-03-13 12:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/100xyoff' },
    { user: 6, set: WEB, at: '2024-03-15 08:00:00', type: 'PAGE_VIEW' },
    { user: 7, set: WEB, at: '2024-03-01 00:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/item/7' },
    { user: 8, set: WEB, at: '2024-02-29 23:59:59.999', type: 'PAGE_VIEW', url: 'https://shop.example.com/item/8' },
    { user: 9, set: WEB, account: OTHER, at: '2024-03-14 10:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/item/9' },
    { user: 10, set: 8, at: '2024-03-14 10:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/item/10' },
    { user: 11, set: WEB, at: '2024-03-15 13:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/late' },
    { user: 12, set: WEB, at: '2024-03-15 00:00:00', type: 'PAGE_VIEW', url: 'https://shop.example.com/late' },
    { user: 13, set: WEB, at: '2024-03-14 23:59:59', type: 'PAGE_VIEW', url: 'https://shop.example.com/late' },
    // FILTER rules, action set APP.
    { user: 20, set: APP, at: '2024-03-10 12:00:00', type: 'PURCHASE', params: { price: '150', color: 'red' } },
    { user: 21, set: APP, at: '2024-03-12 12:00:00', type: 'PURCHASE', params: { price: '80', color: 'blue' } },
    { user: 22, set: APP, at: '2024-03-12 12:00:00', type: 'PURCHASE', params: { price: 'abc', color: 'red' } },
    { user: 23, set: APP, at: '2024-03-12 12:00:00', type: 'PURCHASE' },
    { user: 24, set: APP, at: '2024-03-12 12:00:00', type: 'CUSTOM', custom: 'level_up', params: { level: '10' } },
    { user: 25, set: APP, at: '2024-03-12 12:00:00', type: 'CUSTOM', custom: 'other', params: { level: '10' } },
    { user: 26, set: APP, at: '2024-03-12 12:00:00', type: 'PURCHASE', params: { price: '1e2', color: 'green_50%' } },
    { user: 27, set: APP, at: '2024-03-12 12:00:00', type: 'ADD_TO_CART', params: { price: '500' } },
    { user: 28, set: APP, account: OTHER, at: '2024-03-12 12:00:00', type: 'PURCHASE', params: { price: '200' } },
    { user: 29, set: APP, at: '2024-03-12 12:00:00', type: 'PURCHASE', params: { price: ' 300' } },
    { user: 30, set: 8, at: '2024-03-12 12:00:00', type: 'PURCHASE', params: { price: '999' } },
    { user: 31, set: APP, at: '2024-03-12 12:00:00', type: 'PURCHASE', params: { price: '-5.5' } },
    { user: 32, set: APP, at: '2024-02-04 12:00:00', type: 'PURCHASE', params: { price: '120' } },
    // AGGREGATION rules, action set APP, COMPLETE_ORDER.
    ...[10, 20, 30].map((amount, i) => ({ user: 40, set: APP, at: `2024-03-10 1${i}:00:00`, type: 'COMPLETE_ORDER', params: { amount: String(amount), channel: 'web' } })),
    ...['08', '09', '10'].map((d) => ({ user: 41, set: APP, at: `2024-03-${d} 12:00:00`, type: 'COMPLETE_ORDER', params: { amount: '100', channel: 'web' } })),
    { user: 42, set: APP, at: '2024-03-10 12:00:00', type: 'COMPLETE_ORDER', params: { amount: '5', channel: 'web' } },
    { user: 43, set: APP, at: '2024-03-11 23:59:59', type: 'COMPLETE_ORDER', params: { amount: '7', channel: 'web' } },
    { user: 43, set: APP, at: '2024-03-12 00:00:00', type: 'COMPLETE_ORDER', params: { amount: '8', channel: 'web' } },
    { user: 44, set: APP, at: '2024-03-12 07:00:00', type: 'COMPLETE_ORDER', params: { amount: '50', channel: 'web' } },
    { user: 44, set: APP, at: '2024-03-12 09:00:00', type: 'COMPLETE_ORDER', params: { amount: '60', channel: 'web' } },
    { user: 45, set: APP, at: '2024-03-10 12:00:00', type: 'COMPLETE_ORDER', params: { amount: 'n/a' } },
    { user: 45, set: APP, at: '2024-03-10 13:00:00', type: 'COMPLETE_ORDER', params: { amount: 'n/a' } },
    { user: 46, set: APP, at: '2024-03-10 12:00:00', type: 'ADD_TO_CART', params: { amount: '1' } },
    ...[0, 1, 2, 3, 4].map((i) => ({ user: 47, set: APP, at: `2024-03-10 1${i}:00:00`, type: 'COMPLETE_ORDER', params: { amount: '1', channel: 'app' } })),
    ...[0, 1, 2, 3, 4].map((i) => ({ user: 48, set: APP, at: `2024-03-10 1${i}:00:00`, type: 'COMPLETE_ORDER', params: { amount: '1', channel: i < 2 ? 'app' : 'web' } })),
    { user: 49, set: APP, account: OTHER, at: '2024-03-10 12:00:00', type: 'COMPLETE_ORDER', params: { amount: '1000' } },
    // KEYWORD rules.
    { user: 60, set: APP, at: '2024-03-10 12:00:00', type: 'SEARCH', keyword: '华为手机' },
    { user: 61, set: APP, at: '2024-03-10 12:00:00', type: 'SEARCH', keyword: '二手手机' },
    { user: 62, set: APP, at: '2024-03-10 12:00:00', type: 'SEARCH', keyword: '二手手机' },
    { user: 62, set: 8, at: '2024-03-11 12:00:00', type: 'SEARCH', keyword: '华为手机' },
    { user: 63, set: APP, at: '2024-03-12 12:00:00', type: 'SEARCH', keyword: 'iPhone 15' },
    { user: 64, set: APP, at: '2024-03-12 12:00:00', type: 'SEARCH', keyword: '100%_sale' },
    { user: 65, set: APP, at: '2024-03-12 12:00:00', type: 'SEARCH', keyword: '100xysale' },
    { user: 66, set: APP, at: '2024-02-05 12:00:00', type: 'SEARCH', keyword: '手机' },
    { user: 67, set: APP, at: '2024-03-12 12:00:00', type: 'PAGE_VIEW', keyword: '手机' },
    { user: 68, set: APP, account: OTHER, at: '2024-03-12 12:00:00', type: 'SEARCH', keyword: '手机' },
  ],
  ads: [
    { user: 80, at: '2024-03-10 12:00:00', type: 'CLICK', campaign: 1, adgroup: 11, objectType: 'PROMOTED_OBJECT_TYPE_APP_ANDROID', objectId: 'com.a' },
    { user: 81, at: '2024-03-12 12:00:00', type: 'CLICK', campaign: 2, adgroup: 21, objectType: 'PROMOTED_OBJECT_TYPE_APP_IOS', objectId: 'id1' },
    { user: 82, at: '2024-03-10 12:00:00', type: 'EXPOSURE', campaign: 1, adgroup: 11 },
    { user: 83, at: '2024-03-10 12:00:00', type: 'CONVERSION', conversion: 'APP_INSTALL', campaign: 1, adgroup: 11 },
    { user: 84, at: '2024-03-11 12:00:00', type: 'CONVERSION', conversion: 'APP_ACTIVATE', campaign: 2, adgroup: 21 },
    { user: 85, at: '2024-03-11 12:00:00', type: 'CONVERSION', conversion: 'APP_START_DOWNLOAD', campaign: 2, adgroup: 21 },
    { user: 86, at: '2024-03-05 00:00:00', type: 'CLICK', campaign: 1, adgroup: 11 },
    { user: 87, at: '2024-03-04 23:59:59', type: 'CLICK', campaign: 1, adgroup: 11 },
    { user: 88, at: '2024-03-12 23:59:59', type: 'CLICK', campaign: 2, adgroup: 21 },
    { user: 89, at: '2024-03-13 00:00:00', type: 'CLICK', campaign: 2, adgroup: 21 },
    { user: 90, at: '2024-03-15 10:00:00', type: 'CLICK', campaign: 2, adgroup: 21 },
    { user: 91, at: '2024-03-10 12:00:00', type: 'CLICK', campaign: 3, adgroup: 31, objectType: 'PROMOTED_OBJECT_TYPE_APP_ANDROID', objectId: 'com.b' },
    { user: 92, account: OTHER, at: '2024-03-10 12:00:00', type: 'CLICK', campaign: 1, adgroup: 11 },
  ],
  pings: [
    // POI. 2024-03-08 is a Friday, 03-09 Saturday, 03-10 Sunday, 03-11 Monday.
    { user: 100, at: '2024-03-09 12:00:00', poi: 500, region: 11 },
    { user: 100, at: '2024-03-10 12:00:00', poi: 500, region: 11 },
    ...['09', '10', '11'].map((h) => ({ user: 101, at: `2024-03-11 ${h}:00:00`, poi: 500, region: 12 })),
    { user: 102, at: '2024-03-09 12:00:00', poi: 600, region: 11 },
    { user: 103, at: '2024-03-09 00:30:00', poi: 500, region: 11 },
    { user: 104, at: '2024-03-08 23:30:00', poi: 500, region: 11 },
    { user: 105, account: OTHER, at: '2024-03-09 12:00:00', poi: 500, region: 11 },
    // CROSS_CITY: city codes 1, 2, 3.
    { user: 120, at: '2024-03-05 10:00:00', city: 1 },
    { user: 120, at: '2024-03-06 10:00:00', city: 2 },
    { user: 121, at: '2024-03-05 10:00:00', city: 2 },
    { user: 121, at: '2024-03-06 10:00:00', city: 1 },
    { user: 122, at: '2024-03-05 10:00:00', city: 1 },
    { user: 122, at: '2024-03-06 10:00:00', city: 3 },
    { user: 122, at: '2024-03-07 10:00:00', city: 2 },
    ...[1, 2, 1, 2].map((city, i) => ({ user: 123, at: `2024-03-0${5 + i} 10:00:00`, city })),
    { user: 124, at: '2024-02-27 10:00:00', city: 1 },
    { user: 124, at: '2024-03-05 10:00:00', city: 2 },
    { user: 125, at: '2024-03-05 10:00:00', city: 1 },
    { user: 125, at: '2024-03-06 10:00:00', city: 1 },
    { user: 126, at: '2024-03-05 10:00:00', region: 1, city: 10 },
    { user: 126, at: '2024-03-06 10:00:00', region: 2, city: 20 },
    { user: 127, account: OTHER, at: '2024-03-05 10:00:00', city: 1 },
    { user: 127, account: OTHER, at: '2024-03-06 10:00:00', city: 2 },
    // CUSTOM_LOCATION around A (Beijing, city 110; Shanghai is 310).
    { user: 140, at: '2024-03-05 10:00:00', ...at(destination(A, 0, 500)), city: 110 },
    { user: 140, at: '2024-03-06 10:00:00', ...at(destination(A, 180, 300)), city: 110 },
    { user: 140, at: '2024-03-08 10:00:00', ...FAR_BEIJING, city: 110 },
    { user: 140, at: '2024-03-09 10:00:00', ...FAR_BEIJING, city: 110 },
    { user: 140, at: '2024-03-10 10:00:00', ...SHANGHAI, city: 310 },
    { user: 141, at: '2024-03-05 10:00:00', ...at(destination(A, 90, 1500)), city: 110 },
    { user: 142, at: '2024-03-08 10:00:00', ...at(destination(A, 45, 990)), city: 110 },
    { user: 147, at: '2024-03-07 10:00:00', ...at(destination(A, 270, 200)), city: 110 },
    ...['01', '02', '03'].map((d) => ({ user: 147, at: `2024-03-${d} 10:00:00`, ...SHANGHAI, city: 310 })),
    { user: 148, at: '2024-03-07 10:00:00', ...at(destination(A, 270, 200)), city: 110 },
    { user: 148, at: '2024-03-02 10:00:00', ...SHANGHAI, city: 310 },
    { user: 149, at: '2024-03-07 10:00:00', ...at(destination(A, 270, 200)), city: null },
    ...['01', '02', '03'].map((d) => ({ user: 149, at: `2024-03-${d} 10:00:00`, ...SHANGHAI, city: 310 })),
    { user: 150, at: '2024-03-14 23:59:59', ...at(destination(A, 0, 100)), city: 110 },
    { user: 151, at: '2024-03-15 00:00:00', ...at(destination(A, 0, 100)), city: 110 },
    { user: 155, account: OTHER, at: '2024-03-05 10:00:00', ...at(destination(A, 0, 100)), city: 110 },
    // Across the antimeridian (B east of it by 1500 m: stored longitude near -180), outside B, D from the other side.
    { user: 143, at: '2024-03-05 10:00:00', ...at(destination(B, 90, 1500)) },
    { user: 144, at: '2024-03-05 10:00:00', ...at(destination(B, 270, 2500)) },
    { user: 153, at: '2024-03-05 10:00:00', ...at(destination(D, 270, 800)) },
    // Over the poles: the far side of the north pole from C's centre, outside C, near the south pole.
    { user: 145, at: '2024-03-05 10:00:00', lat: 89.995, lon: -135 },
    { user: 146, at: '2024-03-05 10:00:00', lat: 89.95, lon: 45 },
    { user: 154, at: '2024-03-05 10:00:00', lat: -89.997, lon: 170 },
  ],
};

// Spec builders, so that each case reads as the rule it is.
const url = (groups: UrlMatcher[][], time_window = 30): RuleSpec => ({
  type: 'USER_ACTION',
  user_action_spec: { user_action_set_id: WEB, match_rule_type: 'URL', time_window, url_match_rule: { url_matcher_group: groups.map((url_matcher) => ({ url_matcher })) } },
});
const u = (operator: UrlMatcher['operator'], param_value: string): UrlMatcher => ({ operator, param_value });
const filter = (action_type: string, groups: ParamMatcher[][], opts: { custom?: string; window?: number } = {}): RuleSpec => ({
  type: 'USER_ACTION',
  user_action_spec: {
    user_action_set_id: APP,
    match_rule_type: 'ACTION',
    extract_type: 'FILTER',
    time_window: opts.window ?? 30,
    action_match_rule: { action_type, custom_action: opts.custom, param_matcher_group: groups.map((param_matcher) => ({ param_matcher })) },
  },
});
const p = (param_name: string, operator: ParamMatcher['operator'], param_value: string): ParamMatcher => ({ param_name, operator, param_value });
const aggregate = (matchers: AggregationMatcher[], opts: { filter?: ParamMatcher[][]; window?: number } = {}): RuleSpec => ({
  type: 'USER_ACTION',
  user_action_spec: {
    user_action_set_id: APP,
    match_rule_type: 'ACTION',
    extract_type: 'AGGREGATION',
    time_window: opts.window ?? 30,
    action_aggregation_rule: {
      action_type: 'COMPLETE_ORDER',
      aggregation_group: matchers.map((m) => ({ aggregation_matcher: [m] })),
      filter_group: opts.filter?.map((param_matcher) => ({ param_matcher })),
    },
  },
});
const count = (by: 'BY_TIMES' | 'BY_DAY', cmp: string, a: number, b?: number): AggregationMatcher => ({ aggregation_type: 'COUNT', count_type: by, ...cmpOf(cmp, a, b) });
const agg = (fn: 'SUM' | 'MAX' | 'MIN', param: string, cmp: string, a: number, b?: number): AggregationMatcher => ({ aggregation_type: fn, param_name: param, ...cmpOf(cmp, a, b) });
function cmpOf(cmp: string, a: number, b?: number): Pick<AggregationMatcher, 'comparator' | 'comparison_value' | 'comparison_min_value' | 'comparison_max_value'> {
  if (cmp === 'BETWEEN') return { comparator: 'COMPARATOR_BETWEEN', comparison_min_value: a, comparison_max_value: b };
  return { comparator: `COMPARATOR_${cmp}` as AggregationMatcher['comparator'], comparison_value: a };
}
const kw = (include_keyword: string[], exclude_keyword?: string[]): RuleSpec => ({ type: 'KEYWORD', keyword_spec: { include_keyword, exclude_keyword } });
const ad = (s: Partial<AdRuleSpec> & Pick<AdRuleSpec, 'rule_type'>): RuleSpec => ({ type: 'AD', ad_rule_spec: { start_date: '2024-03-01', ...s } });
const range = (start_date = '2024-03-01', end_date = '2024-03-14') => ({ start_date, end_date });
const lbs = (lbs_spec: LbsSpec): RuleSpec => ({ type: 'LBS', lbs_spec });
const poi = (poi_category_id: number[], opts: { region?: number[]; days?: DayOfWeek[]; frequency?: number; from?: string } = {}) =>
  lbs({ lbs_type: 'POI', poi_rule: { poi_category_id, region_id: opts.region, day_of_week: opts.days, frequency: opts.frequency, date_range: range(opts.from) } });
const cross = (route: string[], opts: { frequency?: number; from?: string } = {}) => lbs({ lbs_type: 'CROSS_CITY', cross_city_rule: { route, frequency: opts.frequency, date_range: range(opts.from) } });
const circles = (list: Array<typeof A>, opts: { type?: 'ALL' | 'TRAVEL_IN'; min?: number; max?: number } = {}) =>
  lbs({
    lbs_type: 'CUSTOM_LOCATION',
    custom_location_rule: {
      poi_type: opts.type ?? 'ALL',
      date_range: range(),
      frequency_spec: opts.min === undefined ? undefined : { comparator: 'COMPARATOR_BETWEEN', frequency_min_value: opts.min, frequency_max_value: opts.max },
      area_list: list.map((c) => ({ area_type: 'CIRCLE' as const, circle_area: c })),
    },
  });

interface Case {
  name: string;
  spec: RuleSpec;
  users: number[];
  ctx?: Partial<CompileContext>;
}

const cases: Case[] = [
  // USER_ACTION URL
  { name: 'URL: no groups = every visitor of the set in the window', spec: url([]), users: [1, 2, 3, 4, 5, 6, 7, 8, 12, 13] },
  { name: 'URL: CONTAIN', spec: url([[u('CONTAIN', 'shop.example.com')]]), users: [1, 2, 4, 5, 7, 8, 12, 13] },
  { name: 'URL: groups are ANDed on the same action', spec: url([[u('CONTAIN', 'shop.example.com')], [u('NOT_CONTAIN', '/cart')]]), users: [2, 4, 5, 7, 8, 12, 13] },
  { name: 'URL: matchers in a group are ORed', spec: url([[u('EQ', 'https://blog.example.com/post'), u('CONTAIN', '/cart')]]), users: [1, 3] },
  { name: 'URL: an empty group adds no condition', spec: url([[], [u('CONTAIN', '/cart')]]), users: [1] },
  { name: 'URL: % and _ in CONTAIN are literal', spec: url([[u('CONTAIN', '100%_off')]]), users: [4] },
  { name: 'URL: CONTAIN "_" finds only an underscore', spec: url([[u('CONTAIN', '_')]]), users: [4] },
  { name: 'URL: NE skips actions without a URL', spec: url([[u('NE', 'https://shop.example.com/item/42')]]), users: [1, 3, 4, 5, 7, 8, 12, 13] },
  { name: 'URL: NOT_CONTAIN skips actions without a URL', spec: url([[u('NOT_CONTAIN', 'shop')]]), users: [3] },
  { name: 'URL: case-sensitive', spec: url([[u('CONTAIN', 'SHOP')]]), users: [] },
  { name: 'window 15 starts at 00:00 GMT+8 of the 1st', spec: url([[u('CONTAIN', '/item/')]], 15), users: [2, 7] },
  { name: 'window 16 takes the last millisecond of the day before', spec: url([[u('CONTAIN', '/item/')]], 16), users: [2, 7, 8] },
  { name: 'window 14 does not take the 1st', spec: url([[u('CONTAIN', '/item/')]], 14), users: [2] },
  { name: 'window 1 = today from 00:00 GMT+8 (16:00 UTC the day before), not after now', spec: url([[u('CONTAIN', '/late')]], 1), users: [12] },
  { name: 'window 0 reads as today so far', spec: url([[u('CONTAIN', '/late')]], 0), users: [12] },
  { name: 'window 2 takes 23:59:59 of yesterday', spec: url([[u('CONTAIN', '/late')]], 2), users: [12, 13] },
  // USER_ACTION FILTER
  { name: 'FILTER: the action type alone', spec: filter('PURCHASE', []), users: [20, 21, 22, 23, 26, 29, 31] },
  { name: 'FILTER: GT is numeric, a non-number never matches', spec: filter('PURCHASE', [[p('price', 'GT', '100')]]), users: [20] },
  { name: 'FILTER: GT reads 1e2 as 100', spec: filter('PURCHASE', [[p('price', 'GT', '99.5')]]), users: [20, 26] },
  { name: 'FILTER: LT', spec: filter('PURCHASE', [[p('price', 'LT', '100')]]), users: [21, 31] },
  { name: 'FILTER: LT with a negative number', spec: filter('PURCHASE', [[p('price', 'LT', '0')]]), users: [31] },
  { name: 'FILTER: groups are ANDed', spec: filter('PURCHASE', [[p('price', 'GT', '50')], [p('color', 'EQ', 'red')]]), users: [20] },
  { name: 'FILTER: matchers are ORed', spec: filter('PURCHASE', [[p('color', 'EQ', 'red'), p('color', 'EQ', 'blue')]]), users: [20, 21, 22] },
  { name: 'FILTER: NE needs the parameter', spec: filter('PURCHASE', [[p('color', 'NE', 'red')]]), users: [21, 26] },
  { name: 'FILTER: NOT_CONTAIN needs the parameter', spec: filter('PURCHASE', [[p('color', 'NOT_CONTAIN', 'r')]]), users: [21] },
  { name: 'FILTER: CONTAIN "%" is literal', spec: filter('PURCHASE', [[p('color', 'CONTAIN', '%')]]), users: [26] },
  { name: 'FILTER: CONTAIN "e%" is not a wildcard', spec: filter('PURCHASE', [[p('color', 'CONTAIN', 'e%')]]), users: [] },
  { name: 'FILTER: CONTAIN "n_5" is literal', spec: filter('PURCHASE', [[p('color', 'CONTAIN', 'n_5')]]), users: [26] },
  { name: 'FILTER: CUSTOM matches custom_action', spec: filter('CUSTOM', [], { custom: 'level_up' }), users: [24] },
  { name: 'FILTER: CUSTOM with a parameter', spec: filter('CUSTOM', [[p('level', 'GT', '5')]], { custom: 'level_up' }), users: [24] },
  { name: 'FILTER: CUSTOM other with no match', spec: filter('CUSTOM', [[p('level', 'LT', '5')]], { custom: 'other' }), users: [] },
  { name: 'FILTER: a wider window', spec: filter('PURCHASE', [[p('price', 'GT', '100')]], { window: 60 }), users: [20, 32] },
  // USER_ACTION AGGREGATION
  { name: 'AGGREGATION: COUNT BY_TIMES GE 3', spec: aggregate([count('BY_TIMES', 'GE', 3)]), users: [40, 41, 47, 48] },
  { name: 'AGGREGATION: COUNT BY_DAY GE 3', spec: aggregate([count('BY_DAY', 'GE', 3)]), users: [41] },
  { name: 'AGGREGATION: BY_DAY splits 23:59:59 and 00:00 GMT+8 (same UTC day)', spec: aggregate([count('BY_DAY', 'EQ', 2)]), users: [43] },
  { name: 'AGGREGATION: BY_DAY joins 07:00 and 09:00 GMT+8 (two UTC days)', spec: aggregate([count('BY_DAY', 'EQ', 1)]), users: [40, 42, 44, 45, 47, 48] },
  { name: 'AGGREGATION: COUNT LE 2 never takes users with no action', spec: aggregate([count('BY_TIMES', 'LE', 2)]), users: [42, 43, 44, 45] },
  { name: 'AGGREGATION: COUNT BETWEEN is inclusive', spec: aggregate([count('BY_TIMES', 'BETWEEN', 2, 3)]), users: [40, 41, 43, 44, 45] },
  { name: 'AGGREGATION: SUM GE', spec: aggregate([agg('SUM', 'amount', 'GE', 60)]), users: [40, 41, 44] },
  { name: 'AGGREGATION: SUM BETWEEN 60 and 60', spec: aggregate([agg('SUM', 'amount', 'BETWEEN', 60, 60)]), users: [40] },
  { name: 'AGGREGATION: MAX LE skips users with no numeric value', spec: aggregate([agg('MAX', 'amount', 'LE', 10)]), users: [42, 43, 47, 48] },
  { name: 'AGGREGATION: MIN GE', spec: aggregate([agg('MIN', 'amount', 'GE', 50)]), users: [41, 44] },
  { name: 'AGGREGATION: groups are ANDed', spec: aggregate([count('BY_TIMES', 'GE', 2), agg('SUM', 'amount', 'LE', 20)]), users: [43, 47, 48] },
  { name: 'AGGREGATION: no filter', spec: aggregate([count('BY_TIMES', 'GE', 5)]), users: [47, 48] },
  { name: 'AGGREGATION: filter_group restricts what counts', spec: aggregate([count('BY_TIMES', 'GE', 5)], { filter: [[p('channel', 'EQ', 'app')]] }), users: [47] },
  { name: 'AGGREGATION: filter groups are ANDed', spec: aggregate([count('BY_TIMES', 'GE', 2)], { filter: [[p('channel', 'EQ', 'app')], [p('amount', 'GT', '0')]] }), users: [47, 48] },
  { name: 'AGGREGATION: window 5 starts at 00:00 GMT+8 of the 11th', spec: aggregate([count('BY_TIMES', 'GE', 1)], { window: 5 }), users: [43, 44] },
  { name: 'AGGREGATION: window 4 leaves 23:59:59 of the 11th out', spec: aggregate([count('BY_DAY', 'GE', 2)], { window: 4 }), users: [] },
  { name: 'AGGREGATION: window 5, BY_DAY 2', spec: aggregate([count('BY_DAY', 'GE', 2)], { window: 5 }), users: [43] },
  // KEYWORD
  { name: 'KEYWORD: substring', spec: kw(['手机']), users: [60, 61, 62] },
  { name: 'KEYWORD: exclude removes searches, not users', spec: kw(['手机'], ['二手']), users: [60, 62] },
  { name: 'KEYWORD: case-insensitive', spec: kw(['IPHONE']), users: [63] },
  { name: 'KEYWORD: exclude keywords are ORed', spec: kw(['手机', 'iphone'], ['二手', '华为']), users: [63] },
  { name: 'KEYWORD: % and _ are literal', spec: kw(['100%_s']), users: [64] },
  { name: 'KEYWORD: include keywords are ORed', spec: kw(['华为', 'iphone']), users: [60, 62, 63] },
  { name: 'KEYWORD: a wider window from the context', spec: kw(['手机']), ctx: { keywordWindowDays: 60 }, users: [60, 61, 62, 66] },
  // AD
  { name: 'AD: no end_date runs to now', spec: ad({ rule_type: 'CLICK', start_date: '2024-03-05' }), users: [80, 81, 86, 88, 89, 90, 91] },
  { name: 'AD: both dates inclusive, GMT+8 days', spec: ad({ rule_type: 'CLICK', start_date: '2024-03-05', end_date: '2024-03-12' }), users: [80, 81, 86, 88, 91] },
  { name: 'AD: a single day', spec: ad({ rule_type: 'CLICK', start_date: '2024-03-05', end_date: '2024-03-05' }), users: [86] },
  { name: 'AD: campaign list', spec: ad({ rule_type: 'CLICK', campaign_id_list: [1] }), users: [80, 86, 87] },
  { name: 'AD: adgroup list', spec: ad({ rule_type: 'CLICK', adgroup_id_list: [21] }), users: [81, 88, 89, 90] },
  {
    name: 'AD: promoted objects match type and id',
    spec: ad({ rule_type: 'CLICK', promoted_object_list: [{ promoted_object_type: 'PROMOTED_OBJECT_TYPE_APP_ANDROID', promoted_object_id: 'com.a' }, { promoted_object_type: 'PROMOTED_OBJECT_TYPE_APP_IOS', promoted_object_id: 'id1' }] }),
    users: [80, 81],
  },
  { name: 'AD: a promoted object of the wrong type', spec: ad({ rule_type: 'CLICK', promoted_object_list: [{ promoted_object_type: 'PROMOTED_OBJECT_TYPE_APP_IOS', promoted_object_id: 'com.a' }] }), users: [] },
  { name: 'AD: conversion types are ORed', spec: ad({ rule_type: 'CONVERSION', conversion_type: ['APP_INSTALL', 'APP_ACTIVATE'] }), users: [83, 84] },
  { name: 'AD: no conversion type = any conversion', spec: ad({ rule_type: 'CONVERSION', conversion_type: [] }), users: [83, 84, 85] },
  { name: 'AD: exposure', spec: ad({ rule_type: 'EXPOSURE' }), users: [82] },
  // LBS POI
  { name: 'POI: category', spec: poi([500]), users: [100, 101, 103, 104] },
  { name: 'POI: frequency counts days, not pings', spec: poi([500], { frequency: 2 }), users: [100] },
  { name: 'POI: three pings on one day are one', spec: poi([500], { frequency: 3 }), users: [] },
  { name: 'POI: regions and categories', spec: poi([500, 600], { region: [11] }), users: [100, 102, 103, 104] },
  { name: 'POI: day of the week in GMT+8', spec: poi([500], { days: ['SATURDAY'] }), users: [100, 103] },
  { name: 'POI: days of the week and frequency', spec: poi([500], { days: ['SATURDAY', 'SUNDAY'], frequency: 2 }), users: [100] },
  { name: 'POI: date range', spec: poi([500], { from: '2024-03-10' }), users: [100, 101] },
  // LBS CROSS_CITY
  { name: 'CROSS_CITY: a route, other cities in between allowed', spec: cross(['1|2']), users: [120, 122, 123] },
  { name: 'CROSS_CITY: frequency counts trips', spec: cross(['1|2'], { frequency: 2 }), users: [123] },
  { name: 'CROSS_CITY: routes are ORed', spec: cross(['1|2', '2|1']), users: [120, 121, 122, 123] },
  { name: 'CROSS_CITY: the departure must be in the range', spec: cross(['1|2'], { from: '2024-02-20' }), users: [120, 122, 123, 124] },
  { name: 'CROSS_CITY: a city to itself is no trip', spec: cross(['1|1']), users: [] },
  { name: 'CROSS_CITY: a code past BIGINT names no city', spec: cross(['99999999999999999999|2']), users: [] },
  { name: 'CROSS_CITY: city codes, not region ids', spec: cross(['10|20', '1|2']), users: [120, 122, 123, 126] },
  // LBS CUSTOM_LOCATION
  { name: 'CUSTOM_LOCATION: ALL in a circle (990 m in, 1500 m out, range ends 23:59:59)', spec: circles([A]), users: [140, 142, 147, 148, 149, 150] },
  { name: 'CUSTOM_LOCATION: across the antimeridian (east of it)', spec: circles([B]), users: [143] },
  { name: 'CUSTOM_LOCATION: across the antimeridian (west of it)', spec: circles([D]), users: [153] },
  { name: 'CUSTOM_LOCATION: over the north pole', spec: circles([C]), users: [145] },
  { name: 'CUSTOM_LOCATION: at the south pole', spec: circles([E]), users: [154] },
  { name: 'CUSTOM_LOCATION: circles are ORed', spec: circles([A, B, C, D, E]), users: [140, 142, 143, 145, 147, 148, 149, 150, 153, 154] },
  { name: 'CUSTOM_LOCATION: frequency counts days', spec: circles([A], { min: 2, max: 5 }), users: [140] },
  { name: 'CUSTOM_LOCATION: frequency max', spec: circles([A], { min: 1, max: 1 }), users: [142, 147, 148, 149, 150] },
  { name: 'CUSTOM_LOCATION: TRAVEL_IN keeps visitors whose usual city is elsewhere', spec: circles([A], { type: 'TRAVEL_IN' }), users: [147] },
  { name: 'CUSTOM_LOCATION: TRAVEL_IN with a frequency no traveller reaches', spec: circles([A], { type: 'TRAVEL_IN', min: 2, max: 100 }), users: [] },
];

const ctxOf = (engine: EventEngine, extra: Partial<CompileContext> = {}): CompileContext => ({ engine, accountId: ACC, nowMs: NOW, utcOffsetMinutes: OFFSET, ...extra });

const dbOf = bothEngines(fixture, ACC);

for (const engine of ['duckdb', 'postgres'] as const) {
  describe(engine, () => {
    for (const c of cases) {
      test(c.name, async (t) => {
        const db = dbOf(engine, t);
        if (!db) return;
        const rule = compileRule(c.spec, ctxOf(engine, c.ctx));
        assert.deepEqual(await db.users(rule), c.users, rule.sql);
      });
    }

    test('the other account sees its own rows only', async (t) => {
      const db = dbOf(engine, t);
      if (!db) return;
      const ctx = ctxOf(engine, { accountId: OTHER });
      assert.deepEqual(await db.users(compileRule(url([]), ctx)), [9]);
      assert.deepEqual(await db.users(compileRule(filter('PURCHASE', []), ctx)), [28]);
      assert.deepEqual(await db.users(compileRule(kw(['手机']), ctx)), [68]);
      assert.deepEqual(await db.users(compileRule(ad({ rule_type: 'CLICK' }), ctx)), [92]);
      assert.deepEqual(await db.users(compileRule(poi([500]), ctx)), [105]);
      assert.deepEqual(await db.users(compileRule(cross(['1|2']), ctx)), [127]);
      assert.deepEqual(await db.users(compileRule(circles([A]), ctx)), [155]);
    });

    test('quotes, semicolons and comment marks in values stay values', async (t) => {
      const db = dbOf(engine, t);
      if (!db) return;
      const evil = ["x'); DROP TABLE user_actions; --", "' OR 1=1 --", '$1', '?x?', '\\', '"', '/*'];
      for (const v of evil) {
        assert.deepEqual(await db.users(compileRule(url([[u('CONTAIN', v)]]), ctxOf(engine))), []);
        assert.deepEqual(await db.users(compileRule(filter('PURCHASE', [[p(v, 'EQ', v)]]), ctxOf(engine))), []);
        assert.deepEqual(await db.users(compileRule(kw([v]), ctxOf(engine))), []);
      }
      assert.ok((await db.count('SELECT count(*) FROM user_actions')) > 0, 'user_actions still holds its rows');
    });
  });
}

test('LT and GT with a value that is not a number are refused by field', () => {
  assert.throws(
    () => compileRule(filter('PURCHASE', [[p('price', 'EQ', 'x')], [p('price', 'LT', 'cheap')]]), ctxOf('duckdb')),
    (e: unknown) => isAppError(e) && e.code === 'InvalidParameter' && e.field === 'audience_spec.user_action_spec.action_match_rule.param_matcher_group[1].param_matcher[0].param_value',
  );
  assert.throws(
    () => compileRule(filter('PURCHASE', [[], [p('price', 'GT', '1,000')]]), ctxOf('duckdb')),
    (e: unknown) => isAppError(e) && e.field === 'audience_spec.user_action_spec.action_match_rule.param_matcher_group[1].param_matcher[0].param_value',
  );
  assert.throws(
    () => compileRule(aggregate([count('BY_TIMES', 'GE', 1)], { filter: [[p('amount', 'GT', '1,000')]] }), ctxOf('duckdb')),
    (e: unknown) => isAppError(e) && e.field === 'audience_spec.user_action_spec.action_aggregation_rule.filter_group[0].param_matcher[0].param_value',
  );
});

test('a NUL character in a value is refused by field', () => {
  assert.throws(
    () => compileRule(kw(['ok', 'bad\u0000']), ctxOf('postgres')),
    (e: unknown) => isAppError(e) && e.code === 'InvalidParameter' && e.field === 'audience_spec.keyword_spec.include_keyword[1]',
  );
});

test('a bad context is refused before any SQL is made', () => {
  assert.throws(() => compileRule(kw(['a']), { ...ctxOf('duckdb'), utcOffsetMinutes: 480.5 }), /utcOffsetMinutes/);
  assert.throws(() => compileRule(kw(['a']), { ...ctxOf('duckdb'), accountId: '' }), /accountId/);
  assert.throws(() => compileRule(kw(['a']), { ...ctxOf('duckdb'), engine: 'sqlite' as EventEngine }), /engine/);
});

test('the same rule compiles to `$n` for PostgreSQL and `?` for DuckDB, values in text order', () => {
  const spec = filter('PURCHASE', [[p('price', 'GT', '100')]]);
  const pgRule = compileRule(spec, ctxOf('postgres'));
  const duck = compileRule(spec, ctxOf('duckdb'));
  // The number pattern is the one literal in the text, and holds a `?` of its own.
  const pgText = pgRule.sql.replace(NUMBER_PATTERN, '');
  const duckText = duck.sql.replace(NUMBER_PATTERN, '');
  assert.ok(!pgText.includes('?') && /\$1\b/.test(pgText), pgRule.sql);
  assert.ok(!/\$\d/.test(duckText), duck.sql);
  assert.equal(duckText.split('?').length - 1, duck.params.length);
  const used = new Set([...pgRule.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  assert.deepEqual([...used].sort((a, b) => a - b), pgRule.params.map((_, i) => i + 1));
  assert.equal(pgRule.params[0], ACC);
});
