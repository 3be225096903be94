// Vendor id-type names → our registry. Each dialect translates its parameter
// here and the rest of the system sees canonical names only.
import type { IdTypeName } from './types.js';

/**
 * Tencent Marketing API `user_id_type` (custom_audience_files/add and
 * custom_tag_files/add enum, plus the types the "客户文件人群" page also lists).
 * WX_OPENID is the old name of WECHAT_OPENID ("原有 WX_OPENID 已升级为
 * WECHAT_OPENID"), so both map to wx_openid.
 */
export const TENCENT_USER_ID_TYPES = Object.freeze({
  IMEI: 'imei',
  HASH_IMEI: 'imei_md5',
  MD5_SHA256_IMEI: 'imei_md5_sha256',
  SALTED_HASH_IMEI: 'imei_salted',
  IDFA: 'idfa',
  HASH_IDFA: 'idfa_md5',
  MD5_SHA256_IDFA: 'idfa_md5_sha256',
  SALTED_HASH_IDFA: 'idfa_salted',
  OAID: 'oaid',
  HASH_OAID: 'oaid_md5',
  MD5_SHA256_OAID: 'oaid_md5_sha256',
  CAID: 'caid',
  HASH_MOBILE_PHONE: 'phone_md5',
  SHA256_MOBILE_PHONE: 'phone_sha256',
  MAC: 'mac',
  HASH_MAC: 'mac_md5',
  QQ: 'qq',
  HASH_QQ: 'qq_md5',
  WX_OPENID: 'wx_openid',
  WECHAT_OPENID: 'wx_openid',
  WX_UNIONID: 'wx_unionid',
  GDT_OPENID: 'gdt_openid',
} as const satisfies Record<string, IdTypeName>);

export type TencentUserIdType = keyof typeof TENCENT_USER_ID_TYPES;

/**
 * Mintegral audience `device_type` (API-NOTES.md: 12 IDFV, 13 IDFV_MD5).
 * Mintegral's public createAudience / getAudienceList pages number IDFV 10 and
 * IDFV_MD5 11 instead; neither number means anything else, so both are
 * accepted. Numbers we answer with come from MINTEGRAL_DEVICE_TYPE_OF.
 */
export const MINTEGRAL_DEVICE_TYPES: Readonly<Record<number, IdTypeName>> = Object.freeze({
  1: 'imei',
  2: 'idfa',
  3: 'gaid',
  4: 'oaid',
  6: 'imei_md5',
  7: 'idfa_md5',
  8: 'gaid_md5',
  9: 'oaid_md5',
  10: 'idfv',
  11: 'idfv_md5',
  12: 'idfv',
  13: 'idfv_md5',
});

/** The device_type we report for a type (API-NOTES.md numbering), where Mintegral has one. */
export const MINTEGRAL_DEVICE_TYPE_OF: Readonly<Partial<Record<IdTypeName, number>>> = Object.freeze({
  imei: 1,
  idfa: 2,
  gaid: 3,
  oaid: 4,
  imei_md5: 6,
  idfa_md5: 7,
  gaid_md5: 8,
  oaid_md5: 9,
  idfv: 12,
  idfv_md5: 13,
});

/** Canonical type for a Tencent user_id_type, or undefined when Tencent has no such value. */
export function fromTencent(userIdType: string): IdTypeName | undefined {
  return Object.prototype.hasOwnProperty.call(TENCENT_USER_ID_TYPES, userIdType)
    ? TENCENT_USER_ID_TYPES[userIdType as TencentUserIdType]
    : undefined;
}

/** Canonical type for a Mintegral device_type (number or numeric string), or undefined. */
export function fromMintegral(deviceType: number | string): IdTypeName | undefined {
  const n = typeof deviceType === 'number' ? deviceType : /^[0-9]{1,3}$/.test(deviceType) ? Number(deviceType) : NaN;
  return Object.prototype.hasOwnProperty.call(MINTEGRAL_DEVICE_TYPES, n) ? MINTEGRAL_DEVICE_TYPES[n] : undefined;
}
