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

/**
 * The reader of a CSV file: every cell as text. The checking pass keeps the
 * reader's refusals in ev_rejects; the other passes skip the same rows
 * without keeping them, so every pass numbers the rows it keeps alike.
 * Numbering (WITH ORDINALITY) makes DuckDB read on one thread, and every
 * step of the statement after it too, so a pass that needs no line reads
 * without it.
 */
export function csvReader(path: string, names: readonly string[], gzip: boolean, rejects = true, numbered = true): string {
  const cols = `{${names.map((n) => `${lit(n)}: 'VARCHAR'`).join(', ')}}`;
  const keep = rejects ? "store_rejects = true, rejects_table = 'ev_rejects', rejects_scan = 'ev_reject_scans'" : 'ignore_errors = true';
  return `read_csv(${lit(path)}, header = true, columns = ${cols}, auto_detect = false, delim = ',', quote = '"', escape = '"', ${keep}${gzip ? ", compression = 'gzip'" : ''})${numbered ? ' WITH ORDINALITY' : ''}`;
}

/** The reader of an NDJSON file: each line as one text value, numbered from 1 unless `numbered` is false (see csvReader). */
export function ndjsonReader(path: string, gzip: boolean, numbered = true): string {
  // The delimiter is a control character, which JSON text never holds raw.
  return `read_csv(${lit(path)}, columns = {'j': 'VARCHAR'}, header = false, delim = '\u0001', quote = '', escape = '', auto_detect = false, strict_mode = false${gzip ? ", compression = 'gzip'" : ''})${numbered ? ' WITH ORDINALITY' : ''}`;
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

/**
 * DuckDB's text of a double (`CAST(d AS VARCHAR)`: 100.0, 2.5e-05, 1e-07,
 * 1.2345678901234568e+17) rewritten as JavaScript writes the same double
 * (String(d): 100, 0.000025, 1e-7, 123456789012345680). Both print the
 * shortest digits that read back as the double; they differ only in where
 * the point goes: JavaScript writes plain decimals from 1e-6 up to 1e21 and
 * an exponent without padding outside, DuckDB switches to an exponent
 * earlier and writes a whole number with ".0". The digits `d` and exponent
 * `x` of d.ddd e±x are bound once through a one-element list.
 */
export function jsNumberText(s: string): string {
  const parts = `regexp_extract(${s}, '^(-?)([0-9])(?:[.]([0-9]+))?e([-+][0-9]+)$', ['sg', 'i', 'f', 'x'])`;
  const x = 'CAST(p.x AS INTEGER)';
  const digits = '(p.i || p.f)';
  const expanded = `list_transform([${parts}], p -> CASE
      WHEN ${x} >= 21 OR ${x} <= -7 THEN p.sg || p.i || CASE WHEN p.f = '' THEN '' ELSE '.' || p.f END || 'e' || CASE WHEN ${x} > 0 THEN '+' ELSE '-' END || CAST(abs(${x}) AS VARCHAR)
      WHEN ${x} + 1 >= length(${digits}) THEN p.sg || ${digits} || repeat('0', ${x} + 1 - length(${digits}))
      WHEN ${x} < 0 THEN p.sg || '0.' || repeat('0', -${x} - 1) || ${digits}
      ELSE p.sg || ${digits}[1:${x} + 1] || '.' || ${digits}[${x} + 2:] END)[1]`;
  return `(CASE WHEN NOT contains(${s}, 'e') THEN (CASE WHEN ${s} = '-0.0' THEN '0' WHEN suffix(${s}, '.0') THEN ${s}[1:-3] ELSE ${s} END) ELSE ${expanded} END)`;
}

const bytesBad = (e: string, min: number, max: number) => `(strlen(${e}) < ${min} OR strlen(${e}) > ${max})`;

/** Parquet integer columns: read as numbers rather than written out as text and parsed back. */
const INTEGER_TYPE = /^U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?$/;

/** The fields whose values are numbers: times (UNIX seconds), ids and coordinates. */
const NUMBER_FIELDS = new Set(['action_time', 'event_time', 'ping_time', 'campaign_id', 'adgroup_id', 'region_id', 'city_code', 'poi_category', 'latitude', 'longitude']);

export interface StageOptions {
  /**
   * CSV only. True (the checking pass, the default): the reader's refusals
   * are kept in ev_rejects. False (the other passes): the same rows are
   * skipped and not kept.
   */
  rejects?: boolean;
  /**
   * CSV and NDJSON: false leaves `line` NULL and lets DuckDB read on every
   * thread (see csvReader). Parquet rows always carry their number.
   */
  numbered?: boolean;
}

/**
 * The stage SELECT for a file (see BulkPlan.stageSql and rowsSql). Each
 * output column is computed only when a query reads it: the checking pass
 * reads the ids and the verdict, the rows pass the typed values.
 */
export function stageSql(spec: FileSpec, opts: StageOptions = {}): string {
  const { kind, format } = spec;
  const fields = EVENT_FIELDS[kind];
  const ids = idFieldsOf(spec);
  const ndjson = format === 'ndjson';
  const parquet = format === 'parquet';
  const numbered = opts.numbered ?? true;
  const has = (n: string) => ndjson || spec.columns.some((c) => c.name === n);
  const typeOf = (n: string) => (parquet ? (spec.columns.find((c) => c.name === n)?.type ?? '') : '');
  const integer = (n: string) => INTEGER_TYPE.test(typeOf(n));
  const double = (n: string) => typeOf(n) === 'DOUBLE';
  // The Parquet number columns level 2 reads as numbers: times and ids when
  // integers, coordinates when integers or doubles.
  const typed = (f: string) => (NUMBER_FIELDS.has(f) && integer(f)) || ((f === 'latitude' || f === 'longitude') && double(f));

  // Level 1: the reader, every field as text (r_<field>), the ids as id_<i>, and for NDJSON the JSON type of each field (j_<field>).
  const l1: string[] = [];
  let from: string;
  if (ndjson) {
    // Each line is parsed a handful of times, not once per field: the
    // values and the types come out as two lists, one path each. A blank
    // line (spaces only) is skipped; a regular expression tells one without
    // copying the line, as trim() would.
    const valuePaths = [...fields.map((f) => `$.${f}`), ...ids.map((f) => `$.user_id.${f}`), `$.user_id.${WECHAT_APP_ID_FIELD}`];
    const typePaths = ['$', '$.user_id', ...fields.map((f) => `$.${f}`)];
    const paths = (xs: string[]) => `[${xs.map(lit).join(', ')}]`;
    from = `(SELECT line, js, json_extract_string(js, ${paths(valuePaths)}) AS jv, json_type(js, ${paths(typePaths)}) AS jt,
      json_keys(js, '$.user_id') AS uk, json_type(js, '$.user_id.*') AS ut
      FROM (SELECT ${numbered ? 'ordinality' : 'NULL::BIGINT'} AS line, try_cast(j AS JSON) AS js FROM ${ndjsonReader(spec.path, spec.gzip, numbered)} WHERE j IS NOT NULL AND NOT regexp_full_match(j, ' *')))`;
    l1.push('line');
    fields.forEach((f, i) => l1.push(`nullif(jv[${i + 1}], '') AS r_${f}`, `jt[${i + 3}] AS j_${f}`));
    ids.forEach((_, i) => l1.push(`nullif(jv[${fields.length + i + 1}], '') AS id_${i}`));
    l1.push(`nullif(jv[${valuePaths.length}], '') AS r_app`);
    const allowed = list(['user_id', ...fields]);
    const idKeys = list([...USER_ID_FIELDS.keys(), WECHAT_APP_ID_FIELD]);
    // What only a JSON line can get wrong, in validate.ts's order: not an object, a field of no kind.
    l1.push(`CASE
      WHEN js IS NULL OR jt[1] <> 'OBJECT' THEN ${lit(`\t${REASONS.notObject}`)}
      WHEN len(list_filter(json_keys(js), k -> k NOT IN ${allowed})) > 0 THEN list_filter(json_keys(js), k -> k NOT IN ${allowed})[1] || ${lit(`\t${REASONS.unknownField}`)}
    END AS pre_bad`);
    // user_id's own faults come after the data fields, as in a batch.
    const notText = `list_filter(uk, (k, i) -> k <> ${lit(WECHAT_APP_ID_FIELD)} AND ut[i] NOT IN ('VARCHAR', 'NULL'))`;
    l1.push(`CASE
      WHEN jt[2] IS NOT NULL AND jt[2] NOT IN ('OBJECT', 'NULL') THEN ${lit(`user_id\t${REASONS.userIdObject}`)}
      WHEN len(list_filter(uk, k -> k NOT IN ${idKeys})) > 0 THEN 'user_id.' || list_filter(uk, k -> k NOT IN ${idKeys})[1] || ${lit(`\t${REASONS.unknownField}`)}
      WHEN len(${notText}) > 0 THEN 'user_id.' || ${notText}[1] || ${lit(`\t${REASONS.userIdValue}`)}
    END AS id_bad`);
  } else {
    from = parquet ? parquetReader(spec.path) : csvReader(spec.path, spec.columns.map((c) => c.name), spec.gzip, opts.rejects ?? true, numbered);
    l1.push(parquet ? 'file_row_number + 1 AS line' : numbered ? 'ordinality + 1 AS line' : 'NULL::BIGINT AS line');
    const text = (n: string) => {
      const col = spec.columns.find((c) => c.name === n);
      if (!col) return 'NULL::VARCHAR';
      if (parquet && n === 'action_param' && /^(MAP|STRUCT|JSON)/.test(col.type)) return `CAST(to_json(${ident(n)}) AS VARCHAR)`;
      return parquet ? `CAST(${ident(n)} AS VARCHAR)` : ident(n);
    };
    const raw = (f: string) => (typed(f) ? ident(f) : `nullif(${text(f)}, '')`);
    for (const f of fields) l1.push(`${raw(f)} AS r_${f}`, `NULL::VARCHAR AS j_${f}`);
    ids.forEach((f, i) => l1.push(`nullif(${text(f)}, '') AS id_${i}`));
    l1.push(`nullif(${has(WECHAT_APP_ID_FIELD) ? text(WECHAT_APP_ID_FIELD) : 'NULL::VARCHAR'}, '') AS r_app`, 'NULL::VARCHAR AS pre_bad', 'NULL::VARCHAR AS id_bad');
  }

  // Level 2: typed values (t_<field>) beside the text. A Parquet integer or
  // double gives the value its text would: the same rows pass, the same fail.
  const off = Math.trunc(spec.utcOffsetMinutes);
  const time = (f: string) =>
    typed(f)
      ? `CASE WHEN r_${f} >= 0 AND r_${f} <= ${LIMITS.maxSeconds} THEN make_timestamp(CAST(r_${f} AS BIGINT) * 1000000) END`
      : `CASE
    WHEN regexp_full_match(r_${f}, '[0-9]{1,10}') THEN CASE WHEN r_${f}::BIGINT <= ${LIMITS.maxSeconds} THEN make_timestamp(r_${f}::BIGINT * 1000000) END
    WHEN regexp_full_match(r_${f}, '\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?') THEN try_cast(r_${f} AS TIMESTAMP) - INTERVAL '${off} minutes'
    WHEN regexp_full_match(r_${f}, '\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?(Z|[+-]\\d{2}(:?\\d{2})?)') THEN timezone('UTC', try_cast(r_${f} AS TIMESTAMPTZ))
  END`;
  // Text: at most 16 digits; an integer column: the same range.
  const posId = (f: string) =>
    typed(f) ? `CASE WHEN r_${f} >= 0 AND r_${f} <= 9999999999999999 THEN CAST(r_${f} AS BIGINT) END` : `CASE WHEN regexp_full_match(r_${f}, '[0-9]{1,16}') THEN try_cast(r_${f} AS BIGINT) END`;
  const num = (f: string) =>
    typed(f) ? `CAST(r_${f} AS DOUBLE)` : `CASE WHEN regexp_full_match(r_${f}, '[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?') THEN try_cast(r_${f} AS DOUBLE) END`;
  const tf = kind === 'user_actions' ? 'action_time' : kind === 'ad_events' ? 'event_time' : 'ping_time';
  const l2: string[] = ['*', `${time(tf)} AS t_${tf}`];
  if (kind === 'user_actions') {
    const json = `CASE WHEN r_action_param IS NOT NULL THEN try_cast(r_action_param AS JSON) END`;
    // pm (values as JSON, to check their types) for the check; pv (values
    // as text, the stored form) for the rows: one JSON cast each, with no
    // per-entry work.
    l2.push(`try_cast(${json} AS MAP(VARCHAR, JSON)) AS pm`, `try_cast(${json} AS MAP(VARCHAR, VARCHAR)) AS pv`, `${json} AS pj`);
  } else if (kind === 'ad_events') {
    l2.push(`${posId('campaign_id')} AS t_campaign_id`, `${posId('adgroup_id')} AS t_adgroup_id`);
  } else {
    l2.push(`${num('latitude')} AS t_latitude`, `${num('longitude')} AS t_longitude`);
    for (const f of ['region_id', 'city_code', 'poi_category']) l2.push(`${posId(f)} AS t_${f}`);
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
    // list_contains: a scan of a short list beats the hash join an IN list of a hundred values becomes.
    checks.push({ field: f, bad: `r_${f} IS NOT NULL AND NOT list_contains([${values.map(lit).join(', ')}], r_${f})`, reason: REASONS.enumOf(what) });
  };
  const idChecks = (f: string) => checks.push({ field: f, bad: `r_${f} IS NOT NULL AND (t_${f} IS NULL OR t_${f} < 1 OR t_${f} > ${LIMITS.maxId})`, reason: REASONS.positiveId });

  let data: string[];
  if (kind === 'user_actions') {
    timeChecks('action_time');
    enumChecks('action_type', ACTION_TYPES, 'an action type of the seed (or CUSTOM)', 'true');
    strChecks('custom_action', 1, LIMITS.customActionBytes, `r_action_type = 'CUSTOM'`);
    checks.push({ field: 'custom_action', bad: `r_custom_action IS NOT NULL AND r_action_type <> 'CUSTOM'`, reason: REASONS.onlyCustom });
    // The value types straight from the JSON (a null is the type NULL,
    // refused as in a batch). A name given twice is found by its first
    // position, which for a short object is cheaper than a set of the
    // names; a long one (up to the byte limit) takes the set.
    checks.push({
      field: 'action_param',
      bad: `r_action_param IS NOT NULL AND (strlen(r_action_param) > ${LIMITS.paramsBytes} OR pm IS NULL
        OR len(list_filter(json_type(pj, '$.*'), t -> t NOT IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN'))) > 0
        OR len(list_filter(map_keys(pm), (k, i) -> strlen(k) < 1 OR strlen(k) > ${LIMITS.paramNameBytes} OR (cardinality(pm) <= 16 AND list_position(map_keys(pm), k) <> i))) > 0
        OR (cardinality(pm) > 16 AND cardinality(pm) <> list_unique(map_keys(pm))))`,
      reason: REASONS.params,
    });
    // From 2^53 up a number is refused, as in a batch (validate.ts). Only a
    // text with 16 digits in a row or an exponent can hold one.
    checks.push({
      field: 'action_param',
      bad: `r_action_param IS NOT NULL AND regexp_matches(r_action_param, '[0-9]{16}|[0-9.][eE]')
        AND len(list_filter(json_extract(pj, '$.*'), x -> json_type(x) IN ('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE') AND abs(TRY_CAST(x AS DOUBLE)) >= ${2 ** 53})) > 0`,
      reason: REASONS.paramNumber,
    });
    strChecks('url', 1, LIMITS.urlBytes);
    strChecks('keyword', 1, LIMITS.keywordBytes);
    checks.push({ field: 'keyword', bad: `r_keyword IS NOT NULL AND r_action_type <> 'SEARCH'`, reason: REASONS.onlySearch });
    checks.push({ field: 'outer_action_id', bad: `r_outer_action_id IS NOT NULL AND (${notString('outer_action_id')} OR NOT regexp_full_match(r_outer_action_id, '[A-Za-z0-9_]{1,255}'))`, reason: REASONS.outerActionId });
    // The cast writes a string value unquoted, an integer or boolean as
    // written (42, true) and a fractional number as DuckDB prints it (100.0,
    // 2.5e-05). A batch stores String(x) (100, 0.000025), so a row with a
    // fractional number has those values rewritten the JavaScript way, entry
    // by entry; a JSON text with no digit before a point or an exponent has
    // none and is kept as cast. {} is no parameters.
    const doubles = `map_from_entries(list_transform(map_entries(pv), (e, i) -> {'key': e.key, 'value': CASE WHEN json_type(json_extract(pj, '$.*')[i]) = 'DOUBLE' THEN ${jsNumberText('e.value')} ELSE e.value END}))`;
    const params = `CASE WHEN cardinality(pv) > 0 THEN (CASE WHEN regexp_matches(r_action_param, '[0-9][.eE]') THEN ${doubles} ELSE pv END) END`;
    // A SEARCH action without a keyword field may carry it as a parameter.
    const keyword = `coalesce(r_keyword, CASE WHEN r_action_type = 'SEARCH' AND json_type(pj, '$.keyword') = 'VARCHAR' AND strlen(pj ->> '$.keyword') <= ${LIMITS.keywordBytes} THEN nullif(pj ->> '$.keyword', '') END)`;
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

/**
 * The SELECTs of a load (BulkPlan's stageSql, rowsSql and linesSql). A
 * Parquet file's rows carry their number; a CSV or NDJSON file is read
 * unnumbered, on every thread, and numbered only when a line is wanted.
 * Only the checking pass keeps the CSV reader's refusals.
 */
export function loadPasses(spec: FileSpec): { stageSql: string; rowsSql: string; linesSql?: string } {
  if (spec.format === 'parquet') return { stageSql: stageSql(spec), rowsSql: stageSql(spec) };
  return { stageSql: stageSql(spec, { numbered: false }), rowsSql: stageSql(spec, { rejects: false, numbered: false }), linesSql: stageSql(spec, { rejects: false }) };
}

/** The query that lists an NDJSON file's user_id keys (the file's id fields). */
export function ndjsonIdKeysSql(path: string, gzip: boolean): string {
  return `SELECT DISTINCT k FROM (SELECT unnest(json_keys(js, '$.user_id')) AS k FROM (SELECT try_cast(j AS JSON) AS js FROM ${ndjsonReader(path, gzip, false)} WHERE j IS NOT NULL) WHERE json_type(js, '$.user_id') = 'OBJECT') ORDER BY k`;
}
