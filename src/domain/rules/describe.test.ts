// The one-line summaries reports show for rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRule } from './describe.js';
import type { RuleSpec } from './types.js';

const range = { start_date: '2024-03-01', end_date: '2024-03-14' };

const cases: Array<[RuleSpec, string]> = [
  [
    { type: 'USER_ACTION', user_action_spec: { user_action_set_id: 7, match_rule_type: 'URL', time_window: 30, url_match_rule: { url_matcher_group: [] } } },
    'any action in action set 7, the last 30 days',
  ],
  [
    {
      type: 'USER_ACTION',
      user_action_spec: {
        user_action_set_id: 7,
        match_rule_type: 'URL',
        time_window: 1,
        url_match_rule: { url_matcher_group: [{ url_matcher: [{ operator: 'CONTAIN', param_value: 'shop' }] }, { url_matcher: [{ operator: 'NOT_CONTAIN', param_value: '/cart' }, { operator: 'EQ', param_value: 'x' }] }] },
      },
    },
    'visits in action set 7, today, where URL contains "shop" and (URL does not contain "/cart" or URL = "x")',
  ],
  [
    {
      type: 'USER_ACTION',
      user_action_spec: {
        user_action_set_id: 9,
        match_rule_type: 'ACTION',
        time_window: 30,
        action_match_rule: { action_type: 'PURCHASE', param_matcher_group: [{ param_matcher: [{ param_name: 'price', operator: 'GT', param_value: '100' }] }] },
      },
    },
    'PURCHASE in action set 9, the last 30 days, where price > 100',
  ],
  [
    {
      type: 'USER_ACTION',
      user_action_spec: {
        user_action_set_id: 9,
        match_rule_type: 'ACTION',
        extract_type: 'AGGREGATION',
        time_window: 30,
        action_aggregation_rule: {
          action_type: 'CUSTOM',
          custom_action: 'pay',
          aggregation_group: [
            { aggregation_matcher: [{ aggregation_type: 'COUNT', count_type: 'BY_DAY', comparator: 'COMPARATOR_GE', comparison_value: 3 }] },
            { aggregation_matcher: [{ aggregation_type: 'SUM', param_name: 'amount', comparator: 'COMPARATOR_BETWEEN', comparison_min_value: 10, comparison_max_value: 20 }] },
          ],
          filter_group: [{ param_matcher: [{ param_name: 'channel', operator: 'EQ', param_value: 'app' }] }],
        },
      },
    },
    'custom action "pay" in action set 9, the last 30 days, where channel = "app"; per user: active days ≥ 3 and SUM(amount) 10–20',
  ],
  [{ type: 'KEYWORD', keyword_spec: { include_keyword: ['a', 'b', 'c', 'd', 'e'], exclude_keyword: ['x'] } }, 'searches for "a" or "b" or "c" or +2 more, not "x"'],
  [{ type: 'AD', ad_rule_spec: { rule_type: 'CONVERSION', conversion_type: ['APP_INSTALL'], start_date: '2024-03-01', campaign_id_list: [1, 2] } }, 'ad CONVERSION (APP_INSTALL) of campaign 1, 2, 2024-03-01 onwards'],
  [
    { type: 'AD', ad_rule_spec: { rule_type: 'CLICK', start_date: '2024-03-01', end_date: '2024-03-05', promoted_object_list: [{ promoted_object_type: 'PROMOTED_OBJECT_TYPE_APP_IOS', promoted_object_id: 'id1' }] } },
    'ad CLICK of APP_IOS "id1", 2024-03-01 to 2024-03-05',
  ],
  [
    { type: 'LBS', lbs_spec: { lbs_type: 'POI', poi_rule: { poi_category_id: [500], region_id: [11], day_of_week: ['SATURDAY', 'SUNDAY'], frequency: 2, date_range: range } } },
    'at POI category 500 in region 11 on SAT, SUN, on ≥ 2 days, 2024-03-01 to 2024-03-14',
  ],
  [{ type: 'LBS', lbs_spec: { lbs_type: 'CROSS_CITY', cross_city_rule: { route: ['1|2', '2|1'], date_range: range } } }, 'travelled 1→2 or 2→1 ≥ 1 times, 2024-03-01 to 2024-03-14'],
  [
    {
      type: 'LBS',
      lbs_spec: {
        lbs_type: 'CUSTOM_LOCATION',
        custom_location_rule: {
          poi_type: 'TRAVEL_IN',
          date_range: range,
          frequency_spec: { comparator: 'COMPARATOR_BETWEEN', frequency_min_value: 2, frequency_max_value: 5 },
          area_list: [1, 2, 3].map((i) => ({ area_type: 'CIRCLE' as const, circle_area: { latitude: 39.9, longitude: 116.4, radius: 1000 * i } })),
        },
      },
    },
    'travellers within 1000 m around 39.9,116.4; 2000 m around 39.9,116.4; +1 more on 2–5 days, 2024-03-01 to 2024-03-14',
  ],
];

for (const [spec, text] of cases) {
  test(`describeRule: ${text}`, () => assert.equal(describeRule(spec), text));
}
