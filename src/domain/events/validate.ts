// The check of events sent in a batch (JSON): each event on its own, a
// malformed one refused with its index, field and reason, the rest kept.
// The same rules as file-sql.ts applies to files, with the same reasons
// (fields.ts); events.test.ts sends the same bad events both ways.
//
// Readings: an empty string is an absent value (a CSV cell cannot tell them
// apart, so a batch does not either); numbers may come as JSON numbers or as
// digit strings, as the vendor's own examples quote ids.
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
  utf8Bytes,
} from './fields.js';

export interface Refusal {
  index: number;
  field: string;
  reason: string;
}

/** A good event: its data columns (FileStage.dataColumns order) and its ids by field. */
export interface CheckedEvent {
  index: number;
  data: unknown[];
  ids: Map<string, string>;
}

export interface CheckOptions {
  /** The service's clock, for the "not in the future" rule and a missing action_time. */
  now: number;
  utcOffsetMinutes: number;
  /** The action set is a WeChat one: its actions need a WeChat user id. */
  wechatSet?: boolean;
}

class Bad extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const TIME_DIGITS = /^[0-9]{1,10}$/;
const TIME_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * A time as the service stores it (epoch ms, UTC), or undefined when the
 * value is not one. UNIX seconds, or yyyy-MM-dd HH:mm:ss[.ffffff][zone]; a
 * time without a zone is in the vendor's (events.utcOffsetMinutes).
 */
export function parseTime(v: unknown, utcOffsetMinutes: number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= LIMITS.maxSeconds ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  if (TIME_DIGITS.test(v)) {
    const s = Number(v);
    return s <= LIMITS.maxSeconds ? s * 1000 : undefined;
  }
  const m = TIME_TEXT.exec(v);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const frac = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  const base = Date.UTC(y, mo - 1, d, h, mi, s, frac);
  const back = new Date(base);
  // Date.UTC rolls 2024-02-30 over to March; such a date is not one.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  let offset = utcOffsetMinutes;
  const z = m[8];
  if (z === 'Z') offset = 0;
  else if (z) {
    const digits = z.slice(1).replace(':', '');
    offset = (z[0] === '-' ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + (digits.length > 2 ? Number(digits.slice(2, 4)) : 0));
  }
  const ms = base - offset * 60_000;
  return ms >= 0 && ms <= LIMITS.maxSeconds * 1000 ? ms : undefined;
}

const present = (v: unknown) => v !== undefined && v !== null && v !== '';

function str(e: Record<string, unknown>, field: string, min: number, max: number, required = false): string | null {
  const v = e[field];
  if (!present(v)) {
    if (required) throw new Bad(field, REASONS.required);
    return null;
  }
  if (typeof v !== 'string') throw new Bad(field, REASONS.bytes(min, max));
  const n = utf8Bytes(v);
  if (n < min || n > max) throw new Bad(field, REASONS.bytes(min, max));
  return v;
}

function oneOf(e: Record<string, unknown>, field: string, values: readonly string[], what: string, required = false): string | null {
  const v = e[field];
  if (!present(v)) {
    if (required) throw new Bad(field, REASONS.required);
    return null;
  }
  if (typeof v !== 'string' || !values.includes(v)) throw new Bad(field, REASONS.enumOf(what));
  return v;
}

function positiveId(e: Record<string, unknown>, field: string): number | null {
  const v = e[field];
  if (!present(v)) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Bad(field, REASONS.positiveId);
  return n;
}

function coordinate(e: Record<string, unknown>, field: string, limit: number, reason: string): number {
  const v = e[field];
  if (!present(v)) throw new Bad(field, REASONS.required);
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < -limit || n > limit) throw new Bad(field, reason);
  return n;
}

function time(e: Record<string, unknown>, field: string, o: CheckOptions, fallback?: number): number {
  const v = e[field];
  if (!present(v)) {
    if (fallback !== undefined) return fallback;
    throw new Bad(field, REASONS.required);
  }
  const ms = parseTime(v, o.utcOffsetMinutes);
  if (ms === undefined) throw new Bad(field, REASONS.time);
  if (ms > o.now + LIMITS.futureSlackMs) throw new Bad(field, REASONS.future);
  return ms;
}

/** action_param: a flat object (or its JSON text) of string, number or boolean values → a string map, null when empty. */
function params(e: Record<string, unknown>): Record<string, string> | null {
  let v = e.action_param;
  if (!present(v)) return null;
  if (typeof v === 'string') {
    if (utf8Bytes(v) > LIMITS.paramsBytes) throw new Bad('action_param', REASONS.params);
    try {
      v = JSON.parse(v);
    } catch {
      throw new Bad('action_param', REASONS.params);
    }
  } else if (utf8Bytes(JSON.stringify(v)) > LIMITS.paramsBytes) throw new Bad('action_param', REASONS.params);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Bad('action_param', REASONS.params);
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const kb = utf8Bytes(k);
    if (kb < 1 || kb > LIMITS.paramNameBytes) throw new Bad('action_param', REASONS.params);
    if (typeof x === 'string') out[k] = x;
    else if ((typeof x === 'number' && Number.isFinite(x)) || typeof x === 'boolean') out[k] = String(x);
    else throw new Bad('action_param', REASONS.params);
    n++;
  }
  // Checked after the shape, as the file check does. From 2^53 up a number
  // may not be the one written (JSON.parse rounds 12345678901234567891),
  // and a file would keep digits a batch cannot: both refuse it.
  for (const x of Object.values(v as Record<string, unknown>)) {
    if (typeof x === 'number' && Math.abs(x) >= 2 ** 53) throw new Bad('action_param', REASONS.paramNumber);
  }
  return n === 0 ? null : out;
}

/** user_id: every key a known id field (or wechat_app_id), every value a string; at least one id. */
function userIds(e: Record<string, unknown>, o: CheckOptions, kind: EventKind): Map<string, string> {
  const u = e.user_id;
  if (!present(u)) throw new Bad('user_id', REASONS.noId);
  if (typeof u !== 'object' || u === null || Array.isArray(u)) throw new Bad('user_id', REASONS.userIdObject);
  const ids = new Map<string, string>();
  let appId: string | undefined;
  for (const [k, v] of Object.entries(u as Record<string, unknown>)) {
    if (k === WECHAT_APP_ID_FIELD) {
      if (!present(v)) continue;
      const [min, max] = LIMITS.wechatAppIdBytes;
      if (typeof v !== 'string' || utf8Bytes(v) < min || utf8Bytes(v) > max) throw new Bad(`user_id.${k}`, REASONS.bytes(min, max));
      appId = v;
      continue;
    }
    if (!USER_ID_FIELDS.has(k)) throw new Bad(`user_id.${k}`, REASONS.unknownField);
    if (!present(v)) continue;
    if (typeof v !== 'string') throw new Bad(`user_id.${k}`, REASONS.userIdValue);
    ids.set(k, v);
  }
  const openid = ids.has('wechat_openid') || ids.has('wx_openid');
  const unionid = ids.has('wechat_unionid') || ids.has('wx_unionid');
  if (openid && appId === undefined) throw new Bad(`user_id.${WECHAT_APP_ID_FIELD}`, REASONS.wechatAppId);
  if (kind === 'user_actions' && o.wechatSet && (!(openid || unionid) || appId === undefined)) throw new Bad('user_id', REASONS.wechatSet);
  if (ids.size === 0) throw new Bad('user_id', REASONS.noId);
  return ids;
}

function unknownField(e: Record<string, unknown>, kind: EventKind): void {
  const allowed = EVENT_FIELDS[kind];
  for (const k of Object.keys(e)) if (k !== 'user_id' && !allowed.includes(k)) throw new Bad(k, REASONS.unknownField);
}

/** The data columns of one event (the order of COLUMNS[kind] after user_id). */
function dataOf(kind: EventKind, e: Record<string, unknown>, o: CheckOptions): unknown[] {
  if (kind === 'user_actions') {
    // Tencent: a missing action_time is the time the server received the action.
    const at = time(e, 'action_time', o, o.now);
    const type = oneOf(e, 'action_type', ACTION_TYPES, 'an action type of the seed (or CUSTOM)', true)!;
    const custom = str(e, 'custom_action', 1, LIMITS.customActionBytes, type === 'CUSTOM');
    if (custom !== null && type !== 'CUSTOM') throw new Bad('custom_action', REASONS.onlyCustom);
    const p = params(e);
    const url = str(e, 'url', 1, LIMITS.urlBytes);
    let keyword = str(e, 'keyword', 1, LIMITS.keywordBytes);
    if (keyword !== null && type !== 'SEARCH') throw new Bad('keyword', REASONS.onlySearch);
    // A SEARCH action sent without a keyword field may carry it as a parameter.
    if (keyword === null && type === 'SEARCH' && p?.keyword && utf8Bytes(p.keyword) <= LIMITS.keywordBytes) keyword = p.keyword;
    const outer = e.outer_action_id;
    if (present(outer) && (typeof outer !== 'string' || !/^[A-Za-z0-9_]{1,255}$/.test(outer))) throw new Bad('outer_action_id', REASONS.outerActionId);
    return [at, type, custom, p, url, keyword, present(outer) ? outer : null];
  }
  if (kind === 'ad_events') {
    const at = time(e, 'event_time', o);
    const type = oneOf(e, 'event_type', AD_EVENT_TYPES, 'EXPOSURE, CLICK or CONVERSION', true)!;
    const conv = oneOf(e, 'conversion_type', CONVERSION_TYPES, 'a conversion type (APP_START_DOWNLOAD, APP_FINISH_DOWNLOAD, APP_INSTALL, APP_ACTIVATE)', type === 'CONVERSION');
    if (conv !== null && type !== 'CONVERSION') throw new Bad('conversion_type', REASONS.onlyConversion);
    const campaign = positiveId(e, 'campaign_id');
    const adgroup = positiveId(e, 'adgroup_id');
    const pot = oneOf(e, 'promoted_object_type', PROMOTED_OBJECT_TYPES, 'a promoted object type of the seed');
    const poid = str(e, 'promoted_object_id', 1, LIMITS.promotedObjectIdBytes);
    if (poid !== null && pot === null) throw new Bad('promoted_object_id', REASONS.onlyPromotedType);
    return [at, type, conv, campaign, adgroup, pot, poid];
  }
  const at = time(e, 'ping_time', o);
  const lat = coordinate(e, 'latitude', 90, REASONS.latitude);
  const lng = coordinate(e, 'longitude', 180, REASONS.longitude);
  return [at, lat, lng, positiveId(e, 'region_id'), positiveId(e, 'city_code'), str(e, 'poi_id', 1, LIMITS.poiIdBytes), positiveId(e, 'poi_category')];
}

/** Checks every event of a batch: the good ones, and a refusal for each bad one. */
export function checkEvents(kind: EventKind, events: readonly unknown[], o: CheckOptions): { good: CheckedEvent[]; refused: Refusal[] } {
  const good: CheckedEvent[] = [];
  const refused: Refusal[] = [];
  for (let index = 0; index < events.length; index++) {
    const e = events[index];
    try {
      if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new Bad('', REASONS.notObject);
      const ev = e as Record<string, unknown>;
      unknownField(ev, kind);
      const data = dataOf(kind, ev, o);
      const ids = userIds(ev, o, kind);
      good.push({ index, data, ids });
    } catch (x) {
      if (!(x instanceof Bad)) throw x;
      refused.push({ index, field: x.field, reason: x.reason });
    }
  }
  return { good, refused };
}
