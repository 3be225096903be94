// ICE's wire shapes, parsed and checked before anything reaches the domain.
// The object parameters (FileInfo, MediaMetaData, UploadTargetConfig,
// PostProcessConfig, UserData) travel as JSON strings; each is checked key by
// key against the fields the vendor documents for CreateUploadMedia
// (https://www.alibabacloud.com/help/en/ims/developer-reference/api-ice-2020-11-09-createuploadmedia)
// and RegisterMediaInfo, with the vendor's length limits where it states them
// (titles 128 bytes, descriptions 1,024, at most 16 tags of 32 bytes, as VOD).
// Every refusal names the parameter, down to the key: `FileInfo.Ext`.
import { isSafeKey } from '../../../../domain/uploads/keys.js';
import { AppError, err } from '../../../../errors.js';

export type Rule<T> = (value: unknown, field: string) => T;
type Spec = Record<string, Rule<unknown>>;
type Parsed<S extends Spec> = { [K in keyof S]?: ReturnType<S[K]> };

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
export const invalid = (field: string, what: string): AppError => err('InvalidParameter', `${field} ${what}`, field);
export const missing = (field: string): AppError => err('MissingParameter', `${field} is required`, field);

interface TextOptions {
  maxBytes: number;
  pattern?: RegExp;
  /** Says what the pattern allows, for the error message. */
  hint?: string;
  oneOf?: readonly string[];
}

/** A string; `oneOf` values are matched without regard to case and answered in their canonical spelling. */
export function text(o: TextOptions): Rule<string> {
  return (v, field) => {
    if (typeof v !== 'string') throw invalid(field, 'must be a string');
    if (v === '') throw invalid(field, 'must not be empty');
    if (bytes(v) > o.maxBytes) throw invalid(field, `must be at most ${o.maxBytes} bytes of UTF-8`);
    if (o.oneOf) {
      const hit = o.oneOf.find((x) => x.toLowerCase() === v.toLowerCase());
      if (!hit) throw invalid(field, `must be one of ${o.oneOf.join(', ')}${o.hint ? ` (${o.hint})` : ''}`);
      return hit;
    }
    if (o.pattern && !o.pattern.test(v)) throw invalid(field, `must be ${o.hint ?? `of the form ${o.pattern}`}`);
    return v;
  };
}

/** A JSON integer, or a string of digits (some SDKs send numbers as strings). */
export function integer(min: number, max: number, unit = ''): Rule<number> {
  return (v, field) => {
    const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw invalid(field, 'must be an integer');
    if (n < min || n > max) throw invalid(field, `must be from ${min} to ${max}${unit}`);
    return n;
  };
}

export function httpUrl(maxBytes = 1024): Rule<string> {
  return (v, field) => {
    const s = text({ maxBytes })(v, field);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw invalid(field, 'must be an absolute http or https URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(field, 'must be an http or https URL');
    if (u.username || u.password) throw invalid(field, 'must not carry a user name or password');
    return s;
  };
}

/** Comma-separated tags: at most 16, each 1-32 bytes. */
export const tags: Rule<string> = (v, field) => {
  const s = text({ maxBytes: 16 * 33 })(v, field);
  const list = s.split(',').map((t) => t.trim());
  if (list.length > 16) throw invalid(field, 'holds more than 16 tags');
  if (list.some((t) => t === '' || bytes(t) > 32)) throw invalid(field, 'must be comma-separated tags of 1 to 32 bytes each');
  return list.join(',');
};

/** A nested object, or a string holding one (ICE passes both), at most `maxBytes` as JSON. */
function jsonValue(maxBytes: number): Rule<Record<string, unknown> | string> {
  return (v, field) => {
    const obj = typeof v === 'string' ? parseObject(v, field) : v;
    if (!isPlainObject(obj)) throw invalid(field, 'must be a JSON object');
    if (bytes(JSON.stringify(obj)) > maxBytes) throw invalid(field, `must be at most ${maxBytes} bytes as JSON`);
    return v as Record<string, unknown> | string;
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseObject(raw: string, field: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw invalid(field, 'must be a JSON object string; it is not valid JSON');
  }
  if (!isPlainObject(v)) throw invalid(field, 'must be a JSON object string');
  return v;
}

/** Checks an object against a spec: unknown keys are refused, required ones must be there. */
export function checkObject<S extends Spec>(v: unknown, field: string, spec: S, required: Array<keyof S & string> = []): Parsed<S> {
  if (!isPlainObject(v)) throw invalid(field, 'must be a JSON object');
  for (const key of Object.keys(v)) {
    if (!Object.hasOwn(spec, key)) throw invalid(`${field}.${key}`, `is not a field of ${field}; the fields are ${Object.keys(spec).join(', ')}`);
  }
  const out: Parsed<S> = {};
  for (const key of Object.keys(spec) as Array<keyof S & string>) {
    const value = v[key];
    if (value === undefined || value === null || value === '') {
      if (required.includes(key)) throw missing(`${field}.${key}`);
      continue;
    }
    out[key] = spec[key](value, `${field}.${key}`) as Parsed<S>[typeof key];
  }
  return out;
}

const object = <S extends Spec>(spec: S, required: Array<keyof S & string> = []): Rule<Parsed<S>> => (v, field) => checkObject(v, field, spec, required);

/** A parameter holding a JSON object string, checked against its spec; undefined when absent. */
export function jsonParam<S extends Spec>(params: Record<string, string>, name: string, spec: S, required: Array<keyof S & string> = [], maxBytes = 8192): Parsed<S> | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  if (bytes(raw) > maxBytes) throw invalid(name, `must be at most ${maxBytes} bytes`);
  return checkObject(parseObject(raw, name), name, spec, required);
}

// ---- The vendor's objects ---------------------------------------------------

/** Audience files only: text, CSV, or gzip of either. */
export const AUDIENCE_EXTS = ['txt', 'csv', 'gz'] as const;

export function fileInfoSpec(maxBytes: number) {
  return {
    Type: text({ maxBytes: 16, oneOf: ['text'], hint: 'audience files are text' }),
    Name: text({ maxBytes: 200 }),
    Size: integer(0, maxBytes, ' bytes'),
    Ext: text({ maxBytes: 8, oneOf: AUDIENCE_EXTS, hint: 'audience files are txt, csv or gz' }),
  };
}

export const mediaMetaDataSpec = {
  Title: text({ maxBytes: 128 }),
  Description: text({ maxBytes: 1024 }),
  Tags: tags,
  CoverURL: httpUrl(),
  CateId: integer(0, Number.MAX_SAFE_INTEGER),
  BusinessType: text({ maxBytes: 32, pattern: /^[A-Za-z][A-Za-z0-9_-]*$/, hint: 'a word such as general' }),
  DynamicMetaData: jsonValue(4096),
};

export const uploadTargetConfigSpec = {
  StorageType: text({ maxBytes: 8, oneOf: ['oss', 'vod'] }),
  StorageLocation: text({ maxBytes: 256, pattern: /^[a-z0-9][a-z0-9.-]*$/, hint: 'a bucket host name such as audiencehub-cn.oss-cn-shanghai.aliyuncs.com' }),
};

export const postProcessConfigSpec = {
  ProcessType: text({ maxBytes: 16, oneOf: ['Workflow'] }),
  ProcessID: text({ maxBytes: 64, pattern: /^[A-Za-z0-9_-]+$/, hint: 'letters, digits, _ and -' }),
};

export const userDataSpec = {
  MessageCallback: object(
    {
      CallbackURL: httpUrl(),
      // ICE also delivers to MNS queues; only HTTP(S) callbacks are served here.
      CallbackType: text({ maxBytes: 8, oneOf: ['http'], hint: 'mns is not supported' }),
    },
    ['CallbackURL'],
  ),
  Extend: jsonValue(512),
};

// ---- Scalar parameters ---------------------------------------------------------

export function requiredParam(params: Record<string, string>, name: string): string {
  const v = params[name];
  if (v === undefined || v === '') throw missing(name);
  return v;
}

/** Media ids we issue are 32 hex characters; anything not id-shaped cannot name one. */
export function mediaIdParam(params: Record<string, string>, name = 'MediaId'): string {
  const v = requiredParam(params, name);
  if (!/^[A-Za-z0-9]{1,64}$/.test(v)) throw invalid(name, 'must be a media id (letters and digits, at most 64)');
  return v;
}

export function optionalParam(params: Record<string, string>, name: string, rule: Rule<string>): string | undefined {
  const v = params[name];
  return v === undefined || v === '' ? undefined : rule(v, name);
}

export interface ObjectRef {
  bucket: string;
  key: string;
}

/**
 * An object of our store named the ways ICE accepts: `oss://bucket/key` (and
 * `s3://`, our data_path for other clusters), the store's own path-style URL
 * `<publicUrl>/bucket/key`, or a virtual-hosted URL `http(s)://bucket.<host>/key`.
 */
export function parseObjectUrl(raw: string, publicUrl: string, field = 'InputURL'): ObjectRef {
  if (bytes(raw) > 2048) throw invalid(field, 'must be at most 2048 bytes');
  // A data_path carries the key raw (not percent-encoded), so everything after the bucket is the key.
  const scheme = /^(oss|s3):\/\/([^/?#]+)\/(.+)$/s.exec(raw);
  let ref: ObjectRef | undefined;
  if (scheme) ref = { bucket: scheme[2], key: scheme[3] };
  else if (/^https?:\/\//i.test(raw)) ref = fromHttpUrl(raw, publicUrl);
  if (!ref || !isSafeKey(ref.key)) throw invalid(field, 'must be oss://bucket/key, s3://bucket/key or an http(s) URL of an object in this store');
  return ref;
}

function fromHttpUrl(raw: string, publicUrl: string): ObjectRef | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return undefined;
  }
  const segments = u.pathname.split('/').slice(1);
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  if (u.origin === new URL(publicUrl).origin) {
    const [bucket, ...rest] = decoded;
    return bucket && rest.length ? { bucket, key: rest.join('/') } : undefined;
  }
  const bucket = u.hostname.split('.')[0];
  return bucket && decoded.length ? { bucket, key: decoded.join('/') } : undefined;
}
