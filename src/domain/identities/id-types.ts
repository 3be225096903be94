// The id-type registry: one entry per type, keyed by our canonical name. A raw
// entry says how to validate and normalize a value and which hashed forms it
// yields; a hashed entry says its hash chain and hex length. Adding a type is
// adding one entry here (and its vendor names in vendor-maps.ts).
//
// Sources: Tencent Marketing API "客户文件人群"
// (https://developers.e.qq.com/docs/audience_management/file) and DataNexus
// "ID上报方式" (https://datanexus.qq.com/doc/develop/guider/interface/user_id);
// Mintegral postback / tracking-URL parameters
// (https://adv.mintegral.com/doc/en/integration/quickStart/postback);
// vectors in /work/shared/API-NOTES.md.
import { e164OfMainland, mainlandOfE164, normalizeE164, normalizeMainlandPhone } from './phone.js';
import {
  normalizeAndroidId,
  normalizeEmail,
  normalizeGaid,
  normalizeIdfa,
  normalizeIdfv,
  normalizeImei,
  normalizeMac,
  normalizeOaid,
  normalizeQq,
  tokenRule,
} from './rules.js';
import type { Family, HashChain, HashedEntry, HashedTypeName, IdTypeEntry, IdTypeName, Link, RawEntry, RawTypeName } from './types.js';

const TENCENT = 'Tencent custom audience file (developers.e.qq.com/docs/audience_management/file)';
const DATANEXUS = 'Tencent DataNexus ID上报方式 (datanexus.qq.com/doc/develop/guider/interface/user_id)';
const MINTEGRAL = 'Mintegral audience device_type and postback md5_* parameters (adv.mintegral.com)';
const MD5_SHA256 = 'Tencent MD5_SHA256_* user_id_type; chain as DataNexus documents it for OAID (sha256 of the md5 hex)';
const SHA256_FORM = 'our decision: SHA-256 of the same normalized text the vendor MD5s (no vendor page in our tables names it)';
const OURS = 'our decision: vendors take this id raw, we never store a raw id, so we keep its MD5';

function raw(name: RawTypeName, family: Family, label: string, normalize: RawEntry['normalize'], links: Array<HashedTypeName | Link>, source: string): RawEntry {
  return { name, family, label, kind: 'raw', chain: 'none', normalize, links: links.map(toLink), source };
}

function hashed(
  name: HashedTypeName,
  family: Family,
  chain: HashedEntry['chain'],
  label: string,
  source: string,
  links: HashedTypeName[] = [],
  hexLengths: number[] = [HEX_LENGTH[chain]],
): HashedEntry {
  return { name, family, label, kind: 'hashed', chain, hexLengths, links: links.map(toLink), source };
}

function toLink(l: HashedTypeName | Link): Link {
  return typeof l === 'string' ? { type: l } : l;
}

const HEX_LENGTH: Record<Exclude<HashChain, 'none'>, number> = { md5: 32, sha256: 64, md5_sha256: 64, opaque: 32 };

const entries: IdTypeEntry[] = [
  raw('imei', 'imei', 'IMEI or MEID, 14–15 characters, lower-case', normalizeImei, ['imei_md5', 'imei_sha256', 'imei_md5_sha256'], TENCENT),
  hashed('imei_md5', 'imei', 'md5', 'MD5 of the lower-case IMEI', TENCENT, ['imei_md5_sha256']),
  hashed('imei_sha256', 'imei', 'sha256', 'SHA-256 of the lower-case IMEI', SHA256_FORM),
  hashed('imei_md5_sha256', 'imei', 'md5_sha256', 'SHA-256 of the IMEI MD5 hex', MD5_SHA256),
  hashed('imei_salted', 'imei', 'opaque', 'IMEI hashed with a salt we do not know; matches only itself', TENCENT, [], [32, 64]),

  raw('idfa', 'idfa', 'IDFA, upper-case 8-4-4-4-12', normalizeIdfa, ['idfa_md5', 'idfa_sha256', 'idfa_md5_sha256'], TENCENT),
  hashed('idfa_md5', 'idfa', 'md5', 'MD5 of the upper-case hyphenated IDFA', TENCENT, ['idfa_md5_sha256']),
  hashed('idfa_sha256', 'idfa', 'sha256', 'SHA-256 of the upper-case hyphenated IDFA', SHA256_FORM),
  hashed('idfa_md5_sha256', 'idfa', 'md5_sha256', 'SHA-256 of the IDFA MD5 hex', MD5_SHA256),
  hashed('idfa_salted', 'idfa', 'opaque', 'IDFA hashed with a salt we do not know; matches only itself', TENCENT, [], [32, 64]),

  raw('gaid', 'gaid', 'Google advertising id, lower-case UUID', normalizeGaid, ['gaid_md5'], MINTEGRAL),
  hashed('gaid_md5', 'gaid', 'md5', 'MD5 of the lower-case GAID', MINTEGRAL),

  raw('oaid', 'oaid', 'OAID exactly as the device reports it', normalizeOaid, ['oaid_md5', 'oaid_md5_sha256'], DATANEXUS),
  hashed('oaid_md5', 'oaid', 'md5', 'MD5 of the raw OAID', DATANEXUS, ['oaid_md5_sha256']),
  hashed('oaid_md5_sha256', 'oaid', 'md5_sha256', 'SHA-256 of the OAID MD5 hex', DATANEXUS),

  raw('idfv', 'idfv', 'IDFV, upper-case 8-4-4-4-12', normalizeIdfv, ['idfv_md5'], MINTEGRAL),
  hashed('idfv_md5', 'idfv', 'md5', 'MD5 of the upper-case IDFV', MINTEGRAL),

  // CAID (China Advertising Association id for iOS) is issued already in
  // digest form; we take it as an opaque 32-hex key. Assumed from the ids seen
  // in the wild; neither vendor page states the shape.
  hashed('caid', 'caid', 'opaque', 'CAID, an opaque 32-hex key', TENCENT),

  raw('mac', 'mac', 'MAC address without separators, upper-case', normalizeMac, ['mac_md5'], TENCENT),
  hashed('mac_md5', 'mac', 'md5', 'MD5 of the MAC without colons, upper-case', TENCENT),

  raw('android_id', 'android_id', 'Android id, lower-case hex', normalizeAndroidId, ['android_id_md5'], MINTEGRAL),
  hashed('android_id_md5', 'android_id', 'md5', 'MD5 of the lower-case Android id', MINTEGRAL),

  raw('phone', 'phone', 'mainland China mobile number, the 11 digits', normalizeMainlandPhone, ['phone_md5', 'phone_sha256', { type: 'phone_e164_sha256', input: e164OfMainland }], TENCENT),
  raw('phone_e164', 'phone', 'phone number in E.164: + and country code', normalizeE164, ['phone_e164_sha256', { type: 'phone_md5', input: mainlandOfE164 }, { type: 'phone_sha256', input: mainlandOfE164 }], 'Google Data Manager / TikTok customer file: E.164, SHA-256'),
  hashed('phone_md5', 'phone', 'md5', 'MD5 of the 11-digit mainland number', TENCENT),
  hashed('phone_sha256', 'phone', 'sha256', 'SHA-256 of the 11-digit mainland number', 'Tencent SHA256_MOBILE_PHONE'),
  hashed('phone_e164_sha256', 'phone', 'sha256', 'SHA-256 of the E.164 number with its +', 'Google Data Manager / TikTok customer file'),

  raw('email', 'email', 'email address, trimmed and lower-case', normalizeEmail, ['email_sha256'], 'Google Data Manager / X Ads / TikTok'),
  hashed('email_sha256', 'email', 'sha256', 'SHA-256 of the lower-case email', 'Google Data Manager / X Ads / TikTok'),

  raw('qq', 'qq', 'QQ number', normalizeQq, ['qq_md5'], TENCENT),
  hashed('qq_md5', 'qq', 'md5', 'MD5 of the QQ number', TENCENT),

  raw('wx_openid', 'wx_openid', 'WeChat openid, kept exactly', tokenRule('WeChat openid'), ['wx_openid_md5'], TENCENT),
  hashed('wx_openid_md5', 'wx_openid', 'md5', 'MD5 of the WeChat openid (internal)', OURS),
  raw('wx_unionid', 'wx_unionid', 'WeChat unionid, kept exactly', tokenRule('WeChat unionid'), ['wx_unionid_md5'], TENCENT),
  hashed('wx_unionid_md5', 'wx_unionid', 'md5', 'MD5 of the WeChat unionid (internal)', OURS),
  raw('gdt_openid', 'gdt_openid', 'GDT cookie-mapping openid, kept exactly', tokenRule('GDT openid'), ['gdt_openid_md5'], TENCENT),
  hashed('gdt_openid_md5', 'gdt_openid', 'md5', 'MD5 of the GDT openid (internal)', OURS),
];

/** Every id type by canonical name. */
export const ID_TYPES: Readonly<Record<IdTypeName, IdTypeEntry>> = Object.freeze(
  Object.fromEntries(entries.map((e) => [e.name, Object.freeze(e)])) as Record<IdTypeName, IdTypeEntry>,
);

export const ID_TYPE_NAMES: readonly IdTypeName[] = Object.freeze(entries.map((e) => e.name));

export function isIdTypeName(name: string): name is IdTypeName {
  return Object.prototype.hasOwnProperty.call(ID_TYPES, name);
}

/** The entry for a name given at run time (an API parameter, a file header), or undefined. */
export function lookupIdType(name: string): IdTypeEntry | undefined {
  return isIdTypeName(name) ? ID_TYPES[name] : undefined;
}

/** The types of one family, raw first, in registry order. */
export function typesOfFamily(family: Family): readonly IdTypeEntry[] {
  return entries.filter((e) => e.family === family);
}
