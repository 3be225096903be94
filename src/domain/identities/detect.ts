// Per-line type detection, for files uploaded "detect per line".
//
// What a line's shape tells, and what it cannot:
// - '@' → email; a leading '+' → phone_e164; 11 digits 1[3-9]… (also with
//   spaces, dashes or an 86 prefix) → phone; 14–15 digits, or 14 hex digits
//   (MEID) → imei; 5–10 digits → qq; XX:XX:XX:XX:XX:XX → mac.
// - An 8-4-4-4-12 UUID is an IDFA, IDFV, GAID or OAID: upper-case points at
//   Apple (idfa/idfv), lower-case at Android (gaid/oaid), never to one type.
// - 16 hex digits is an Android id or a (Xiaomi/vivo-style) OAID.
// - 32 hex digits is an MD5 of something, or a CAID: only a family hint says
//   of what. 64 hex digits is a SHA-256 and even a family is not always enough
//   (imei_sha256 vs imei_md5_sha256, phone_sha256 vs phone_e164_sha256).
// - Other tokens of [A-Za-z0-9_-] are openids/unionids or OAIDs.
// Salted hashes are never detected: only a declared type can name them.
// The hint (families or type names) narrows the candidates; a single survivor
// is the answer. Without a hint, an 11-digit mobile-shaped number is taken as
// a phone rather than a QQ number (pass the qq hint for QQ files).
import { ID_TYPES } from './id-types.js';
import { normalizeMainlandPhone } from './phone.js';
import { trimId } from './rules.js';
import { Refusal, type Family, type IdTypeName } from './types.js';

export type DetectResult = { ok: true; type: IdTypeName } | { ok: false; candidates: readonly IdTypeName[]; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAC = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;
const HEX = /^[0-9a-f]+$/i;
const DIGITS = /^[0-9]+$/;
const TOKEN = /^[A-Za-z0-9_-]{8,128}$/;

const byHexLength = (n: number): IdTypeName[] =>
  Object.values(ID_TYPES)
    .filter((e) => e.kind === 'hashed' && e.chain !== 'opaque' && e.hexLengths.includes(n))
    .map((e) => e.name)
    .concat(n === 32 ? ['caid'] : []);
const HEX32 = byHexLength(32);
const HEX64 = byHexLength(64);

interface Shape {
  candidates: readonly IdTypeName[];
  /** Taken when no hint is given and the shape is not unique. */
  fallback?: IdTypeName;
}

function shapeOf(v: string): Shape {
  if (v.includes('@')) return { candidates: ['email'] };
  if (v.charCodeAt(0) === 0x2b) return { candidates: ['phone_e164'] };
  if (UUID.test(v)) {
    if (v === v.toUpperCase() && v !== v.toLowerCase()) return { candidates: ['idfa', 'idfv', 'oaid'] };
    if (v === v.toLowerCase() && v !== v.toUpperCase()) return { candidates: ['gaid', 'oaid'] };
    return { candidates: ['idfa', 'idfv', 'gaid', 'oaid'] };
  }
  if (MAC.test(v)) return { candidates: ['mac'] };
  if (DIGITS.test(v)) {
    if (v.length >= 5 && v.length <= 10 && v[0] !== '0') return { candidates: ['qq'] };
    if (v.length === 11) return normalizeMainlandPhone(v) instanceof Refusal ? { candidates: ['qq'] } : { candidates: ['phone', 'qq'], fallback: 'phone' };
    if (v.length === 14 || v.length === 15) return { candidates: ['imei'] };
    return normalizeMainlandPhone(v) instanceof Refusal ? { candidates: [] } : { candidates: ['phone'] };
  }
  if (HEX.test(v)) {
    if (v.length === 14) return { candidates: ['imei'] };
    if (v.length === 16) return { candidates: ['android_id', 'oaid'] };
    if (v.length === 32) return { candidates: HEX32 };
    if (v.length === 64) return { candidates: HEX64 };
  }
  if (/^[0-9 ()-]+$/.test(v) && !(normalizeMainlandPhone(v) instanceof Refusal)) return { candidates: ['phone'] };
  if (TOKEN.test(v)) return { candidates: ['wx_openid', 'wx_unionid', 'gdt_openid', 'oaid'] };
  return { candidates: [] };
}

/**
 * The type of one line, judged by its shape. `hint` lists families or type
 * names the file may hold (e.g. ['phone'] or ['imei', 'oaid_md5']).
 */
export function detectType(line: string, hint?: ReadonlyArray<Family | IdTypeName>): DetectResult {
  const v = trimId(line);
  if (v.length === 0) return { ok: false, candidates: [], reason: 'the line is empty' };
  const shape = shapeOf(v);
  const candidates = hint ? shape.candidates.filter((t) => hint.includes(t) || hint.includes(ID_TYPES[t].family)) : shape.candidates;
  if (candidates.length === 1) return { ok: true, type: candidates[0] };
  if (!hint && shape.fallback) return { ok: true, type: shape.fallback };
  if (candidates.length === 0) {
    const what = shape.candidates.length === 0 ? 'matches no known id type' : `could be ${shape.candidates.join(', ')}, none of which the hint allows`;
    return { ok: false, candidates, reason: `this line ${what}` };
  }
  return { ok: false, candidates, reason: `this line could be ${candidates.join(', ')}; name the id type or give a narrower hint` };
}
