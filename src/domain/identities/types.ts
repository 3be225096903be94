// The vocabulary of the id-type registry: our own canonical type names, the
// raw identifier each one is a form of (its family), and the hash chain that
// turns a normalized raw value into the form. Vendor names (Tencent
// `user_id_type`, Mintegral `device_type`) map onto these in vendor-maps.ts.

/** The raw identifier a type is a form of. Two keys link to one user only within a family. */
export type Family =
  | 'imei'
  | 'idfa'
  | 'gaid'
  | 'oaid'
  | 'idfv'
  | 'caid'
  | 'mac'
  | 'android_id'
  | 'phone'
  | 'email'
  | 'qq'
  | 'wx_openid'
  | 'wx_unionid'
  | 'gdt_openid';

/** Ids that arrive as text and are normalized, hashed and then forgotten. */
export type RawTypeName =
  | 'imei'
  | 'idfa'
  | 'gaid'
  | 'oaid'
  | 'idfv'
  | 'mac'
  | 'android_id'
  | 'phone'
  | 'phone_e164'
  | 'email'
  | 'qq'
  | 'wx_openid'
  | 'wx_unionid'
  | 'gdt_openid';

/** Types whose value is a digest (or an opaque hex key) and is stored as raw bytes. */
export type HashedTypeName =
  | 'imei_md5'
  | 'imei_sha256'
  | 'imei_md5_sha256'
  | 'imei_salted'
  | 'idfa_md5'
  | 'idfa_sha256'
  | 'idfa_md5_sha256'
  | 'idfa_salted'
  | 'gaid_md5'
  | 'oaid_md5'
  | 'oaid_md5_sha256'
  | 'idfv_md5'
  | 'caid'
  | 'mac_md5'
  | 'android_id_md5'
  | 'phone_md5'
  | 'phone_sha256'
  | 'phone_e164_sha256'
  | 'email_sha256'
  | 'qq_md5'
  | 'wx_openid_md5'
  | 'wx_unionid_md5'
  | 'gdt_openid_md5';

export type IdTypeName = RawTypeName | HashedTypeName;

/**
 * How a hashed form is computed from the normalized raw value.
 * `md5_sha256` is SHA-256 over the lower-case hex text of the MD5 (Tencent
 * MD5_SHA256_*, checked against the OAID vector in API-NOTES.md).
 * `opaque` keys (salted hashes, CAID) cannot be computed from anything we see.
 */
export type HashChain = 'none' | 'md5' | 'sha256' | 'md5_sha256' | 'opaque';

/** A normalizer's refusal: a sentence a person uploading the file understands. */
export class Refusal {
  constructor(readonly reason: string) {}
}

/** Turns one trimmed value into its canonical text, or refuses it. */
export type Normalizer = (value: string) => string | Refusal;

/** A hashed form a value links to; `input` rewrites the normalized value first (null: no link for this value). */
export interface Link {
  readonly type: HashedTypeName;
  readonly input?: (normalized: string) => string | null;
}

interface EntryBase {
  readonly family: Family;
  /** One line for people: what the type holds. */
  readonly label: string;
  /** Where the rule comes from (vendor page or our decision). */
  readonly source: string;
}

export interface RawEntry extends EntryBase {
  readonly name: RawTypeName;
  readonly kind: 'raw';
  readonly chain: 'none';
  readonly normalize: Normalizer;
  /** Every hashed form one raw value yields, in order; never empty (raw ids are never stored). */
  readonly links: readonly Link[];
}

export interface HashedEntry extends EntryBase {
  readonly name: HashedTypeName;
  readonly kind: 'hashed';
  readonly chain: Exclude<HashChain, 'none'>;
  /** Accepted hex lengths (case-insensitive); the key is stored as hexLength/2 raw bytes. */
  readonly hexLengths: readonly number[];
  /** Further forms computable from this digest (MD5 → MD5-then-SHA-256). */
  readonly links: readonly Link[];
}

export type IdTypeEntry = RawEntry | HashedEntry;
