// Phone numbers in the two shapes vendors hash:
// - mainland China mobile, the 11 plain digits (Tencent HASH_MOBILE_PHONE:
//   "加密前为11位的纯数字串"; vector 13500000000 → 4dbeaa3a…), and
// - E.164, "+", country code and number, no spaces (Google Data Manager,
//   TikTok customer files), hashed with SHA-256.
// A mainland number has both shapes (+86 and the 11 digits), so either input
// yields the keys of both: an MD5-phone audience and an E.164 SHA-256 one
// overlap exactly where they name the same numbers.
import { Refusal } from './types.js';

const PHONE_CHARS = new Refusal('a phone number may contain only digits, spaces, dashes, brackets and a +86 / 0086 / 86 prefix');
const NOT_MAINLAND = new Refusal('this is not a mainland China (+86) number; upload it as phone_e164');
const MOBILE_PREFIX = new Refusal('a mainland mobile number starts with 13 to 19');
const E164_PLUS = new Refusal('an E.164 number starts with + and the country code, e.g. +8613500000000');
const E164_CHARS = new Refusal('an E.164 number may contain only +, digits, spaces, dashes, dots and brackets');
const E164_ZERO = new Refusal('an E.164 country code does not start with 0');

function isMobile11(v: string): boolean {
  if (v.length !== 11 || v.charCodeAt(0) !== 0x31) return false;
  const second = v.charCodeAt(1);
  if (second < 0x33 || second > 0x39) return false;
  for (let i = 2; i < 11; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Keeps the digits of `v`, dropping the separators people type; null when another character appears. A `+` may only come before the first digit. */
function digitsOf(v: string, extraSeparator: number): { plus: boolean; digits: string } | null {
  let digits = '';
  let plus = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits += v[i];
    else if (c === 0x2b && !plus && digits.length === 0) plus = true;
    else if (c !== 0x20 && c !== 0x2d && c !== 0x28 && c !== 0x29 && c !== extraSeparator) return null;
  }
  return { plus, digits };
}

/**
 * Mainland mobile number → its 11 digits.
 * Decision: spaces, dashes and brackets are dropped, and a +86, 0086 or 86
 * country prefix is removed (86 only when 13 digits remain, so no 11-digit
 * number is ever cut); the number must then be 11 digits starting 13–19.
 * A + with another country code is refused with a pointer to phone_e164.
 */
export function normalizeMainlandPhone(v: string): string | Refusal {
  if (isMobile11(v)) return v;
  const parsed = digitsOf(v, -1);
  if (parsed === null) return PHONE_CHARS;
  let d = parsed.digits;
  if (parsed.plus) {
    if (!d.startsWith('86')) return NOT_MAINLAND;
    d = d.slice(2);
  } else if (d.length === 15 && d.startsWith('0086')) d = d.slice(4);
  else if (d.length === 13 && d.startsWith('86')) d = d.slice(2);
  if (d.length !== 11) return new Refusal(`a mainland mobile number has 11 digits, this one has ${d.length}`);
  return isMobile11(d) ? d : MOBILE_PREFIX;
}

/**
 * E.164 → "+" and 7 to 15 digits (ITU-T E.164 allows at most 15).
 * Decision: spaces, dashes, dots and brackets are dropped; a leading 00
 * international prefix is read as +; a number without either is refused, since
 * its country cannot be known. The trunk 0 some people write after the
 * country code ("+44 (0)20…") is not guessed away: it is kept and will not match.
 */
export function normalizeE164(v: string): string | Refusal {
  const parsed = digitsOf(v, 0x2e);
  if (parsed === null) return E164_CHARS;
  let d = parsed.digits;
  if (!parsed.plus) {
    if (!d.startsWith('00')) return E164_PLUS;
    d = d.slice(2);
  }
  if (d.length < 7 || d.length > 15) return new Refusal(`an E.164 number has 7 to 15 digits after the +, this one has ${d.length}`);
  if (d.charCodeAt(0) === 0x30) return E164_ZERO;
  return '+' + d;
}

/** The 11 digits of a +86 mobile number in E.164, else null (other countries and +86 landlines have no mainland-mobile form). */
export function mainlandOfE164(e164: string): string | null {
  if (e164.length !== 14 || !e164.startsWith('+86')) return null;
  const national = e164.slice(3);
  return isMobile11(national) ? national : null;
}

/** The E.164 form of a mainland mobile number. */
export function e164OfMainland(digits: string): string {
  return '+86' + digits;
}
