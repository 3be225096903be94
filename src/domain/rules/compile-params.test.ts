// Property: whatever a spec holds, none of its values reaches the SQL text.
// Random specs of every rule type, full of quotes, wildcards, placeholders
// and comment marks, are compiled for both engines; the text must hold none
// of the values and no string literal but the fixed number pattern, every
// free-text value must be among the bound parameters, and the statement must
// run (the parameter count and types line up) on an empty store of each
// engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule } from './compile.js';
import { describeRule } from './describe.js';
import { bothEngines } from './rules.fixtures.js';
import { NUMBER_PATTERN } from './sql.js';
import type { AggregationMatcher, ParamMatcher, RuleSpec, UrlMatcher } from './types.js';
import { seededRandom } from '../../../test/support/random.js';


const JUNK = ["'", "''", '"', '%', '_', '\\', '$1', '$2::text', '?', ';', '--', '/*', '*/', ')', '(', ' OR 1=1', '手机', '\n', '\t', 'E\'\\x41\''];

function generator(seed: number) {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const many = <T>(lo: number, hi: number, f: () => T): T[] => Array.from({ length: int(lo, hi) }, f);
  // "zq" marks a free value: it is in no word the compiler writes.
  const text = () => `zq${int(0, 1e6).toString(36)}${many(0, 3, () => pick(JUNK)).join('')}`;
  const id = () => int(1_000_000, 2_147_483_647);
  const number = () => `${int(1_000_000, 9_999_999)}.${int(1, 9)}`;
  const date = (d: number) => new Date(Date.UTC(2024, 2, 15) - d * 86_400_000).toISOString().slice(0, 10);
  const op = () => pick(['EQ', 'NE', 'CONTAIN', 'NOT_CONTAIN'] as const);
  const paramMatcher = (): ParamMatcher => {
    const o = pick(['LT', 'GT', 'EQ', 'NE', 'CONTAIN', 'NOT_CONTAIN'] as const);
    return { param_name: text(), operator: o, param_value: o === 'LT' || o === 'GT' ? number() : text() };
  };
  const aggMatcher = (): AggregationMatcher => {
    const type = pick(['SUM', 'MAX', 'MIN', 'COUNT'] as const);
    const cmp = pick(['COMPARATOR_GE', 'COMPARATOR_LE', 'COMPARATOR_EQ', 'COMPARATOR_BETWEEN'] as const);
    return {
      aggregation_type: type,
      count_type: type === 'COUNT' ? pick(['BY_TIMES', 'BY_DAY'] as const) : undefined,
      param_name: type === 'COUNT' ? undefined : text(),
      comparator: cmp,
      ...(cmp === 'COMPARATOR_BETWEEN' ? { comparison_min_value: id(), comparison_max_value: id() } : { comparison_value: id() }),
    };
  };
  const circle = () => ({ latitude: Number((rand() * 180 - 90).toFixed(6)), longitude: Number((rand() * 360 - 180).toFixed(6)), radius: int(100, 5000) });

  return (): RuleSpec => {
    switch (int(0, 8)) {
      case 0:
        return {
          type: 'USER_ACTION',
          user_action_spec: { user_action_set_id: id(), match_rule_type: 'URL', time_window: int(0, 180), url_match_rule: { url_matcher_group: many(0, 4, () => ({ url_matcher: many(1, 4, (): UrlMatcher => ({ operator: op(), param_value: text() })) })) } },
        };
      case 1: {
        const custom = rand() < 0.5;
        return {
          type: 'USER_ACTION',
          user_action_spec: {
            user_action_set_id: id(),
            match_rule_type: 'ACTION',
            time_window: int(0, 180),
            action_match_rule: { action_type: custom ? 'CUSTOM' : 'PURCHASE', custom_action: custom ? text() : undefined, param_matcher_group: many(0, 4, () => ({ param_matcher: many(1, 4, paramMatcher) })) },
          },
        };
      }
      case 2:
        return {
          type: 'USER_ACTION',
          user_action_spec: {
            user_action_set_id: id(),
            match_rule_type: 'ACTION',
            extract_type: 'AGGREGATION',
            time_window: int(0, 90),
            action_aggregation_rule: {
              action_type: 'CUSTOM',
              custom_action: text(),
              aggregation_group: many(1, 4, () => ({ aggregation_matcher: [aggMatcher()] })),
              filter_group: rand() < 0.3 ? undefined : many(1, 16, () => ({ param_matcher: [paramMatcher()] })),
            },
          },
        };
      case 3:
        return { type: 'KEYWORD', keyword_spec: { include_keyword: many(1, 100, text), exclude_keyword: rand() < 0.3 ? undefined : many(0, 20, text) } };
      case 4: {
        const list = int(0, 3);
        const type = pick(['EXPOSURE', 'CLICK', 'CONVERSION'] as const);
        return {
          type: 'AD',
          ad_rule_spec: {
            rule_type: type,
            conversion_type: type === 'CONVERSION' ? many(0, 5, () => pick(['APP_START_DOWNLOAD', 'APP_FINISH_DOWNLOAD', 'APP_INSTALL', 'APP_ACTIVATE'])) : undefined,
            start_date: date(int(1, 90)),
            end_date: rand() < 0.5 ? undefined : date(int(0, 1)),
            campaign_id_list: list === 1 ? many(1, 75, id) : undefined,
            adgroup_id_list: list === 2 ? many(1, 75, id) : undefined,
            promoted_object_list: list === 3 ? many(1, 75, () => ({ promoted_object_type: 'PROMOTED_OBJECT_TYPE_APP_IOS', promoted_object_id: text() })) : undefined,
          },
        };
      }
      case 5:
        return {
          type: 'LBS',
          lbs_spec: {
            lbs_type: 'POI',
            poi_rule: {
              poi_category_id: many(1, 10, id),
              region_id: rand() < 0.5 ? undefined : many(1, 50, id),
              day_of_week: rand() < 0.5 ? undefined : many(1, 7, () => pick(['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const)),
              frequency: rand() < 0.5 ? undefined : id(),
              date_range: { start_date: date(int(2, 365)), end_date: date(int(0, 1)) },
            },
          },
        };
      case 6:
        return {
          type: 'LBS',
          lbs_spec: { lbs_type: 'CROSS_CITY', cross_city_rule: { route: many(1, 10, () => `${id()}|${id()}`), frequency: rand() < 0.5 ? undefined : id(), date_range: { start_date: date(int(2, 365)), end_date: date(int(0, 1)) } } },
        };
      default: {
        const min = int(1, 100);
        return {
          type: 'LBS',
          lbs_spec: {
            lbs_type: 'CUSTOM_LOCATION',
            custom_location_rule: {
              poi_type: pick(['ALL', 'TRAVEL_IN'] as const),
              date_range: { start_date: date(int(2, 60)), end_date: date(1) },
              frequency_spec: rand() < 0.3 ? undefined : { comparator: 'COMPARATOR_BETWEEN', frequency_min_value: min, frequency_max_value: int(min, 100) },
              area_list: many(1, 20, () => ({ area_type: 'CIRCLE' as const, circle_area: circle() })),
            },
          },
        };
      }
    }
  };
}

/** The values of a spec a user chose: every free string, id, coordinate and comparison value. */
function valuesOf(v: unknown, out: Array<string | number> = []): Array<string | number> {
  if (typeof v === 'string' && !/^[A-Z_]+$/.test(v)) out.push(v);
  else if (typeof v === 'number' && (!Number.isInteger(v) || Math.abs(v) >= 1_000_000)) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => valuesOf(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => valuesOf(x, out));
  return out;
}

const dbOf = bothEngines({ actions: [], ads: [], pings: [] }, '1');

const NOW = Date.UTC(2024, 2, 15, 4);

for (const engine of ['duckdb', 'postgres'] as const) {
  test(`property (${engine}): no spec value is ever in the SQL text, and the statement runs`, { timeout: 120_000 }, async (t) => {
    const db = dbOf(engine, t);
    if (!db) return;
    const next = generator(engine === 'duckdb' ? 1 : 2);
    for (let i = 0; i < 300; i++) {
      const spec = next();
      const rule = compileRule(spec, { engine, accountId: `zq'acct${i}`, nowMs: NOW, utcOffsetMinutes: 480 });
      const text = rule.sql.split(`'${NUMBER_PATTERN}'`).join('').split(`'^${NUMBER_PATTERN}$'`).join('');
      assert.equal(text.includes("'"), false, `a string literal in ${rule.sql}`);
      assert.equal(text.includes('"'), false, `a quoted identifier in ${rule.sql}`);
      assert.equal(rule.sql.includes('acct'), false, 'the account is a parameter');
      for (const v of valuesOf(spec)) {
        assert.equal(rule.sql.includes(String(v)), false, `${JSON.stringify(v)} of ${JSON.stringify(spec)} is in the text: ${rule.sql}`);
        if (typeof v === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(v) && !/^\d+\|\d+$/.test(v)) assert.ok(rule.params.includes(v) || rule.params.includes(Number(v)), `${JSON.stringify(v)} is not bound`);
      }
      const placeholders = engine === 'duckdb' ? text.split('?').length - 1 : new Set(text.match(/\$\d+/g) ?? []).size;
      assert.equal(placeholders, rule.params.length, rule.sql);
      assert.deepEqual(await db.users(rule), [], `${rule.sql} ${JSON.stringify(rule.params)}`);
      assert.equal(typeof describeRule(spec), 'string');
    }
  });
}
