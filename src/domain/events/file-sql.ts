// The check of events in a file, as one DuckDB SELECT (the stageSql of a
// BulkPlan): the engine reads the file (CSV, NDJSON or Parquet) and every
// row leaves it typed, or with the first field it fails and the reason. The
// rules and their order are validate.ts's, in SQL, with the reasons of
// fields.ts, so a row refused here reads like an event refused in a batch.
//
// Formats:
// - CSV: a header row naming the fields (the id fields as columns, e.g.
//   hash_phone, phone); action_param as JSON text. Every cell is read as
//   text; the reader's own refusals (a wrong number of cells, an unclosed
//   quote) are kept with their line.
// - NDJSON: one event per line, shaped as in a batch (a user_id object).
//   Read as lines of text and parsed here, so a line that is not JSON is a
//   refusal with its line number, not the end of the load.
// - Parquet: columns as in CSV, of any type; a MAP or STRUCT action_param is
//   taken as its JSON.
// A file row has no default time: action_time is required (a batch takes
// the arrival time when it is missing, as the vendor does).
import type { EventKind } from '../../infra/events/schema.js';
import {
  ACTION_TYPES,
  AD_EVENT_TYPES,
  CONVERSION_TYPES,
  EVENT_FIELDS,
  LIMITS,
  PROMOTED_OBJECT_TYPES,
  REASONS,
  USER_ID_FIELDS,
  WECHAT_APP_ID_FIELD,
} from './fields.js';

export type FileFormat = 'csv' | 'ndjson' | 'parquet';

export interface FileSpec {
  kind: EventKind;
  format: FileFormat;
  path: string;
  gzip: boolean;
  /** CSV and Parquet: the file's columns and their DuckDB types (from a DESCRIBE). NDJSON: the user_id keys found in the file. */
  columns: ReadonlyArray<{ name: string; type: string }>;
  now: number;
  utcOffsetMinutes: number;
  wechatSet: boolean;
}

export const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const list = (xs: readonly string[]) => `(${xs.map(lit).join(', ')})`;

/** The reader of a CSV file: every cell as text, the reader's refusals kept in ev_rejects. */
export function csvReader(path: string, names: readonly string[], gzip: boolean): string {
  const cols = `{${names.map((n) => `${lit(n)}: 'VARCHAR'`).join(', ')}}`;
  return `read_csv(${lit(path)}, header = true, columns = ${cols}, auto_detect = false, delim = ',', quote = '"', escape = '"', store_rejects = true, rejects_table = 'ev_rejects', rejects_scan = 'ev_reject_scans'${gzip ? ", compression = 'gzip'" : ''}) WITH ORDINALITY`;
}

/** The reader of an NDJSON file: each line as one text value, numbered from 1. */
export function ndjsonReader(path: string, gzip: boolean): string {
  // The delimiter is a control character, which JSON text never holds raw.
  return `read_csv(${lit(path)}, columns = {'j': 'VARCHAR'}, header = false, delim = '\u0001', quote = '', escape = '', auto_detect = false, strict_mode = false${gzip ? ", compression = 'gzip'" : ''}) WITH ORDINALITY`;
}

export function parquetReader(path: string): string {
  return `read_parquet(${lit(path)}, file_row_number = true)`;
}

/** The id fields a file names, in order: CSV/Parquet columns, NDJSON user_id keys. */
export function idFieldsOf(spec: Pick<FileSpec, 'columns'>): string[] {
  return spec.columns.map((c) => c.name).filter((n) => USER_ID_FIELDS.has(n));
}

/** The CSV or Parquet columns that are neither a field of the kind, nor an id field, nor wechat_app_id. */
export function unknownColumns(kind: EventKind, columns: ReadonlyArray<{ name: string }>): string[] {
  return columns.map((c) => c.name).filter((n) => !EVENT_FIELDS[kind].includes(n) && !USER_ID_FIELDS.has(n) && n !== WECHAT_APP_ID_FIELD);
}

interface Check {
  field: string;
  bad: string;
  reason: string;
}

const bytesBad = (e: string, min: number, max: number) => `(strlen(${e}) < ${min} OR strlen(${e}) > ${max})`;

/** The stage SELECT for a file (see BulkPlan.stageSql). */
export function stageSql(spec: FileSpec): string {
  const { kind, format } = spec;
  const fields = EVENT_FIELDS[kind];
  const ids = idFieldsOf(spec);
  const ndjson = format === 'ndjson';
  const has = (n: string) => ndjson || spec.columns.some((c) => c.name === n);

  // Level 1: the reader, every field as text (r_<field>), the ids as id_<i>, and for NDJSON the JSON type of each field (j_<field>).
  const l1: string[] = [];
  let from: string;
  if (ndjson) {
    from = `(SELECT ordinality AS line, try_cast(j AS JSON) AS js, j FROM ${ndjsonReader(spec.path, spec.gzip)} WHERE j IS NOT NULL AND trim(j) <> '')`;
    l1.push('line');
    for (const f of fields) l1.push(`nullif(js ->> ${lit(`$.${f}`)}, '') AS r_${f}`, `json_type(js, ${lit(`$.${f}`)}) AS j_${f}`);
    ids.forEach((f, i) => l1.push(`nullif(js ->> ${lit(`$.user_id.${f}`)}, '') AS id_${i}`));
    l1.push(`nullif(js ->> ${lit(`$.user_id.${WECHAT_APP_ID_FIELD}`)}, '') AS r_app`);
    const allowed = list(['user_id', ...fields]);
    const idKeys = list([...USER_ID_FIELDS.keys(), WECHAT_APP_ID_FIELD]);
    // What only a JSON line can get wrong, in validate.ts's order: not an object, a field of no kind.
    l1.push(`CASE
      WHEN js IS NULL OR json_type(js) <> 'OBJECT' THEN ${lit(`\t${REASONS.notObject}`)}
      WHEN len(list_filter(json_keys(js), k -> k NOT IN ${allowed})) > 0 THEN list_filter(json_keys(js), k -> k NOT IN ${allowed})[1] || ${lit(`\t${REASONS.unknownField}`)}
    END AS pre_bad`);
    // user_id's own faults come after the data fields, as in a batch.
    l1.push(`CASE
      WHEN json_type(js, '$.user_id') IS NOT NULL AND json_type(js, '$.user_id') NOT IN ('OBJECT', 'NULL') THEN ${lit(`user_id\t${REASONS.userIdObject}`)}
      WHEN len(list_filter(json_keys(js, '$.user_id'), k -> k NOT IN ${idKeys})) > 0 THEN 'user_id.' || list_filter(json_keys(js, '$.user_id'), k -> k NOT IN ${idKeys})[1] || ${lit(`\t${REASONS.unknownField}`)}
      WHEN len(list_filter(json_keys(js, '$.user_id'), k -> k <> ${lit(WECHAT_APP_ID_FIELD)} AND json_type(js, '$.user_id.' || k) NOT IN ('VARCHAR', 'NULL'))) > 0
        THEN 'user_id.' || list_filter(json_keys(js, '$.user_id'), k -> k <> ${lit(WECHAT_APP_ID_FIELD)} AND json_type(js, '$.user_id.' || k) NOT IN ('VARCHAR', 'NULL'))[1] || ${lit(`\t${REASONS.userIdValue}`)}
    END AS id_bad`);
  } else {
    const parquet = format === 'parquet';
    from = parquet ? parquetReader(spec.path) : csvReader(spec.path, spec.columns.map((c) => c.name), spec.gzip);
    l1.push(parquet ? 'file_row_number + 1 AS line' : 'ordinality + 1 AS line');
    const text = (n: string) => {
      const col = spec.columns.find((c) => c.name === n);
      if (!col) return 'NULL::VARCHAR';
      if (parquet && n === 'action_param' && /^(MAP|STRUCT|JSON)/.test(col.type)) return `CAST(to_json(${ident(n)}) AS VARCHAR)`;
      return parquet ? `CAST(${ident(n)} AS VARCHAR)` : ident(n);
    };
    for (const f of fields) l1.push(`nullif(${text(f)}, '') AS r_${f}`, `NULL::VARCHAR AS j_${f}`);
    ids.forEach((f, i) => l1.push(`nullif(${text(f)}, '') AS id_${i}`));
    l1.push(`nullif(${has(WECHAT_APP_ID_FIELD) ? text(WECHAT_APP_ID_FIELD) : 'NULL::VARCHAR'}, '') AS r_app`, 'NULL::VARCHAR AS pre_bad', 'NULL::VARCHAR AS id_bad');
  }

  // Level 2: typed values (t_<field>) beside the text.
  const off = Math.trunc(spec.utcOffsetMinutes);
  const time = (r: string) => `CASE
    WHEN regexp_full_match(${r}, '[0-9]{1,10}') THEN CASE WHEN ${r}::BIGINT <= ${LIMITS.maxSeconds} THEN make_timestamp(${r}::BIGINT * 1000000) END
    WHEN regexp_full_match(${r}, '\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?') THEN try_cast(${r} AS TIMESTAMP) - INTERVAL '${off} minutes'
    WHEN regexp_full_match(${r}, '\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?(Z|[+-]\\d{2}(:?\\d{2})?)') THEN timezone('UTC', try_cast(${r} AS TIMESTAMPTZ))
  END`;
  const posId = (r: string) => `CASE WHEN regexp_full_match(${r}, '[0-9]{1,16}') THEN try_cast(${r} AS BIGINT) END`;
  const num = (r: string) => `CASE WHEN regexp_full_match(${r}, '[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?') THEN try_cast(${r} AS DOUBLE) END`;
  const tf = kind === 'user_actions' ? 'action_time' : kind === 'ad_events' ? 'event_time' : 'ping_time';
  const l2: string[] = ['*', `${time(`r_${tf}`)} AS t_${tf}`];
  if (kind === 'user_actions') {
    l2.push(`CASE WHEN r_action_param IS NOT NULL THEN try_cast(try_cast(r_action_param AS JSON) AS MAP(VARCHAR, JSON)) END AS pm`);
  } else if (kind === 'ad_events') {
    l2.push(`${posId('r_campaign_id')} AS t_campaign_id`, `${posId('r_adgroup_id')} AS t_adgroup_id`);
  } else {
    l2.push(`${num('r_latitude')} AS t_latitude`, `${num('r_longitude')} AS t_longitude`);
    for (const f of ['region_id', 'city_code', 'poi_category']) l2.push(`${posId(`r_${f}`)} AS t_${f}`);
  }

  // Level 3: the checks in validate.ts's order; the first that fails names the row's field and reason.
  const latest = `make_timestamp(${Math.trunc(spec.now + LIMITS.futureSlackMs)}::BIGINT * 1000)`;
  const notString = (f: string) => (ndjson ? `(j_${f} IS NOT NULL AND j_${f} NOT IN ('VARCHAR', 'NULL'))` : 'false');
  const checks: Check[] = [];
  const timeChecks = (f: string) => {
    checks.push({ field: f, bad: `r_${f} IS NULL`, reason: REASONS.required });
    checks.push({ field: f, bad: `t_${f} IS NULL OR t_${f} < make_timestamp(0) OR t_${f} > make_timestamp(${LIMITS.maxSeconds}::BIGINT * 1000000)`, reason: REASONS.time });
    checks.push({ field: f, bad: `t_${f} > ${latest}`, reason: REASONS.future });
  };
  const strChecks = (f: string, min: number, max: number, required?: string) => {
    if (required) checks.push({ field: f, bad: `r_${f} IS NULL AND (${required})`, reason: REASONS.required });
    checks.push({ field: f, bad: `r_${f} IS NOT NULL AND (${notString(f)} OR ${bytesBad(`r_${f}`, min, max)})`, reason: REASONS.bytes(min, max) });
  };
  const enumChecks = (f: string, values: readonly string[], what: string, required?: string) => {
    if (required) checks.push({ field: f, bad: `r_${f} IS NULL AND (${required})`, reason: REASONS.required });
    checks.push({ field: f, bad: `r_${f} IS NOT NULL AND r_${f} NOT IN ${list(values)}`, reason: REASONS.enumOf(what) });
  };
  const idChecks = (f: string) => checks.push({ field: f, bad: `r_${f} IS NOT NULL AND (t_${f} IS NULL OR t_${f} < 1 OR t_${f} > ${LIMITS.maxId})`, reason: REASONS.positiveId });

  let data: string[];
  if (kind === 'user_actions') {
    timeChecks('action_time');
    enumChecks('action_type', ACTION_TYPES, 'an action type of the seed (or CUSTOM)', 'true');
    strChecks('custom_action', 1, LIMITS.customActionBytes, `r_action_type = 'CUSTOM'`);
    checks.push({ field: 'custom_action', bad: `r_custom_action IS NOT NULL AND r_action_type <> 'CUSTOM'`, reason: REASONS.onlyCustom });
    checks.push({
      field: 'action_param',
      bad: `r_action_param IS NOT NULL AND (strlen(r_action_param) > ${LIMITS.paramsBytes} OR pm IS NULL
        OR len(list_filter(map_values(pm), v -> json_type(v) NOT IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN'))) > 0
        OR len(list_filter(map_keys(pm), k -> strlen(k) < 1 OR strlen(k) > ${LIMITS.paramNameBytes})) > 0
        OR len(map_keys(pm)) <> len(list_distinct(map_keys(pm))))`,
      reason: REASONS.params,
    });
    strChecks('url', 1, LIMITS.urlBytes);
    strChecks('keyword', 1, LIMITS.keywordBytes);
    checks.push({ field: 'keyword', bad: `r_keyword IS NOT NULL AND r_action_type <> 'SEARCH'`, reason: REASONS.onlySearch });
    checks.push({ field: 'outer_action_id', bad: `r_outer_action_id IS NOT NULL AND (${notString('outer_action_id')} OR NOT regexp_full_match(r_outer_action_id, '[A-Za-z0-9_]{1,255}'))`, reason: REASONS.outerActionId });
    const params = `CASE WHEN cardinality(pm) > 0 THEN map_from_entries(list_transform(map_entries(pm), e -> {key: e.key, value: CASE WHEN json_type(e.value) = 'VARCHAR' THEN e.value ->> '$' ELSE CAST(e.value AS VARCHAR) END})) END`;
    // A SEARCH action without a keyword field may carry it as a parameter.
    const keyword = `coalesce(r_keyword, CASE WHEN r_action_type = 'SEARCH' AND json_type(pm['keyword']) = 'VARCHAR' AND strlen(pm['keyword'] ->> '$') <= ${LIMITS.keywordBytes} THEN nullif(pm['keyword'] ->> '$', '') END)`;
    data = ['t_action_time AS action_time', 'r_action_type AS action_type', 'r_custom_action AS custom_action', `${params} AS params`, 'r_url AS url', `${keyword} AS keyword`, 'r_outer_action_id AS outer_action_id'];
  } else if (kind === 'ad_events') {
    timeChecks('event_time');
    enumChecks('event_type', AD_EVENT_TYPES, 'EXPOSURE, CLICK or CONVERSION', 'true');
    enumChecks('conversion_type', CONVERSION_TYPES, 'a conversion type (APP_START_DOWNLOAD, APP_FINISH_DOWNLOAD, APP_INSTALL, APP_ACTIVATE)', `r_event_type = 'CONVERSION'`);
    checks.push({ field: 'conversion_type', bad: `r_conversion_type IS NOT NULL AND r_event_type <> 'CONVERSION'`, reason: REASONS.onlyConversion });
    idChecks('campaign_id');
    idChecks('adgroup_id');
    enumChecks('promoted_object_type', PROMOTED_OBJECT_TYPES, 'a promoted object type of the seed');
    strChecks('promoted_object_id', 1, LIMITS.promotedObjectIdBytes);
    checks.push({ field: 'promoted_object_id', bad: `r_promoted_object_id IS NOT NULL AND r_promoted_object_type IS NULL`, reason: REASONS.onlyPromotedType });
    data = [
      't_event_time AS event_time', 'r_event_type AS event_type', 'r_conversion_type AS conversion_type', 't_campaign_id AS campaign_id',
      't_adgroup_id AS adgroup_id', 'r_promoted_object_type AS promoted_object_type', 'r_promoted_object_id AS promoted_object_id',
    ];
  } else {
    timeChecks('ping_time');
    checks.push({ field: 'latitude', bad: 'r_latitude IS NULL', reason: REASONS.required });
    checks.push({ field: 'latitude', bad: 't_latitude IS NULL OR NOT isfinite(t_latitude) OR t_latitude < -90 OR t_latitude > 90', reason: REASONS.latitude });
    checks.push({ field: 'longitude', bad: 'r_longitude IS NULL', reason: REASONS.required });
    checks.push({ field: 'longitude', bad: 't_longitude IS NULL OR NOT isfinite(t_longitude) OR t_longitude < -180 OR t_longitude > 180', reason: REASONS.longitude });
    idChecks('region_id');
    idChecks('city_code');
    strChecks('poi_id', 1, LIMITS.poiIdBytes);
    idChecks('poi_category');
    data = ['t_ping_time AS ping_time', 't_latitude AS latitude', 't_longitude AS longitude', 't_region_id AS region_id', 't_city_code AS city_code', 'r_poi_id AS poi_id', 't_poi_category AS poi_category'];
  }
  // user_id, after the data fields.
  const idCol = (names: string[]) => ids.map((f, i) => (names.includes(f) ? `id_${i}` : null)).filter((x): x is string => x !== null);
  const openid = idCol(['wechat_openid', 'wx_openid']);
  const unionid = idCol(['wechat_unionid', 'wx_unionid']);
  const anyOf = (cols: string[]) => (cols.length ? `(${cols.map((c) => `${c} IS NOT NULL`).join(' OR ')})` : 'false');
  const [appMin, appMax] = LIMITS.wechatAppIdBytes;
  checks.push({ field: '', bad: 'id_bad IS NOT NULL', reason: '' });
  checks.push({ field: `user_id.${WECHAT_APP_ID_FIELD}`, bad: `r_app IS NOT NULL AND ${bytesBad('r_app', appMin, appMax)}`, reason: REASONS.bytes(appMin, appMax) });
  checks.push({ field: `user_id.${WECHAT_APP_ID_FIELD}`, bad: `${anyOf(openid)} AND r_app IS NULL`, reason: REASONS.wechatAppId });
  if (kind === 'user_actions' && spec.wechatSet) checks.push({ field: 'user_id', bad: `NOT (${anyOf([...openid, ...unionid])}) OR r_app IS NULL`, reason: REASONS.wechatSet });
  checks.push({ field: 'user_id', bad: `NOT ${anyOf(ids.map((_, i) => `id_${i}`))}`, reason: REASONS.noId });

  const bad = `CASE WHEN pre_bad IS NOT NULL THEN pre_bad ${checks
    .map((c) => (c.field === '' ? `WHEN ${c.bad} THEN id_bad` : `WHEN ${c.bad} THEN ${lit(`${c.field}\t${c.reason}`)}`))
    .join(' ')} END`;
  const idOut = ids.map((_, i) => `id_${i}`);
  return `SELECT line, ${data.join(', ')}${idOut.length ? `, ${idOut.join(', ')}` : ''}, split_part(bad, chr(9), 1) AS bad_field, split_part(bad, chr(9), 2) AS bad_reason
    FROM (SELECT *, ${bad} AS bad FROM (SELECT ${l2.join(', ')} FROM (SELECT ${l1.join(', ')} FROM ${from})))`;
}

/** The query that lists an NDJSON file's user_id keys (the file's id fields). */
export function ndjsonIdKeysSql(path: string, gzip: boolean): string {
  return `SELECT DISTINCT k FROM (SELECT unnest(json_keys(try_cast(j AS JSON), '$.user_id')) AS k FROM ${ndjsonReader(path, gzip)} WHERE j IS NOT NULL AND json_valid(j) AND json_type(try_cast(j AS JSON), '$.user_id') = 'OBJECT') ORDER BY k`;
}
