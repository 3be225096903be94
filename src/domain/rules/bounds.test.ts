// No rule reads unbounded data: every statement the compiler makes, for
// every rule type and variant, names the account and closes the time column
// of every event table it reads between two bound instants, and those
// instants lie within the rule's own window, never beyond a year back or
// after now. A rule that could scan all history (or every account) is never
// sent to an engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_KINDS, TIME_COLUMN, type EventEngine } from '../../infra/events/schema.js';
import { compileRule } from './compile.js';
import type { RuleSpec } from './types.js';

/** A bound value as the compiler writes it: a placeholder, maybe in a CAST. */
const PLACEHOLDER = String.raw`(CAST\()?(\?|\$\d+)`;
const NOW = Date.parse('2026-11-21T04:00:00Z');
const day = (offset: number) => new Date(NOW + 8 * 3_600_000 + offset * 86_400_000).toISOString().slice(0, 10);

const SPECS: Array<[string, RuleSpec]> = [
  ['url', { type: 'USER_ACTION', user_action_spec: { user_action_set_id: 1, match_rule_type: 'URL', time_window: 30, url_match_rule: { url_matcher_group: [] } } } as RuleSpec],
  ['filter', { type: 'USER_ACTION', user_action_spec: { user_action_set_id: 1, match_rule_type: 'ACTION', extract_type: 'FILTER', time_window: 180, action_match_rule: { action_type: 'PURCHASE' } } } as RuleSpec],
  [
    'aggregation',
    {
      type: 'USER_ACTION',
      user_action_spec: {
        user_action_set_id: 1,
        match_rule_type: 'ACTION',
        extract_type: 'AGGREGATION',
        time_window: 90,
        action_aggregation_rule: { action_type: 'PURCHASE', aggregation_group: [{ aggregation_matcher: [{ aggregation_type: 'COUNT', count_type: 'BY_DAY', comparator: 'COMPARATOR_GE', comparison_value: 3 }] }] },
      },
    } as RuleSpec,
  ],
  ['keyword', { type: 'KEYWORD', keyword_spec: { include_keyword: ['phone'] } } as RuleSpec],
  ['ad without end date', { type: 'AD', ad_rule_spec: { rule_type: 'CLICK', start_date: day(-89) } } as RuleSpec],
  ['ad with end date', { type: 'AD', ad_rule_spec: { rule_type: 'CONVERSION', start_date: day(-30), end_date: day(-1) } } as RuleSpec],
  ['poi', { type: 'LBS', lbs_spec: { lbs_type: 'POI', poi_rule: { poi_category_id: [1], date_range: { start_date: day(-364), end_date: day(0) } } } } as RuleSpec],
  ['cross city', { type: 'LBS', lbs_spec: { lbs_type: 'CROSS_CITY', cross_city_rule: { route: ['110000|310000'], date_range: { start_date: day(-100), end_date: day(0) } } } } as RuleSpec],
  [
    'custom location',
    {
      type: 'LBS',
      lbs_spec: {
        lbs_type: 'CUSTOM_LOCATION',
        custom_location_rule: {
          poi_type: 'TRAVEL_IN',
          date_range: { start_date: day(-60), end_date: day(-1) },
          area_list: [{ area_type: 'CIRCLE', circle_area: { longitude: 179.9, latitude: 10, radius: 5000 } }],
        },
      },
    } as RuleSpec,
  ],
];

for (const engine of ['duckdb', 'postgres'] as EventEngine[]) {
  for (const [name, spec] of SPECS) {
    test(`${engine}: a ${name} rule reads only its account, between two instants within a year of now`, () => {
      const q = compileRule(spec, { engine, accountId: '1001', nowMs: NOW, utcOffsetMinutes: 480 });
      const tables = EVENT_KINDS.filter((k) => new RegExp(`\\b${k}\\b`).test(q.sql));
      assert.ok(tables.length > 0, `${name}: reads an event table`);
      for (const kind of tables) {
        const col = TIME_COLUMN[kind];
        // Each mention of the table is followed, in its WHERE, by the account and both time bounds.
        const reads = q.sql.split(new RegExp(`\\b${kind}\\b`)).slice(1);
        for (const rest of reads) {
          assert.match(rest, new RegExp(`account_id = ${PLACEHOLDER}`), `${name}: ${kind} read for one account`);
          assert.match(rest, new RegExp(`${col} >= ${PLACEHOLDER}`), `${name}: ${kind} read from a lower bound`);
          assert.match(rest, new RegExp(`${col} < ${PLACEHOLDER}`), `${name}: ${kind} read to an upper bound`);
        }
      }
      const instants = q.params.filter((p): p is string => typeof p === 'string' && /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}/.test(p)).map((p) => Date.parse(`${p.replace(' ', 'T').slice(0, 19)}Z`));
      assert.ok(instants.length >= 2, `${name}: the bounds are bound parameters`);
      for (const t of instants) {
        assert.ok(t >= NOW - 366 * 86_400_000, `${name}: no bound before a year ago (${new Date(t).toISOString()})`);
        assert.ok(t <= NOW, `${name}: no bound after now (${new Date(t).toISOString()})`);
      }
      assert.ok(q.params.includes('1001'), `${name}: the account is a bound parameter`);
    });
  }
}
