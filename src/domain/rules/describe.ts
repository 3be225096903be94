// describeRule: one line saying what a rule selects, for reports, audience
// listings and refresh logs, where the raw spec is too long to read. Values
// are quoted as given; long lists are cut with a count of what was left out.
import type { AggregationMatcher, ParamMatcher, RuleSpec, UrlMatcher } from './types.js';

const OP: Record<string, string> = { LT: '<', GT: '>', EQ: '=', NE: '≠', CONTAIN: 'contains', NOT_CONTAIN: 'does not contain' };
const CMP: Record<string, string> = { COMPARATOR_GE: '≥', COMPARATOR_LE: '≤', COMPARATOR_EQ: '=' };

/** At most `n` items, then "+k more". */
function list<T>(items: readonly T[], show: (x: T) => string, sep: string, n = 3): string {
  const shown = items.slice(0, n).map(show).join(sep);
  return items.length > n ? `${shown}${sep}+${items.length - n} more` : shown;
}

const q = (s: string) => JSON.stringify(s);
const days = (n: number) => (n <= 1 ? 'today' : `the last ${n} days`);
const range = (start: string, end: string | undefined) => (end ? `${start} to ${end}` : `${start} onwards`);
/** AND of groups, OR within a group; single-item groups need no brackets. */
function andOr<M>(gs: ReadonlyArray<ReadonlyArray<M>>, one: (m: M) => string): string {
  const parts = gs.filter((g) => g.length > 0).map((g) => (g.length === 1 ? one(g[0]) : `(${list(g, one, ' or ')})`));
  return list(parts, (x) => x, ' and ');
}

// LT and GT compare numbers, so their value is shown bare.
const param = (m: ParamMatcher) => `${m.param_name} ${OP[m.operator] ?? m.operator} ${m.operator === 'LT' || m.operator === 'GT' ? m.param_value : q(m.param_value)}`;
const url = (m: UrlMatcher) => `URL ${OP[m.operator] ?? m.operator} ${q(m.param_value)}`;
const action = (r: { action_type: string; custom_action?: string }) => (r.action_type === 'CUSTOM' ? `custom action ${q(r.custom_action ?? '')}` : r.action_type);

function agg(m: AggregationMatcher): string {
  const what = m.aggregation_type === 'COUNT' ? (m.count_type === 'BY_DAY' ? 'active days' : 'actions') : `${m.aggregation_type}(${m.param_name ?? ''})`;
  if (m.comparator === 'COMPARATOR_BETWEEN') return `${what} ${m.comparison_min_value}–${m.comparison_max_value}`;
  return `${what} ${CMP[m.comparator] ?? m.comparator} ${m.comparison_value}`;
}

/** A one-line summary of a rule, e.g. `PURCHASE in action set 7, the last 30 days, where price > "100"`. */
export function describeRule(spec: RuleSpec): string {
  switch (spec.type) {
    case 'USER_ACTION': {
      const s = spec.user_action_spec;
      const where = `in action set ${s.user_action_set_id}, ${days(s.time_window)}`;
      if (s.match_rule_type === 'URL') {
        const gs = (s.url_match_rule?.url_matcher_group ?? []).map((g) => g.url_matcher);
        const cond = andOr(gs, url);
        return cond ? `visits ${where}, where ${cond}` : `any action ${where}`;
      }
      if (s.extract_type === 'AGGREGATION' && s.action_aggregation_rule) {
        const r = s.action_aggregation_rule;
        const filter = andOr((r.filter_group ?? []).map((g) => g.param_matcher), param);
        const having = andOr(r.aggregation_group.map((g) => g.aggregation_matcher), agg);
        return `${action(r)} ${where}${filter ? `, where ${filter}` : ''}; per user: ${having}`;
      }
      const r = s.action_match_rule;
      if (!r) return `actions ${where}`;
      const cond = andOr((r.param_matcher_group ?? []).map((g) => g.param_matcher), param);
      return `${action(r)} ${where}${cond ? `, where ${cond}` : ''}`;
    }
    case 'KEYWORD': {
      const s = spec.keyword_spec;
      const ex = s.exclude_keyword?.length ? `, not ${list(s.exclude_keyword, q, ' or ')}` : '';
      return `searches for ${list(s.include_keyword, q, ' or ')}${ex}`;
    }
    case 'AD': {
      const s = spec.ad_rule_spec;
      const kind = s.rule_type === 'CONVERSION' && s.conversion_type?.length ? `CONVERSION (${list(s.conversion_type, (x) => x, ', ')})` : s.rule_type;
      const scope = s.campaign_id_list?.length
        ? ` of campaign ${list(s.campaign_id_list, String, ', ')}`
        : s.adgroup_id_list?.length
          ? ` of ad group ${list(s.adgroup_id_list, String, ', ')}`
          : s.promoted_object_list?.length
            ? ` of ${list(s.promoted_object_list, (o) => `${o.promoted_object_type.replace('PROMOTED_OBJECT_TYPE_', '')} ${q(o.promoted_object_id)}`, ', ')}`
            : '';
      return `ad ${kind}${scope}, ${range(s.start_date, s.end_date)}`;
    }
    case 'LBS': {
      const s = spec.lbs_spec;
      if (s.lbs_type === 'POI' && s.poi_rule) {
        const r = s.poi_rule;
        const regions = r.region_id?.length ? ` in region ${list(r.region_id, String, ', ')}` : '';
        const dow = r.day_of_week?.length ? ` on ${list(r.day_of_week, (d) => d.slice(0, 3), ', ', 7)},` : '';
        return `at POI category ${list(r.poi_category_id, String, ', ')}${regions}${dow} on ≥ ${r.frequency ?? 1} days, ${range(r.date_range.start_date, r.date_range.end_date)}`;
      }
      if (s.lbs_type === 'CROSS_CITY' && s.cross_city_rule) {
        const r = s.cross_city_rule;
        return `travelled ${list(r.route, (x) => x.replace('|', '→'), ' or ')} ≥ ${r.frequency ?? 1} times, ${range(r.date_range.start_date, r.date_range.end_date)}`;
      }
      if (s.lbs_type === 'CUSTOM_LOCATION' && s.custom_location_rule) {
        const r = s.custom_location_rule;
        const f = r.frequency_spec;
        const freq = f?.frequency_max_value !== undefined ? `${f.frequency_min_value ?? 1}–${f.frequency_max_value}` : `≥ ${f?.frequency_min_value ?? 1}`;
        const circles = list(r.area_list, (a) => (a.circle_area ? `${a.circle_area.radius} m around ${a.circle_area.latitude},${a.circle_area.longitude}` : a.area_type), '; ', 2);
        return `${r.poi_type === 'TRAVEL_IN' ? 'travellers' : 'anyone'} within ${circles} on ${freq} days, ${range(r.date_range.start_date, r.date_range.end_date)}`;
      }
      return `LBS ${s.lbs_type}`;
    }
  }
}
