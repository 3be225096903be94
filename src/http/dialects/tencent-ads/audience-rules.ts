// Every field and limit of Tencent's `custom_audiences/add` (seed 001), as
// data. One walker (validateAddRequest) reads the tree: the route and the
// table-driven test use the same rules, so a limit lives in one place.
//
// Reading of the seed:
// - Lengths are in BYTES of UTF-8 (a Chinese character counts 3), as the
//   vendor writes "字段长度最大 32 字节".
// - Integers may come as JSON numbers or as digit strings: the vendor's own
//   examples quote ids ("account_id": "<ACCOUNT_ID>").
// - A field the seed does not define is refused, so a misspelt field is not
//   silently ignored.
// - A spec that does not belong to the request's `type` is refused (e.g.
//   `combine_spec` with type LOOKALIKE): each type reads exactly one spec.
// - The type enum in the seed lists no LBS, yet `lbs_spec` is "required when
//   type=LBS"; LBS is accepted as a type so that its spec can be checked.
// - The LBS circle radius reads "min 5000, max 100" metres; it is read as
//   100 to 5000.
// - Dates are yyyy-MM-dd and "today" is the vendor's day in GMT+8.
// - Whole-request rules that need the database (COMBINE inputs, the
//   LOOKALIKE seed audience) are in the route, after this walk.
import { err } from '../../../errors.js';
import { ACTION_TYPES } from '../../../domain/events/fields.js';
import { vendorDay } from '../../../domain/rules/time.js';
import type { RuleSpec } from '../../../domain/rules/types.js';

/** A condition on another field: `$.a.b` from the request's root, `x` a sibling. */
export interface Cond {
  path: string;
  eq?: unknown;
  ne?: unknown;
  in?: readonly unknown[];
  /** True when the field is absent (undefined). */
  absent?: boolean;
}

interface Base {
  required?: boolean;
  /** Required when every condition holds. */
  requiredWhen?: Cond[];
  /** Refused when present unless every condition holds. */
  onlyWhen?: Cond | Cond[];
}

export interface DateRule {
  start: string;
  end: string;
  /** The start may be at most this many days before today. */
  startWithinDays: number;
  /** The latest day the end may be. */
  endLatest: 'today' | 'yesterday';
  /** The latest day the start may be (default: bounded by the end only). */
  startLatest?: 'yesterday';
  /** start < end ('strict') or start <= end ('inclusive'). */
  order: 'strict' | 'inclusive';
  maxSpanDays?: number;
  /** The end may be omitted. */
  endOptional?: boolean;
}

export type Node = Base &
  (
    | { t: 'int'; min?: number; max?: number; multipleOf?: number; oneOf?: readonly number[]; maxWhen?: { when: Cond; max: number } }
    | { t: 'float'; min: number; max: number; decimals: number }
    | { t: 'string'; minBytes?: number; maxBytes?: number; exactBytes?: number; pattern?: RegExp; patternText?: string }
    | { t: 'bool' }
    | { t: 'enum'; values: readonly string[]; allowed?: readonly string[] }
    | { t: 'array'; of: Node; min?: number; max?: number }
    | { t: 'struct'; fields: Record<string, Node>; atMostOne?: string[][]; dates?: DateRule }
  );

const INT32_MAX = 2_147_483_647;
const DATE = { t: 'string', exactBytes: 10, pattern: /^\d{4}-\d{2}-\d{2}$/, patternText: 'a date yyyy-MM-dd' } as const;
const OPERATORS = ['LT', 'GT', 'EQ', 'NE', 'CONTAIN', 'NOT_CONTAIN'] as const;
const COMPARATORS = ['COMPARATOR_GE', 'COMPARATOR_LE', 'COMPARATOR_BETWEEN', 'COMPARATOR_EQ'] as const;

export const AUDIENCE_TYPES = ['CUSTOMER_FILE', 'LOOKALIKE', 'USER_ACTION', 'KEYWORD', 'AD', 'COMBINE', 'LBS'] as const;

export const LOOKALIKE_SEED_MIN = 100;
export const LOOKALIKE_SEED_MAX = 30_000_000;
export const MAX_COMBINE_AUDIENCES = 500;

const str = (minBytes: number, maxBytes: number, extra: Partial<Extract<Node, { t: 'string' }>> = {}): Node => ({ t: 'string', minBytes, maxBytes, ...extra });
const req = <N extends Node>(n: N): N => ({ ...n, required: true });
const idList = (max: number): Node => ({ t: 'array', max, of: { t: 'int', min: 1, max: INT32_MAX } });

const paramMatcher: Node = {
  t: 'struct',
  fields: { param_name: req(str(1, 128)), param_value: req(str(1, 128)), operator: req({ t: 'enum', values: OPERATORS }) },
};

const dateRange = (rule: Omit<DateRule, 'start' | 'end'>): Node => ({
  t: 'struct',
  required: true,
  fields: { start_date: req(DATE), end_date: req(DATE) },
  dates: { start: 'start_date', end: 'end_date', ...rule },
});

const combineItem: Node = {
  t: 'struct',
  fields: {
    audience_id: req({ t: 'int', min: 1 }),
    // Only meaningful for customer tags; checked so a wrong value is not kept silently.
    time_window: { t: 'int', min: 1, max: 365, oneOf: [1, 3, 7, 10, 15, 30, 90, 180, 365] },
  },
};

const is = (path: string, eq: unknown): Cond => ({ path, eq });
/** Required when every condition holds, and refused otherwise. */
const when = (conds: Cond | Cond[], node: Node): Node => ({ ...node, requiredWhen: [conds].flat(), onlyWhen: conds });
/** Each type reads exactly one spec. */
const spec = (type: string, node: Node): Node => when(is('$.type', type), node);
const customAction = when(is('action_type', 'CUSTOM'), str(1, 128));
const lbsRule = (lbsType: string, fields: Record<string, Node>): Node => when(is('lbs_type', lbsType), { t: 'struct', fields });

export const ADD_REQUEST: Node = {
  t: 'struct',
  fields: {
    account_id: req({ t: 'int', min: 1 }),
    name: req(str(1, 32)),
    type: req({ t: 'enum', values: AUDIENCE_TYPES }),
    external_audience_id: str(1, 128, { pattern: /^[A-Za-z0-9_]+$/, patternText: 'digits, letters or underscores' }),
    description: str(1, 100),
    cooperated: { t: 'bool' },
    audience_spec: {
      t: 'struct',
      // Every type but CUSTOMER_FILE is defined by its spec.
      requiredWhen: [{ path: '$.type', ne: 'CUSTOMER_FILE' }],
      fields: {
        lookalike_spec: spec('LOOKALIKE', {
          t: 'struct',
          fields: {
            seed_audience_id: req({ t: 'int', min: 1 }),
            expand_user_count: req({ t: 'int', min: 500_000, max: 100_000_000, multipleOf: 500_000 }),
          },
        }),
        user_action_spec: spec('USER_ACTION', {
          t: 'struct',
          fields: {
            user_action_set_id: req({ t: 'int', min: 1 }),
            match_rule_type: req({ t: 'enum', values: ['URL', 'ACTION'] }),
            extract_type: { t: 'enum', values: ['FILTER', 'AGGREGATION'], onlyWhen: { path: 'match_rule_type', eq: 'ACTION' } },
            time_window: req({ t: 'int', min: 0, max: 180, maxWhen: { when: { path: 'extract_type', eq: 'AGGREGATION' }, max: 90 } }),
            url_match_rule: when(is('match_rule_type', 'URL'), {
              t: 'struct',
              fields: {
                // Empty means everyone who browsed the site.
                url_matcher_group: req({
                  t: 'array',
                  max: 16,
                  of: {
                    t: 'struct',
                    fields: {
                      url_matcher: req({
                        t: 'array',
                        max: 16,
                        of: {
                          t: 'struct',
                          fields: { param_value: req(str(1, 128)), operator: req({ t: 'enum', values: OPERATORS, allowed: ['EQ', 'NE', 'CONTAIN', 'NOT_CONTAIN'] }) },
                        },
                      }),
                    },
                  },
                }),
              },
            }),
            action_match_rule: when([is('match_rule_type', 'ACTION'), { path: 'extract_type', in: [undefined, 'FILTER'] }], {
              t: 'struct',
              fields: {
                // The seed's action types (CUSTOM included) are the event store's list: a rule names only what events can hold.
                action_type: req({ t: 'enum', values: ACTION_TYPES }),
                custom_action: customAction,
                param_matcher_group: { t: 'array', max: 16, of: { t: 'struct', fields: { param_matcher: req({ t: 'array', max: 16, of: paramMatcher }) } } },
              },
            }),
            action_aggregation_rule: {
              t: 'struct',
              requiredWhen: [{ path: 'match_rule_type', eq: 'ACTION' }, { path: 'extract_type', eq: 'AGGREGATION' }],
              onlyWhen: { path: 'extract_type', eq: 'AGGREGATION' },
              fields: {
                action_type: req({ t: 'enum', values: ACTION_TYPES }),
                custom_action: customAction,
                aggregation_group: req({
                  t: 'array',
                  min: 1,
                  max: 4,
                  of: {
                    t: 'struct',
                    fields: {
                      aggregation_matcher: req({
                        t: 'array',
                        min: 1,
                        max: 1,
                        of: {
                          t: 'struct',
                          fields: {
                            aggregation_type: req({ t: 'enum', values: ['SUM', 'MAX', 'MIN', 'COUNT'] }),
                            count_type: { t: 'enum', values: ['BY_TIMES', 'BY_DAY'], requiredWhen: [{ path: 'aggregation_type', eq: 'COUNT' }] },
                            param_name: { ...str(1, 128), requiredWhen: [{ path: 'aggregation_type', ne: 'COUNT' }] },
                            comparator: req({ t: 'enum', values: COMPARATORS }),
                            comparison_value: { t: 'int', requiredWhen: [{ path: 'comparator', ne: 'COMPARATOR_BETWEEN' }] },
                            comparison_min_value: { t: 'int', requiredWhen: [{ path: 'comparator', eq: 'COMPARATOR_BETWEEN' }] },
                            comparison_max_value: { t: 'int', requiredWhen: [{ path: 'comparator', eq: 'COMPARATOR_BETWEEN' }] },
                          },
                        },
                      }),
                    },
                  },
                }),
                filter_group: { t: 'array', min: 1, max: 16, of: { t: 'struct', fields: { param_matcher: req({ t: 'array', min: 1, max: 1, of: paramMatcher }) } } },
              },
            },
          },
        }),
        lbs_spec: spec('LBS', {
          t: 'struct',
          fields: {
            lbs_type: req({ t: 'enum', values: ['POI', 'CROSS_CITY', 'CUSTOM_LOCATION'] }),
            cross_city_rule: lbsRule('CROSS_CITY', {
              // Departure and destination region codes, "1|2" for Beijing to Shanghai.
              route: req({ t: 'array', min: 1, max: 10, of: str(3, 64, { pattern: /^\d+\|\d+$/, patternText: 'two region codes joined by "|"' }) }),
              date_range: dateRange({ startWithinDays: 365, endLatest: 'today', order: 'strict' }),
              frequency: { t: 'int', min: 1, max: INT32_MAX },
            }),
            poi_rule: lbsRule('POI', {
              region_id: { t: 'array', min: 1, max: 50, of: { t: 'int', min: 1 } },
              poi_category_id: req({ t: 'array', min: 1, max: 10, of: { t: 'int', min: 1, max: INT32_MAX } }),
              date_range: dateRange({ startWithinDays: 365, endLatest: 'today', order: 'strict' }),
              day_of_week: { t: 'array', max: 7, of: { t: 'enum', values: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] } },
              frequency: { t: 'int', min: 1, max: INT32_MAX },
            }),
            custom_location_rule: lbsRule('CUSTOM_LOCATION', {
              poi_type: req({ t: 'enum', values: ['ALL', 'TRAVEL_IN'] }),
              date_range: dateRange({ startWithinDays: 365, endLatest: 'yesterday', order: 'strict', maxSpanDays: 60 }),
              frequency_spec: {
                t: 'struct',
                fields: {
                  comparator: { t: 'enum', values: COMPARATORS, allowed: ['COMPARATOR_BETWEEN'] },
                  frequency_min_value: { t: 'int', min: 1, max: 100, requiredWhen: [{ path: 'comparator', eq: 'COMPARATOR_BETWEEN' }] },
                  frequency_max_value: { t: 'int', min: 1, max: 100, requiredWhen: [{ path: 'comparator', eq: 'COMPARATOR_BETWEEN' }] },
                },
              },
              area_list: req({
                t: 'array',
                min: 1,
                max: 20,
                of: {
                  t: 'struct',
                  fields: {
                    area_type: req({ t: 'enum', values: ['CIRCLE'] }),
                    circle_area: {
                      t: 'struct',
                      requiredWhen: [{ path: 'area_type', eq: 'CIRCLE' }],
                      fields: {
                        longitude: req({ t: 'float', min: -180, max: 180, decimals: 6 }),
                        latitude: req({ t: 'float', min: -90, max: 90, decimals: 6 }),
                        radius: req({ t: 'int', min: 100, max: 5000 }),
                      },
                    },
                  },
                },
              }),
            }),
          },
        }),
        keyword_spec: spec('KEYWORD', {
          t: 'struct',
          fields: {
            include_keyword: req({ t: 'array', min: 1, max: 100, of: str(1, 10) }),
            exclude_keyword: { t: 'array', max: 20, of: str(1, 10) },
          },
        }),
        ad_rule_spec: spec('AD', {
          t: 'struct',
          atMostOne: [['campaign_id_list', 'promoted_object_list', 'adgroup_id_list']],
          dates: { start: 'start_date', end: 'end_date', startWithinDays: 90, startLatest: 'yesterday', endLatest: 'yesterday', order: 'inclusive', endOptional: true },
          fields: {
            rule_type: req({ t: 'enum', values: ['EXPOSURE', 'CLICK', 'CONVERSION'] }),
            conversion_type: when(is('rule_type', 'CONVERSION'), {
              t: 'array',
              max: 5,
              of: { t: 'enum', values: ['APP_START_DOWNLOAD', 'APP_FINISH_DOWNLOAD', 'APP_INSTALL', 'APP_ACTIVATE'] },
            }),
            start_date: req(DATE),
            end_date: DATE,
            campaign_id_list: idList(75),
            promoted_object_list: {
              t: 'array',
              max: 75,
              of: {
                t: 'struct',
                fields: {
                  promoted_object_type: req({
                    t: 'enum',
                    values: [
                      'PROMOTED_OBJECT_TYPE_APP_ANDROID', 'PROMOTED_OBJECT_TYPE_APP_IOS', 'PROMOTED_OBJECT_TYPE_QZONE_PAGE', 'PROMOTED_OBJECT_TYPE_QZONE_PAGE_ARTICLE',
                      'PROMOTED_OBJECT_TYPE_QZONE_PAGE_IFRAMED', 'PROMOTED_OBJECT_TYPE_QZONE_VIDEO_PAGE', 'PROMOTED_OBJECT_TYPE_APP_PC',
                    ],
                  }),
                  promoted_object_id: req(str(0, 128)),
                },
              },
            },
            adgroup_id_list: idList(75),
          },
        }),
        combine_spec: spec('COMBINE', {
          t: 'struct',
          fields: {
            // Two levels: the outer list is an AND of groups, each group an OR of audiences.
            include: req({ t: 'array', min: 1, max: MAX_COMBINE_AUDIENCES, of: { t: 'array', min: 1, max: MAX_COMBINE_AUDIENCES, of: combineItem } }),
            exclude: { t: 'array', max: MAX_COMBINE_AUDIENCES, of: { t: 'array', min: 1, max: MAX_COMBINE_AUDIENCES, of: combineItem } },
          },
        }),
      },
    },
    platform: { t: 'enum', values: ['DMP', 'TDC', 'TDP'] },
  },
};

// ---------------------------------------------------------------------------
// The walker.

type Json = Record<string, unknown>;

interface Ctx {
  root: Json;
  /** Today in GMT+8, as yyyy-MM-dd. */
  today: string;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

function lookup(c: Cond, parent: Json, ctx: Ctx): unknown {
  if (!c.path.startsWith('$.')) return parent[c.path];
  let v: unknown = ctx.root;
  for (const k of c.path.slice(2).split('.')) v = v && typeof v === 'object' ? (v as Json)[k] : undefined;
  return v;
}

function holds(c: Cond, parent: Json, ctx: Ctx): boolean {
  const v = lookup(c, parent, ctx);
  if (c.absent !== undefined) return (v === undefined) === c.absent;
  if ('eq' in c) return v === c.eq;
  if ('ne' in c) return v !== c.ne;
  if (c.in) return c.in.includes(v);
  return true;
}

const describe = (c: Cond) => {
  const name = c.path.replace(/^\$\./, '');
  if ('eq' in c) return `${name} is ${String(c.eq)}`;
  if ('ne' in c) return `${name} is not ${String(c.ne)}`;
  if (c.in) return `${name} is ${c.in.map((x) => (x === undefined ? 'absent' : String(x))).join(' or ')}`;
  return name;
};

function asInt(v: unknown, path: string): number {
  const n = typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw err('InvalidParameter', `${path} must be an integer, got ${JSON.stringify(v)}`, path);
  return n;
}

function walk(node: Node, v: unknown, path: string, ctx: Ctx): unknown {
  switch (node.t) {
    case 'int': {
      const n = asInt(v, path);
      if (node.min !== undefined && n < node.min) throw err('InvalidParameter', `${path} must be at least ${node.min}, got ${n}`, path);
      if (node.max !== undefined && n > node.max) throw err('InvalidParameter', `${path} must be at most ${node.max}, got ${n}`, path);
      if (node.multipleOf !== undefined && n % node.multipleOf !== 0) throw err('InvalidParameter', `${path} must be a multiple of ${node.multipleOf}, got ${n}`, path);
      if (node.oneOf && !node.oneOf.includes(n)) throw err('InvalidParameter', `${path} must be one of ${node.oneOf.join(', ')}, got ${n}`, path);
      return n;
    }
    case 'float': {
      const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw err('InvalidParameter', `${path} must be a number, got ${JSON.stringify(v)}`, path);
      if (n < node.min || n > node.max) throw err('InvalidParameter', `${path} must be from ${node.min} to ${node.max}, got ${n}`, path);
      const decimals = (String(n).split('.')[1] ?? '').length;
      if (decimals > node.decimals) throw err('InvalidParameter', `${path} has ${decimals} decimals; at most ${node.decimals}`, path);
      return n;
    }
    case 'string': {
      if (typeof v !== 'string') throw err('InvalidParameter', `${path} must be a string, got ${JSON.stringify(v)}`, path);
      const b = bytes(v);
      if (node.exactBytes !== undefined && b !== node.exactBytes) throw err('InvalidParameter', `${path} must be ${node.exactBytes} bytes, got ${b}`, path);
      if (node.minBytes !== undefined && b < node.minBytes) throw err('InvalidParameter', `${path} must be at least ${node.minBytes} byte${node.minBytes === 1 ? '' : 's'}, got ${b}`, path);
      if (node.maxBytes !== undefined && b > node.maxBytes) throw err('InvalidParameter', `${path} must be at most ${node.maxBytes} bytes (UTF-8; a Chinese character is 3), got ${b}`, path);
      if (node.pattern && !node.pattern.test(v)) throw err('InvalidParameter', `${path} must be ${node.patternText ?? node.pattern.source}, got ${JSON.stringify(v)}`, path);
      return v;
    }
    case 'bool':
      if (typeof v !== 'boolean') throw err('InvalidParameter', `${path} must be true or false, got ${JSON.stringify(v)}`, path);
      return v;
    case 'enum': {
      if (typeof v !== 'string' || !node.values.includes(v)) throw err('InvalidParameter', `${path} must be one of ${node.values.join(', ')}, got ${JSON.stringify(v)}`, path);
      if (node.allowed && !node.allowed.includes(v)) throw err('InvalidParameter', `${path} only allows ${node.allowed.join(', ')} here, got ${v}`, path);
      return v;
    }
    case 'array': {
      if (!Array.isArray(v)) throw err('InvalidParameter', `${path} must be a list, got ${JSON.stringify(v)}`, path);
      if (node.min !== undefined && v.length < node.min) throw err('InvalidParameter', `${path} needs at least ${node.min} item${node.min === 1 ? '' : 's'}, got ${v.length}`, path);
      if (node.max !== undefined && v.length > node.max) throw err('InvalidParameter', `${path} holds at most ${node.max} item${node.max === 1 ? '' : 's'}, got ${v.length}`, path);
      return v.map((x, i) => walk(node.of, x, join(path, i), ctx));
    }
    case 'struct':
      return walkStruct(node, v, path, ctx);
  }
}

function walkStruct(node: Extract<Node, { t: 'struct' }>, v: unknown, path: string, ctx: Ctx): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw err(path ? 'InvalidParameter' : 'InvalidRequest', `${path || 'the body'} must be a JSON object`, path || undefined);
  const raw = v as Json;
  for (const k of Object.keys(raw)) if (!(k in node.fields)) throw err('InvalidParameter', `${join(path, k)} is not a field of ${path || 'the request'}`, join(path, k));
  const out: Json = {};
  // Field by field in the seed's order: presence first, then the value, so
  // that a rule depending on an earlier field sees it already checked.
  for (const [k, child] of Object.entries(node.fields)) {
    const p = join(path, k);
    const value = raw[k];
    if (value === undefined || value === null) {
      if (child.required) throw err('MissingParameter', `${p} is required`, p);
      if (child.requiredWhen && child.requiredWhen.every((c) => holds(c, raw, ctx))) throw err('MissingParameter', `${p} is required when ${child.requiredWhen.map(describe).join(' and ')}`, p);
      continue;
    }
    const only = child.onlyWhen === undefined ? [] : [child.onlyWhen].flat();
    if (!only.every((c) => holds(c, raw, ctx))) throw err('InvalidParameter', `${p} is only allowed when ${only.map(describe).join(' and ')}`, p);
    if (child.t === 'int' && child.maxWhen && holds(child.maxWhen.when, raw, ctx) && asInt(value, p) > child.maxWhen.max) {
      throw err('InvalidParameter', `${p} must be at most ${child.maxWhen.max} when ${describe(child.maxWhen.when)}, got ${String(value)}`, p);
    }
    out[k] = walk(child, value, p, ctx);
  }
  for (const group of node.atMostOne ?? []) {
    const given = group.filter((k) => out[k] !== undefined);
    if (given.length > 1) throw err('InvalidParameter', `${given.map((k) => join(path, k)).join(' and ')}: give at most one of ${group.join(', ')}`, join(path, given[1]));
  }
  if (node.dates) checkDates(node.dates, out, path, ctx);
  return out;
}

const DAY = 86_400_000;
const dayNumber = (d: string) => Date.parse(`${d}T00:00:00Z`) / DAY;

function checkDates(rule: DateRule, v: Json, path: string, ctx: Ctx): void {
  const sp = join(path, rule.start);
  const ep = join(path, rule.end);
  const start = v[rule.start] as string | undefined;
  const end = v[rule.end] as string | undefined;
  const today = dayNumber(ctx.today);
  const valid = (d: string, p: string) => {
    const n = dayNumber(d);
    if (!Number.isFinite(n) || new Date(n * DAY).toISOString().slice(0, 10) !== d) throw err('InvalidParameter', `${p} is not a calendar date: ${d}`, p);
    return n;
  };
  if (start === undefined) return;
  const s = valid(start, sp);
  if (s < today - rule.startWithinDays) throw err('InvalidParameter', `${sp} must be within the last ${rule.startWithinDays} days (not before ${new Date((today - rule.startWithinDays) * DAY).toISOString().slice(0, 10)}), got ${start}`, sp);
  if (rule.startLatest === 'yesterday' && s >= today) throw err('InvalidParameter', `${sp} must be before today (${ctx.today}), got ${start}`, sp);
  if (end === undefined) {
    if (!rule.endOptional) throw err('MissingParameter', `${ep} is required`, ep);
    return;
  }
  const e = valid(end, ep);
  const latest = rule.endLatest === 'today' ? today : today - 1;
  if (e > latest) throw err('InvalidParameter', `${ep} must be ${rule.endLatest === 'today' ? 'today or earlier' : 'before today'} (${ctx.today}), got ${end}`, ep);
  if (rule.order === 'strict' ? e <= s : e < s) throw err('InvalidParameter', `${ep} must be ${rule.order === 'strict' ? 'after' : 'on or after'} ${rule.start} (${start}), got ${end}`, ep);
  if (rule.maxSpanDays !== undefined && e - s > rule.maxSpanDays) throw err('InvalidParameter', `${sp} to ${rule.end} spans ${e - s} days; at most ${rule.maxSpanDays}`, ep);
}

/** Tencent's clock: GMT+8, whatever the service's events.utcOffsetMinutes says. */
const VENDOR_OFFSET_MINUTES = 8 * 60;

/** Tencent's time format: "yyyy-MM-dd HH:mm:ss" in GMT+8. */
export function vendorTime(iso: string): string {
  return new Date(Date.parse(iso) + VENDOR_OFFSET_MINUTES * 60_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Today in the vendor's time zone (GMT+8). */
export const vendorToday = (nowMs: number): string => vendorDay(nowMs, VENDOR_OFFSET_MINUTES);

export interface CombineItem {
  audience_id: number;
  time_window?: number;
}

export interface AddRequest {
  account_id: number;
  name: string;
  type: (typeof AUDIENCE_TYPES)[number];
  external_audience_id?: string;
  description?: string;
  cooperated?: boolean;
  audience_spec?: {
    lookalike_spec?: { seed_audience_id: number; expand_user_count: number };
    combine_spec?: { include: CombineItem[][]; exclude?: CombineItem[][] };
    [spec: string]: unknown;
  };
  platform?: string;
}

/**
 * Checks a `custom_audiences/add` body against every rule of the seed;
 * throws the first violation as an AppError naming the field by its path
 * (`audience_spec.lookalike_spec.expand_user_count`). Returns the body with
 * integers given as strings turned into numbers.
 */
export function validateAddRequest(body: unknown, nowMs: number): AddRequest {
  const ctx: Ctx = { root: (body && typeof body === 'object' ? body : {}) as Json, today: vendorToday(nowMs) };
  const out = walk(ADD_REQUEST, body, '', ctx) as AddRequest;
  const combine = out.audience_spec?.combine_spec;
  if (combine) checkCombineSize(combine);
  return out;
}

/** A combine_spec names at most MAX_COMBINE_AUDIENCES distinct audiences, included and excluded together. */
export function checkCombineSize(combine: { include: CombineItem[][]; exclude?: CombineItem[][] }): void {
  const distinct = new Set([...combine.include.flat(), ...(combine.exclude ?? []).flat()].map((x) => x.audience_id));
  if (distinct.size > MAX_COMBINE_AUDIENCES) throw err('InvalidParameter', `audience_spec.combine_spec names ${distinct.size} audiences; at most ${MAX_COMBINE_AUDIENCES} may be combined`, 'audience_spec.combine_spec');
}

const RULE_SPEC_FIELD: Record<string, string> = { USER_ACTION: 'user_action_spec', KEYWORD: 'keyword_spec', AD: 'ad_rule_spec', LBS: 'lbs_spec' };

/** The rule of a rule audience, as the compiler reads it: `{ type, <type>_spec }` of the checked request. */
export function ruleOf(type: string, spec: NonNullable<AddRequest['audience_spec']>): RuleSpec | undefined {
  const field = RULE_SPEC_FIELD[type];
  return field ? ({ type, [field]: spec[field] } as RuleSpec) : undefined;
}

/** Where the add request keeps a USER_ACTION rule's action set. */
export const ACTION_SET_FIELD = 'audience_spec.user_action_spec.user_action_set_id';

/**
 * A rule audience's rule as the native API takes it: `{ <type>_spec: … }`,
 * the `audience_spec` of custom_audiences/add for that type, checked by the
 * same rules; refusals name the field under `path` (rule.user_action_spec.…).
 * Returns the rule as the compiler reads it: `{ type, <type>_spec }`.
 */
export function validateRuleSpec(type: 'USER_ACTION' | 'KEYWORD' | 'AD' | 'LBS', spec: unknown, nowMs: number, path = 'rule'): RuleSpec {
  const node = (ADD_REQUEST as Extract<Node, { t: 'struct' }>).fields.audience_spec;
  const ctx: Ctx = { root: { type, audience_spec: spec }, today: vendorToday(nowMs) };
  const out = walk({ ...node, required: true }, spec, path, ctx) as Record<string, unknown>;
  const field = RULE_SPEC_FIELD[type];
  if (out[field] === undefined) throw err('MissingParameter', `${path}.${field} is required for a ${type} audience`, `${path}.${field}`);
  return { type, [field]: out[field] } as RuleSpec;
}

// ---------------------------------------------------------------------------
// The neighbouring calls: get, update, delete.

const ACCOUNT_ID: Node = req({ t: 'int', min: 1 });
const AUDIENCE_ID: Node = req({ t: 'int', min: 1 });

/** The fields `custom_audiences/get` can return (and `fields` can ask for). */
export const AUDIENCE_FIELDS = [
  'audience_id', 'account_id', 'name', 'external_audience_id', 'description', 'cooperated', 'type', 'source', 'status', 'online_status',
  'error_code', 'error_message', 'user_count', 'created_time', 'last_modified_time', 'audience_spec',
] as const;

export const FILTER_FIELDS = { audience_id: ['EQUALS', 'IN'], name: ['EQUALS', 'CONTAINS'], external_audience_id: ['EQUALS'], type: ['EQUALS', 'IN'], status: ['EQUALS', 'IN'] } as const;

export const GET_QUERY: Node = {
  t: 'struct',
  fields: {
    account_id: ACCOUNT_ID,
    audience_id: { t: 'int', min: 1 },
    filtering: {
      t: 'array',
      max: 5,
      onlyWhen: { path: 'audience_id', absent: true },
      of: {
        t: 'struct',
        fields: {
          field: req({ t: 'enum', values: Object.keys(FILTER_FIELDS) }),
          operator: req({ t: 'enum', values: ['EQUALS', 'IN', 'CONTAINS'] }),
          values: req({ t: 'array', min: 1, max: 100, of: str(1, 255) }),
        },
      },
    },
    page: { t: 'int', min: 1, max: 99_999 },
    page_size: { t: 'int', min: 1, max: 100 },
    fields: { t: 'array', min: 1, max: AUDIENCE_FIELDS.length, of: { t: 'enum', values: AUDIENCE_FIELDS } },
  },
};

export const UPDATE_REQUEST: Node = {
  t: 'struct',
  // The vendor's update names the field `name`; `audience_name` is read too.
  atMostOne: [['name', 'audience_name']],
  fields: { account_id: ACCOUNT_ID, audience_id: AUDIENCE_ID, name: str(1, 32), audience_name: str(1, 32), description: str(1, 100), cooperated: { t: 'bool' } },
};

export const DELETE_REQUEST: Node = { t: 'struct', fields: { account_id: ACCOUNT_ID, audience_id: AUDIENCE_ID } };

/** Walks any of the trees above; same errors as validateAddRequest. */
export function validate<T>(node: Node, body: unknown, nowMs: number): T {
  const ctx: Ctx = { root: (body && typeof body === 'object' ? body : {}) as Json, today: vendorToday(nowMs) };
  return walk(node, body, '', ctx) as T;
}
