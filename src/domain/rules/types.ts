// The rule specs as Tencent's `custom_audiences/add` accepts them, after
// validateAddRequest (src/http/dialects/tencent-ads/audience-rules.ts): the
// compiler trusts every limit checked there and reads these shapes only.
import type { EventEngine } from '../../infra/events/schema.js';

export type Operator = 'LT' | 'GT' | 'EQ' | 'NE' | 'CONTAIN' | 'NOT_CONTAIN';
export type UrlOperator = 'EQ' | 'NE' | 'CONTAIN' | 'NOT_CONTAIN';
export type Comparator = 'COMPARATOR_GE' | 'COMPARATOR_LE' | 'COMPARATOR_BETWEEN' | 'COMPARATOR_EQ';

export interface ParamMatcher {
  param_name: string;
  param_value: string;
  operator: Operator;
}

export interface UrlMatcher {
  param_value: string;
  operator: UrlOperator;
}

export interface AggregationMatcher {
  aggregation_type: 'SUM' | 'MAX' | 'MIN' | 'COUNT';
  count_type?: 'BY_TIMES' | 'BY_DAY';
  param_name?: string;
  comparator: Comparator;
  comparison_value?: number;
  comparison_min_value?: number;
  comparison_max_value?: number;
}

export interface UserActionSpec {
  user_action_set_id: number;
  match_rule_type: 'URL' | 'ACTION';
  extract_type?: 'FILTER' | 'AGGREGATION';
  time_window: number;
  url_match_rule?: { url_matcher_group: Array<{ url_matcher: UrlMatcher[] }> };
  action_match_rule?: {
    action_type: string;
    custom_action?: string;
    param_matcher_group?: Array<{ param_matcher: ParamMatcher[] }>;
  };
  action_aggregation_rule?: {
    action_type: string;
    custom_action?: string;
    aggregation_group: Array<{ aggregation_matcher: AggregationMatcher[] }>;
    filter_group?: Array<{ param_matcher: ParamMatcher[] }>;
  };
}

export interface KeywordSpec {
  include_keyword: string[];
  exclude_keyword?: string[];
}

export type AdRuleType = 'EXPOSURE' | 'CLICK' | 'CONVERSION';

export interface AdRuleSpec {
  rule_type: AdRuleType;
  conversion_type?: string[];
  start_date: string;
  end_date?: string;
  campaign_id_list?: number[];
  promoted_object_list?: Array<{ promoted_object_type: string; promoted_object_id: string }>;
  adgroup_id_list?: number[];
}

export interface DateRange {
  start_date: string;
  end_date: string;
}

export type DayOfWeek = 'MONDAY' | 'TUESDAY' | 'WEDNESDAY' | 'THURSDAY' | 'FRIDAY' | 'SATURDAY' | 'SUNDAY';

export interface LbsSpec {
  lbs_type: 'POI' | 'CROSS_CITY' | 'CUSTOM_LOCATION';
  cross_city_rule?: { route: string[]; date_range: DateRange; frequency?: number };
  poi_rule?: {
    region_id?: number[];
    poi_category_id: number[];
    date_range: DateRange;
    day_of_week?: DayOfWeek[];
    frequency?: number;
  };
  custom_location_rule?: {
    poi_type: 'ALL' | 'TRAVEL_IN';
    date_range: DateRange;
    frequency_spec?: { comparator?: Comparator; frequency_min_value?: number; frequency_max_value?: number };
    area_list: Array<{ area_type: 'CIRCLE'; circle_area?: { longitude: number; latitude: number; radius: number } }>;
  };
}

/** One rule, tagged by the request's `type`: `{ type, ...audience_spec }` of a validated request. */
export type RuleSpec =
  | { type: 'USER_ACTION'; user_action_spec: UserActionSpec }
  | { type: 'KEYWORD'; keyword_spec: KeywordSpec }
  | { type: 'AD'; ad_rule_spec: AdRuleSpec }
  | { type: 'LBS'; lbs_spec: LbsSpec };

export type RuleType = RuleSpec['type'];

export interface CompileContext {
  engine: EventEngine;
  /** The account whose events are read; no other account's row is ever seen. */
  accountId: string | number;
  /** The moment of the run: "today" and every open window end here. */
  nowMs: number;
  /** The vendor's day boundaries: 480 is GMT+8, Tencent's. */
  utcOffsetMinutes: number;
  /** How far back a KEYWORD rule looks, in vendor days including today (the seed gives it no window). */
  keywordWindowDays?: number;
}

/** One statement returning the distinct `user_id`s of the rule. */
export interface CompiledRule {
  sql: string;
  params: Array<string | number>;
}
