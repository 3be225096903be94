// compileRule: a validated Tencent rule spec (USER_ACTION, KEYWORD, AD, LBS)
// into ONE SQL statement for the event store in use (DuckDB or PostgreSQL,
// the tables of src/infra/events/schema.ts). The statement returns one
// column, user_id, each user once, from the given account's rows only.
// Every value of the spec is a bound parameter (sql.ts); windows are UTC
// bounds computed here (time.ts), so the time column is only ever compared
// with constants.
//
// The reading of seed 001, rule by rule (docs/behaviour-data.md holds the
// same, for users):
//
// Windows. `time_window` N = the N vendor days ending today, today included
// ("today 14 Jan, the last 14 days are 1–14 Jan"), up to now; 0 = today so
// far. Date ranges are whole vendor days, both ends included, never past
// now. Vendor days are GMT+8 (ctx.utcOffsetMinutes); counting BY_DAY and the
// day of the week shift each timestamp by the offset before taking its date.
//
// USER_ACTION, every kind: actions of the given action set, in the window.
// - URL: groups ANDed, matchers in a group ORed, all on the SAME action (a
//   URL belongs to one action); no groups = everyone with an action in the
//   set. EQ/NE compare the whole URL, CONTAIN/NOT_CONTAIN look for the value
//   as a literal substring (strpos, so % and _ are plain characters), all
//   case-sensitive (a URL's path is). An action with no URL matches none of
//   the four operators.
// - ACTION + FILTER: action_type (CUSTOM: also custom_action), and the
//   param_matcher_group: groups ANDed, matchers ORed, on the same action.
//   EQ/NE/CONTAIN/NOT_CONTAIN compare the parameter as a string; LT/GT read
//   both sides as numbers (sql.ts NUMBER_PATTERN), a stored value that is not
//   a number never matches. An action WITHOUT the parameter matches no
//   operator, NE and NOT_CONTAIN included: a matcher is a statement about the
//   parameter, and an action that does not carry it says nothing about it.
// - ACTION + AGGREGATION: the actions of the type that pass every
//   filter_group (groups ANDed, the matcher(s) of a group ORed, the same
//   operators as FILTER) are grouped per user; the user qualifies when every
//   aggregation_group holds (ANDed; its matcher(s) ORed). COUNT BY_TIMES
//   counts actions, BY_DAY distinct vendor days; SUM/MAX/MIN run over the
//   parameter's numeric values (non-numbers ignored; a user with none has no
//   value and does not qualify). GE/LE/EQ compare, BETWEEN includes both
//   ends. A user with no matching action is never in a group, so never
//   qualifies, even for "COUNT LE 3".
// KEYWORD: SEARCH actions of the account (any action set) in the last
// ctx.keywordWindowDays (30 by default: the seed gives keyword rules no
// window, and an unbounded scan of all history is not a rule we run) whose
// keyword contains an include keyword and none of the exclude keywords, per
// search: exclude keywords work like a search ad's negative keywords, they
// remove searches, not the user. Case-insensitive (lower() on both sides),
// literal substring.
// AD: ad events of rule_type (CONVERSION: of any listed conversion type;
// none listed = any), from start_date to end_date inclusive, or to now when
// there is no end_date. An empty list is the same as no list: every
// campaign. promoted_object_list matches type AND id of one entry, entries
// ORed.
// LBS POI: pings with a poi_category in the list and, when given, a
// region_id in the list, on the listed days of the week (vendor-local; none
// = every day), in the date range; `frequency` (行为次数, default 1) counts
// visits, one per vendor day: a phone pings many times an hour, so raw pings
// measure the device, not the person.
// LBS CROSS_CITY: route "a|b" = a move from city a to city b: among the
// user's pings in a or b (by time), a ping in b right after one in a counts
// one trip; pings in other cities in between do not break it (a→c→b is a
// trip a→b). Cities are matched against `city_code` (a route is city to
// city; region_id may be a district). Both pings must lie in the date range.
// At least `frequency` (default 1) trips on one route; routes ORed. A route
// from a city to itself is never a trip; a code too large for a BIGINT can
// name no stored city.
// LBS CUSTOM_LOCATION: a ping is in a circle when its great-circle distance
// to the centre is at most the radius (geo.ts); circles ORed. ALL: every
// ping in a circle. TRAVEL_IN: the travellers among them, read as Tencent's
// "旅行到" location type: pings in a circle whose city is not the user's
// usual city, the usual city being the one on which the user was seen on
// the most days in the date range (a tie keeps the user a resident); a ping
// without city_code cannot tell and is not counted. frequency_spec: the
// number of vendor days with a qualifying ping, BETWEEN min and max
// inclusive (no spec: at least one day).
import { err } from '../../errors.js';
import type { EventKind } from '../../infra/events/schema.js';
import { TIME_COLUMN } from '../../infra/events/schema.js';
import { boundingBox, cellsOf, CELLS_PER_DEGREE, haversineLimit } from './geo.js';
import { isNumberText, Sql, type SqlType } from './sql.js';
import { dateRangeBounds, timestampText, windowBounds, type Bounds } from './time.js';
import type {
  AdRuleSpec,
  AggregationMatcher,
  Comparator,
  CompileContext,
  CompiledRule,
  KeywordSpec,
  LbsSpec,
  Operator,
  ParamMatcher,
  RuleSpec,
  UserActionSpec,
} from './types.js';

/** The window of a KEYWORD rule when the context names none. */
export const KEYWORD_WINDOW_DAYS = 30;

const ISO_DAY: Record<string, number> = { MONDAY: 1, TUESDAY: 2, WEDNESDAY: 3, THURSDAY: 4, FRIDAY: 5, SATURDAY: 6, SUNDAY: 7 };
const INT64_MAX = 9_223_372_036_854_775_807n;
const DEG = Math.PI / 180;

const UA = 'audience_spec.user_action_spec';
const LBS = 'audience_spec.lbs_spec';

/** Compiles one rule; throws an AppError naming the field when the spec cannot be compiled. */
export function compileRule(spec: RuleSpec, ctx: CompileContext): CompiledRule {
  checkContext(ctx);
  refuseNul(spec, 'audience_spec');
  const q = new Sql(ctx.engine);
  switch (spec.type) {
    case 'USER_ACTION':
      return q.render(userAction(q, spec.user_action_spec, ctx));
    case 'KEYWORD':
      return q.render(keyword(q, spec.keyword_spec, ctx));
    case 'AD':
      return q.render(ad(q, spec.ad_rule_spec, ctx));
    case 'LBS':
      return q.render(lbs(q, spec.lbs_spec, ctx));
    default:
      throw err('InvalidParameter', `rules of type ${String((spec as { type: unknown }).type)} do not compile to SQL`, 'type');
  }
}

function checkContext(ctx: CompileContext): void {
  if (ctx.engine !== 'duckdb' && ctx.engine !== 'postgres') throw new Error(`unknown event engine ${String(ctx.engine)}`);
  if (!Number.isFinite(ctx.nowMs)) throw new Error('nowMs must be a finite number');
  if (!Number.isInteger(ctx.utcOffsetMinutes) || Math.abs(ctx.utcOffsetMinutes) > 14 * 60) throw new Error(`utcOffsetMinutes must be a whole number of minutes within ±14 h, got ${ctx.utcOffsetMinutes}`);
  if (String(ctx.accountId) === '') throw new Error('accountId is required');
  const kw = ctx.keywordWindowDays;
  if (kw !== undefined && (!Number.isInteger(kw) || kw < 1)) throw new Error(`keywordWindowDays must be a positive whole number, got ${kw}`);
}

/**
 * No stored text can hold U+0000 (PostgreSQL refuses it outright, and would
 * fail the whole statement on such a parameter), so a value holding one is
 * refused by name rather than left to break the query.
 */
function refuseNul(v: unknown, path: string): void {
  if (typeof v === 'string') {
    if (v.includes('\u0000')) throw err('InvalidParameter', `${path} holds a NUL character`, path);
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => refuseNul(x, `${path}[${i}]`));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) if (k !== 'type') refuseNul(x, `${path}.${k}`);
  }
}

/** A field the validator requires, checked again so that a spec that skipped it fails by name. */
function need<T>(v: T | undefined | null, path: string): T {
  if (v === undefined || v === null) throw err('MissingParameter', `${path} is required`, path);
  return v;
}

/** Account and time bounds: the first conditions of every statement. */
function scope(q: Sql, kind: EventKind, ctx: CompileContext, b: Bounds, alias = ''): string {
  const col = `${alias}${TIME_COLUMN[kind]}`;
  return [
    `${alias}account_id = ${q.bind(String(ctx.accountId), 'text')}`,
    `${col} >= ${q.bind(timestampText(b.fromMs), 'timestamp')}`,
    `${col} < ${q.bind(timestampText(b.toMs), 'timestamp')}`,
  ].join(' AND ');
}

const all = (conds: string[]) => conds.join(' AND ');
const any = (conds: string[]) => (conds.length === 1 ? conds[0] : `(${conds.join(' OR ')})`);

/**
 * AND over groups of OR. An empty group adds no condition (read as "no
 * matcher given", like an empty group list) rather than matching nothing.
 */
function groups<M>(list: ReadonlyArray<ReadonlyArray<M>>, one: (m: M, gi: number, mi: number) => string): string[] {
  // Indexes are those of the spec, so an error names the matcher the user wrote.
  return list.flatMap((g, gi) => (g.length === 0 ? [] : [any(g.map((m, mi) => one(m, gi, mi)))]));
}

/** A string comparison on an expression that may be NULL (NULL matches nothing). */
function stringMatch(q: Sql, expr: () => string, op: Operator, value: string, path: string): string {
  switch (op) {
    case 'EQ':
      return `${expr()} = ${q.bind(value, 'text')}`;
    case 'NE':
      return `${expr()} <> ${q.bind(value, 'text')}`;
    case 'CONTAIN':
      return `strpos(${expr()}, ${q.bind(value, 'text')}) > 0`;
    case 'NOT_CONTAIN':
      return `strpos(${expr()}, ${q.bind(value, 'text')}) = 0`;
    default:
      throw err('InvalidParameter', `${path}.operator ${String(op)} does not apply here`, `${path}.operator`);
  }
}

function paramMatch(q: Sql, m: ParamMatcher, path: string): string {
  const name = need(m.param_name, `${path}.param_name`);
  const value = need(m.param_value, `${path}.param_value`);
  if (m.operator === 'LT' || m.operator === 'GT') {
    if (!isNumberText(value)) throw err('InvalidParameter', `${path}.param_value must be a number for ${m.operator}, got ${JSON.stringify(value)}`, `${path}.param_value`);
    return `${q.number(() => q.param(name))} ${m.operator === 'LT' ? '<' : '>'} ${q.bind(Number(value), 'double')}`;
  }
  return stringMatch(q, () => q.param(name), m.operator, value, path);
}

function actionType(q: Sql, rule: { action_type: string; custom_action?: string }, path: string): string {
  const type = need(rule.action_type, `${path}.action_type`);
  const cond = `action_type = ${q.bind(type, 'text')}`;
  if (type !== 'CUSTOM') return cond;
  return `${cond} AND custom_action = ${q.bind(need(rule.custom_action, `${path}.custom_action`), 'text')}`;
}

// ---------------------------------------------------------------------------
// USER_ACTION

function userAction(q: Sql, s: UserActionSpec, ctx: CompileContext): string {
  const window = windowBounds(need(s.time_window, `${UA}.time_window`), ctx.nowMs, ctx.utcOffsetMinutes);
  const where = [scope(q, 'user_actions', ctx, window), `action_set_id = ${q.bind(need(s.user_action_set_id, `${UA}.user_action_set_id`), 'bigint')}`];

  if (s.match_rule_type === 'URL') {
    const path = `${UA}.url_match_rule.url_matcher_group`;
    const list = s.url_match_rule?.url_matcher_group ?? [];
    where.push(...groups(list.map((g) => g.url_matcher ?? []), (m, gi, mi) => stringMatch(q, () => 'url', m.operator, m.param_value, `${path}[${gi}].url_matcher[${mi}]`)));
    return `SELECT DISTINCT user_id FROM user_actions WHERE ${all(where)}`;
  }

  if (s.extract_type === 'AGGREGATION') {
    const path = `${UA}.action_aggregation_rule`;
    const rule = need(s.action_aggregation_rule, path);
    where.push(actionType(q, rule, path));
    where.push(...groups((rule.filter_group ?? []).map((g) => g.param_matcher ?? []), (m, gi, mi) => paramMatch(q, m, `${path}.filter_group[${gi}].param_matcher[${mi}]`)));
    const having = groups(
      need(rule.aggregation_group, `${path}.aggregation_group`).map((g) => g.aggregation_matcher ?? []),
      (m, gi, mi) => aggregation(q, m, ctx, `${path}.aggregation_group[${gi}].aggregation_matcher[${mi}]`),
    );
    return `SELECT user_id FROM user_actions WHERE ${all(where)} GROUP BY user_id${having.length ? ` HAVING ${all(having)}` : ''}`;
  }

  const path = `${UA}.action_match_rule`;
  const rule = need(s.action_match_rule, path);
  where.push(actionType(q, rule, path));
  where.push(...groups((rule.param_matcher_group ?? []).map((g) => g.param_matcher ?? []), (m, gi, mi) => paramMatch(q, m, `${path}.param_matcher_group[${gi}].param_matcher[${mi}]`)));
  return `SELECT DISTINCT user_id FROM user_actions WHERE ${all(where)}`;
}

function aggregation(q: Sql, m: AggregationMatcher, ctx: CompileContext, path: string): string {
  let expr: string;
  let type: SqlType;
  if (m.aggregation_type === 'COUNT') {
    const by = need(m.count_type, `${path}.count_type`);
    expr = by === 'BY_DAY' ? `COUNT(DISTINCT ${q.localDay('action_time', ctx.utcOffsetMinutes)})` : 'COUNT(*)';
    type = 'bigint';
  } else {
    const fn = { SUM: 'SUM', MAX: 'MAX', MIN: 'MIN' }[m.aggregation_type];
    if (!fn) throw err('InvalidParameter', `${path}.aggregation_type ${String(m.aggregation_type)} is not one of SUM, MAX, MIN, COUNT`, `${path}.aggregation_type`);
    const name = need(m.param_name, `${path}.param_name`);
    expr = `${fn}(${q.number(() => q.param(name))})`;
    type = 'double';
  }
  return compare(q, expr, m, type, path);
}

function compare(q: Sql, expr: string, m: { comparator: Comparator; comparison_value?: number; comparison_min_value?: number; comparison_max_value?: number }, type: SqlType, path: string): string {
  switch (m.comparator) {
    case 'COMPARATOR_GE':
      return `${expr} >= ${q.bind(need(m.comparison_value, `${path}.comparison_value`), type)}`;
    case 'COMPARATOR_LE':
      return `${expr} <= ${q.bind(need(m.comparison_value, `${path}.comparison_value`), type)}`;
    case 'COMPARATOR_EQ':
      return `${expr} = ${q.bind(need(m.comparison_value, `${path}.comparison_value`), type)}`;
    case 'COMPARATOR_BETWEEN':
      return `${expr} BETWEEN ${q.bind(need(m.comparison_min_value, `${path}.comparison_min_value`), type)} AND ${q.bind(need(m.comparison_max_value, `${path}.comparison_max_value`), type)}`;
    default:
      throw err('InvalidParameter', `${path}.comparator ${String(m.comparator)} is not a comparator`, `${path}.comparator`);
  }
}

// ---------------------------------------------------------------------------
// KEYWORD

function keyword(q: Sql, s: KeywordSpec, ctx: CompileContext): string {
  const path = 'audience_spec.keyword_spec';
  const include = need(s.include_keyword, `${path}.include_keyword`);
  if (include.length === 0) throw err('InvalidParameter', `${path}.include_keyword needs at least one keyword`, `${path}.include_keyword`);
  const window = windowBounds(ctx.keywordWindowDays ?? KEYWORD_WINDOW_DAYS, ctx.nowMs, ctx.utcOffsetMinutes);
  const has = (k: string) => `strpos(lower(keyword), lower(${q.bind(k, 'text')})) > 0`;
  const where = [scope(q, 'user_actions', ctx, window), `action_type = ${q.bind('SEARCH', 'text')}`, any(include.map(has))];
  const exclude = s.exclude_keyword ?? [];
  if (exclude.length) where.push(`NOT (${exclude.map(has).join(' OR ')})`);
  return `SELECT DISTINCT user_id FROM user_actions WHERE ${all(where)}`;
}

// ---------------------------------------------------------------------------
// AD

function ad(q: Sql, s: AdRuleSpec, ctx: CompileContext): string {
  const path = 'audience_spec.ad_rule_spec';
  const b = dateRangeBounds(need(s.start_date, `${path}.start_date`), s.end_date, ctx.nowMs, ctx.utcOffsetMinutes);
  const where = [scope(q, 'ad_events', ctx, b), `event_type = ${q.bind(need(s.rule_type, `${path}.rule_type`), 'text')}`];
  if (s.rule_type === 'CONVERSION' && s.conversion_type?.length) where.push(q.in('conversion_type', [...new Set(s.conversion_type)], 'text'));
  if (s.campaign_id_list?.length) where.push(q.in('campaign_id', [...new Set(s.campaign_id_list)], 'bigint'));
  if (s.adgroup_id_list?.length) where.push(q.in('adgroup_id', [...new Set(s.adgroup_id_list)], 'bigint'));
  if (s.promoted_object_list?.length) {
    where.push(any(s.promoted_object_list.map((o) => `(promoted_object_type = ${q.bind(o.promoted_object_type, 'text')} AND promoted_object_id = ${q.bind(o.promoted_object_id, 'text')})`)));
  }
  return `SELECT DISTINCT user_id FROM ad_events WHERE ${all(where)}`;
}

// ---------------------------------------------------------------------------
// LBS

function lbs(q: Sql, s: LbsSpec, ctx: CompileContext): string {
  switch (s.lbs_type) {
    case 'POI':
      return poi(q, need(s.poi_rule, `${LBS}.poi_rule`), ctx);
    case 'CROSS_CITY':
      return crossCity(q, need(s.cross_city_rule, `${LBS}.cross_city_rule`), ctx);
    case 'CUSTOM_LOCATION':
      return customLocation(q, need(s.custom_location_rule, `${LBS}.custom_location_rule`), ctx);
    default:
      throw err('InvalidParameter', `${LBS}.lbs_type ${String(s.lbs_type)} is not one of POI, CROSS_CITY, CUSTOM_LOCATION`, `${LBS}.lbs_type`);
  }
}

function rangeOf(r: { start_date: string; end_date: string } | undefined, path: string, ctx: CompileContext): Bounds {
  const range = need(r, `${path}.date_range`);
  return dateRangeBounds(need(range.start_date, `${path}.date_range.start_date`), need(range.end_date, `${path}.date_range.end_date`), ctx.nowMs, ctx.utcOffsetMinutes);
}

function poi(q: Sql, r: NonNullable<LbsSpec['poi_rule']>, ctx: CompileContext): string {
  const path = `${LBS}.poi_rule`;
  const categories = need(r.poi_category_id, `${path}.poi_category_id`);
  if (categories.length === 0) throw err('InvalidParameter', `${path}.poi_category_id needs at least one category`, `${path}.poi_category_id`);
  const where = [scope(q, 'location_pings', ctx, rangeOf(r.date_range, path, ctx)), q.in('poi_category', [...new Set(categories)], 'bigint')];
  if (r.region_id?.length) where.push(q.in('region_id', [...new Set(r.region_id)], 'bigint'));
  const days = [...new Set(r.day_of_week ?? [])];
  if (days.length > 0 && days.length < 7) {
    where.push(q.in(`EXTRACT(ISODOW FROM ${q.localTime('ping_time', ctx.utcOffsetMinutes)})`, days.map((d) => need(ISO_DAY[d], `${path}.day_of_week`)), 'int'));
  }
  return (
    `SELECT user_id FROM location_pings WHERE ${all(where)} GROUP BY user_id ` +
    `HAVING COUNT(DISTINCT ${q.localDay('ping_time', ctx.utcOffsetMinutes)}) >= ${q.bind(r.frequency ?? 1, 'bigint')}`
  );
}

function crossCity(q: Sql, r: NonNullable<LbsSpec['cross_city_rule']>, ctx: CompileContext): string {
  const path = `${LBS}.cross_city_rule`;
  const routes: Array<[string, string]> = [];
  need(r.route, `${path}.route`).forEach((text, i) => {
    const m = /^(\d+)\|(\d+)$/.exec(text);
    if (!m) throw err('InvalidParameter', `${path}.route[${i}] must be two region codes joined by "|", got ${JSON.stringify(text)}`, `${path}.route[${i}]`);
    const [a, b] = [BigInt(m[1]), BigInt(m[2])];
    if (a === b || a > INT64_MAX || b > INT64_MAX) return;
    if (!routes.some(([x, y]) => x === a.toString() && y === b.toString())) routes.push([a.toString(), b.toString()]);
  });
  if (routes.length === 0) return 'SELECT DISTINCT user_id FROM location_pings WHERE FALSE';
  // Two rows per route, (route, city, 1 = from | 2 = to): an equality join
  // (hash join) instead of an OR in the join condition.
  const rows = routes.flatMap(([a, b], i) => [
    `(${q.bind(i + 1, 'int')}, ${q.bind(a, 'bigint')}, ${q.bind(1, 'int')})`,
    `(${q.bind(i + 1, 'int')}, ${q.bind(b, 'bigint')}, ${q.bind(2, 'int')})`,
  ]);
  const seen =
    'SELECT p.user_id, r.route, r.leg, ' +
    'LAG(r.leg) OVER (PARTITION BY p.user_id, r.route ORDER BY p.ping_time, r.leg) AS prev_leg ' +
    `FROM location_pings p JOIN (VALUES ${rows.join(', ')}) AS r(route, city, leg) ON p.city_code = r.city ` +
    `WHERE ${scope(q, 'location_pings', ctx, rangeOf(r.date_range, path, ctx), 'p.')}`;
  return (
    `SELECT DISTINCT user_id FROM (SELECT user_id, route FROM (${seen}) AS seen ` +
    `WHERE leg = ${q.bind(2, 'int')} AND prev_leg = ${q.bind(1, 'int')} ` +
    `GROUP BY user_id, route HAVING COUNT(*) >= ${q.bind(r.frequency ?? 1, 'bigint')}) AS trips`
  );
}

function customLocation(q: Sql, r: NonNullable<LbsSpec['custom_location_rule']>, ctx: CompileContext): string {
  const path = `${LBS}.custom_location_rule`;
  const range = rangeOf(r.date_range, path, ctx);
  const circles = need(r.area_list, `${path}.area_list`).map((a, i) => {
    const c = need(a.circle_area, `${path}.area_list[${i}].circle_area`);
    if (!(c.radius > 0) || Math.abs(c.latitude) > 90 || Math.abs(c.longitude) > 180) {
      throw err('InvalidParameter', `${path}.area_list[${i}].circle_area is not a circle on the earth`, `${path}.area_list[${i}].circle_area`);
    }
    return { c, box: boundingBox(c) };
  });
  if (circles.length === 0) throw err('InvalidParameter', `${path}.area_list needs at least one area`, `${path}.area_list`);
  // The circles as two small tables joined to the pings (geo.ts): the
  // latitude cells each circle spans, and per circle its box (a second
  // longitude range repeats the first when there is none; a circle over a
  // pole spans every longitude) and the constants of the haversine test.
  const cells = circles.flatMap(({ box }, i) => cellsOf(box).map((k) => `(${q.bind(k, 'bigint')}, ${q.bind(i + 1, 'int')})`));
  const table = circles.map(({ c, box }, i) => {
    const [a, b] = box.lon === null ? [[-180, 180], [-180, 180]] : [box.lon[0], box.lon[1] ?? box.lon[0]];
    return `(${q.bind(i + 1, 'int')}, ${[box.latMin, box.latMax, a[0], a[1], b[0], b[1], c.latitude * DEG, c.longitude * DEG, Math.cos(c.latitude * DEG), haversineLimit(c.radius)]
      .map((v) => q.bind(v, 'double'))
      .join(', ')})`;
  });
  // One latitude band around every circle as well: a plain range on a
  // column, on which the engines can skip whole row groups before the join.
  const band = `p.latitude BETWEEN ${q.bind(Math.min(...circles.map((x) => x.box.latMin)), 'double')} AND ${q.bind(Math.max(...circles.map((x) => x.box.latMax)), 'double')}`;
  const exact =
    'power(sin((radians(p.latitude) - c.lat_rad) / 2), 2) + c.cos_lat * cos(radians(p.latitude)) * power(sin((radians(p.longitude) - c.lon_rad) / 2), 2) <= c.hav_max';
  const inside =
    `SELECT p.user_id, p.city_code, ${q.localDay('p.ping_time', ctx.utcOffsetMinutes)} AS day FROM location_pings p ` +
    `JOIN (VALUES ${cells.join(', ')}) AS k(cell, circle) ON CAST(floor(p.latitude * ${CELLS_PER_DEGREE}) AS BIGINT) = k.cell ` +
    `JOIN (VALUES ${table.join(', ')}) AS c(circle, lat_min, lat_max, lon_min1, lon_max1, lon_min2, lon_max2, lat_rad, lon_rad, cos_lat, hav_max) ON c.circle = k.circle ` +
    `WHERE ${all([
      scope(q, 'location_pings', ctx, range, 'p.'),
      band,
      'p.latitude BETWEEN c.lat_min AND c.lat_max',
      '(p.longitude BETWEEN c.lon_min1 AND c.lon_max1 OR p.longitude BETWEEN c.lon_min2 AND c.lon_max2)',
      exact,
    ])}`;

  const f = r.frequency_spec;
  if (f?.comparator !== undefined && f.comparator !== 'COMPARATOR_BETWEEN') {
    throw err('InvalidParameter', `${path}.frequency_spec.comparator only allows COMPARATOR_BETWEEN`, `${path}.frequency_spec.comparator`);
  }
  const min = f?.frequency_min_value ?? 1;
  const days = `COUNT(DISTINCT i.day)`;
  const having = f?.frequency_max_value === undefined ? `${days} >= ${q.bind(min, 'bigint')}` : `${days} BETWEEN ${q.bind(min, 'bigint')} AND ${q.bind(f.frequency_max_value, 'bigint')}`;

  if (r.poi_type === 'ALL') return `SELECT i.user_id FROM (${inside}) AS i GROUP BY i.user_id HAVING ${having}`;
  if (r.poi_type !== 'TRAVEL_IN') throw err('InvalidParameter', `${path}.poi_type ${String(r.poi_type)} is not one of ALL, TRAVEL_IN`, `${path}.poi_type`);
  // Each candidate's days per city over the same range, and their usual
  // city's count: a ping in a circle is travel when its city has fewer days.
  const cities =
    `SELECT user_id, city_code, COUNT(DISTINCT ${q.localDay('ping_time', ctx.utcOffsetMinutes)}) AS days FROM location_pings ` +
    `WHERE ${scope(q, 'location_pings', ctx, range)} AND city_code IS NOT NULL AND user_id IN (SELECT user_id FROM inside) ` +
    'GROUP BY user_id, city_code';
  return (
    `WITH inside AS (${inside}), cities AS (${cities}), usual AS (SELECT user_id, MAX(days) AS days FROM cities GROUP BY user_id) ` +
    'SELECT i.user_id FROM inside i JOIN cities c ON c.user_id = i.user_id AND c.city_code = i.city_code ' +
    'JOIN usual u ON u.user_id = i.user_id WHERE c.days < u.days ' +
    `GROUP BY i.user_id HAVING ${having}`
  );
}
