// Validation and normalization of raw ids, one function per rule. Each takes a
// value already trimmed of surrounding whitespace (see trimId) and returns the
// canonical text that gets hashed, or a Refusal with a reason a person can act
// on. Fixed refusals are built once: the ingest loop calls these per line.
import { Refusal } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX32 = /^[0-9a-f]{32}$/i;
const ALL_ZERO = /^[0-]+$/;

/** Drops a UTF-8 BOM and leading/trailing spaces, tabs, CR and LF (CRLF files, padded CSV cells). */
export function trimId(line: string): string {
  let start = 0;
  let end = line.length;
  if (end > 0 && line.charCodeAt(0) === 0xfeff) start = 1;
  while (start < end && isBlank(line.charCodeAt(start))) start++;
  while (end > start && isBlank(line.charCodeAt(end - 1))) end--;
  return start === 0 && end === line.length ? line : line.slice(start, end);
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

const IMEI_MD5_HINT = new Refusal('this IMEI is 32 hex digits, which is an MD5 hash; upload it as imei_md5 (Tencent HASH_IMEI)');
const IMEI_CHARS = new Refusal('an IMEI may contain only digits, or digits and the letters a–f (an MEID)');

/**
 * IMEI (and MEID): 14 or 15 characters, lower-cased before hashing.
 * Tencent custom audience file: "14位或15位的纯数字串,或者14位或15位的数字+小写字母串";
 * HASH_IMEI vector a000002c9060f7 → f2d5a650733ca8c27d502b1c08da14e5.
 * Decision: the letters are limited to a–f, because an MEID is hexadecimal.
 */
export function normalizeImei(v: string): string | Refusal {
  if (v.length !== 14 && v.length !== 15) {
    if (v.length === 32 && HEX32.test(v)) return IMEI_MD5_HINT;
    return new Refusal(`an IMEI has 14 or 15 characters, this one has ${v.length}`);
  }
  const lower = v.toLowerCase();
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return IMEI_CHARS;
  }
  return lower;
}

function uuidRule(what: string, md5Type: string, upper: boolean) {
  const hashHint = new Refusal(
    `this ${what} is 32 hex digits without hyphens, which is what an MD5 hash looks like; ` +
      `upload it as ${md5Type}, or write the ${what} as 8-4-4-4-12 with hyphens`,
  );
  const grouping = new Refusal(`an ${what} is 32 hex digits grouped 8-4-4-4-12 with hyphens, e.g. FF1999CD-7177-4937-A474-74937A102630`);
  const zero = new Refusal(`an all-zero ${what} means the user limited ad tracking; it names no device`);
  return (v: string): string | Refusal => {
    if (!UUID.test(v)) return v.length === 32 && HEX32.test(v) ? hashHint : grouping;
    if (ALL_ZERO.test(v)) return zero;
    return upper ? v.toUpperCase() : v.toLowerCase();
  };
}

/**
 * IDFA: upper-case, hyphenated 8-4-4-4-12 (Tencent HASH_IDFA rule and vector
 * FF1999CD-… → 2c010ed9…; Mintegral postback example 3E0046F7-… → 77d06cb2…).
 * Decision: any input case is accepted and upper-cased; 32 bare hex digits are
 * refused because an MD5 looks the same; the all-zero IDFA (tracking limited)
 * is refused, or every such row would become one "user".
 */
export const normalizeIdfa = uuidRule('IDFA', 'idfa_md5', true);

/** IDFV: Apple prints it like an IDFA (UUIDString, upper-case); same rule. Decision: hashed upper-case like IDFA. */
export const normalizeIdfv = uuidRule('IDFV', 'idfv_md5', true);

/**
 * GAID: a lower-case UUID. Mintegral tracking/postback docs show the raw GAID
 * lower-case (7268ceb0-… → md5 7c687d78…); Google Play services returns it so.
 * The all-zero GAID (user opted out) is refused.
 */
export const normalizeGaid = uuidRule('GAID', 'gaid_md5', false);

const OAID_CHARS = new Refusal('an OAID may contain only letters, digits and hyphens');
const OAID_ZERO = new Refusal('an all-zero OAID means the user turned ad tracking off; it names no device');

/**
 * OAID: hashed exactly as the device reported it (Tencent DataNexus:
 * "保留原始值", HASH_OAID = md5(oaid); vector 1fe9a970-… → 83e9158a…).
 * Manufacturers use different shapes (UUID, 16 or 64 hex), so the case is
 * kept: changing it would change the vendor's MD5.
 * Decision: surrounding whitespace is trimmed; 16–64 letters, digits and
 * hyphens are accepted; an all-zero OAID (tracking off) is refused.
 */
export function normalizeOaid(v: string): string | Refusal {
  if (v.length < 16 || v.length > 64) return new Refusal(`an OAID has 16 to 64 characters, this one has ${v.length}`);
  if (!/^[0-9A-Za-z-]+$/.test(v)) return OAID_CHARS;
  if (ALL_ZERO.test(v)) return OAID_ZERO;
  return v;
}

const MAC_SHAPE = new Refusal('a MAC address is 6 groups of 2 hex digits, e.g. 08:00:20:0A:8C:6D');
const MAC_ZERO = new Refusal('an all-zero MAC address names no device');

/**
 * MAC: separators dropped, upper-cased (Tencent HASH_MAC: "去除分隔符“:”后转为大写";
 * vector 02:00:00:00:00:00 → e3f5536a…). Decision: ':' or '-' separators or
 * none are accepted. 02:00:00:00:00:00 is the placeholder iOS reports, but it
 * is Tencent's own vector, so it is accepted; only all-zero is refused.
 */
export function normalizeMac(v: string): string | Refusal {
  const bare = v.length === 17 ? v.replace(/[:-]/g, '') : v;
  if (!/^[0-9a-f]{12}$/i.test(bare)) return MAC_SHAPE;
  if (bare === '000000000000') return MAC_ZERO;
  return bare.toUpperCase();
}

const ANDROID_ID_SHAPE = new Refusal('an Android id is a 64-bit number written as 8 to 16 hex digits, e.g. d0d4845ae4495a83');
const ANDROID_ID_SHARED = new Refusal('9774d56d682e549c is the Android id many Android 2.2 devices share; it names no single device');

/**
 * Android id (Settings.Secure.ANDROID_ID): hex, lower-cased (Mintegral postback
 * example d0d4845ae4495a83 → md5 1ebf7033…; X Ads: "original format, not
 * capitalized"). Decision: 8–16 hex digits, because Long.toHexString drops
 * leading zeros; the well-known shared id of old devices is refused.
 */
export function normalizeAndroidId(v: string): string | Refusal {
  if (v.length < 8 || v.length > 16 || !/^[0-9a-f]+$/i.test(v)) return ANDROID_ID_SHAPE;
  const lower = v.toLowerCase();
  return lower === '9774d56d682e549c' ? ANDROID_ID_SHARED : lower;
}

const EMAIL_SHAPE = new Refusal('an email address needs one @ with a name before it and a domain with a dot after it');
const EMAIL_SPACE = new Refusal('an email address cannot contain spaces');

/**
 * Email: trimmed and lower-cased, then SHA-256 (Google Data Manager, X Ads,
 * TikTok all lower-case and trim). Decision: no provider-specific rewriting
 * (Gmail dots, +tags): vendors disagree, and rewriting would stop our hashes
 * matching the ones advertisers already hold. Inner spaces are refused rather
 * than removed: they usually mean two cells ran together.
 */
export function normalizeEmail(v: string): string | Refusal {
  const at = v.indexOf('@');
  if (at <= 0 || at !== v.lastIndexOf('@') || at > 64 || v.length > 254) return EMAIL_SHAPE;
  const dot = v.lastIndexOf('.');
  if (dot < at + 2 || dot === v.length - 1) return EMAIL_SHAPE;
  if (/\s/.test(v)) return EMAIL_SPACE;
  return v.toLowerCase();
}

const QQ_SHAPE = new Refusal('a QQ number is 5 to 11 digits and does not start with 0');

/** QQ number: plain decimal digits (Tencent HASH_QQ: "MD5 加密后的 QQ 号"). QQ numbers start at 10000. */
export function normalizeQq(v: string): string | Refusal {
  return /^[1-9][0-9]{4,10}$/.test(v) ? v : QQ_SHAPE;
}

/**
 * WeChat openid / unionid and GDT openid: opaque, case-sensitive tokens
 * (openids are 28 characters of [A-Za-z0-9_-] in practice), kept exactly.
 * Decision: 8–128 such characters. An openid is scoped to one WeChat app
 * (Tencent's open_app_id); keeping the app apart is the caller's job.
 */
export function tokenRule(what: string) {
  const shape = new Refusal(`a ${what} is 8 to 128 letters, digits, '-' or '_'`);
  return (v: string): string | Refusal => (/^[A-Za-z0-9_-]{8,128}$/.test(v) ? v : shape);
}
