// Tencent COS request signatures ("q-sign", q-sign-algorithm=sha1).
//
// Algorithm from the COS API doc "Request Signature" (product 436, 7778):
//   KeyTime      = "<start>;<end>" (Unix seconds)
//   SignKey      = hex HMAC-SHA1(SecretKey, KeyTime)
//   HttpString   = method\n path\n params\n headers\n   (method lower-case, path decoded)
//   StringToSign = "sha1\n" KeyTime "\n" hex SHA1(HttpString) "\n"
//   Signature    = hex HMAC-SHA1(SignKey, StringToSign)
// params/headers: names RFC 3986-encoded then lower-cased, values RFC 3986-encoded,
// sorted by name, joined as name=value with &. The same q-* string travels either
// as the Authorization header or in the query string.

import { createHash, createHmac } from 'node:crypto';
import { decodePath, parseRawQuery, rfc3986Encode, signaturesEqual } from './encoding.js';
import { SignatureError, headerValue, type SignedRequest } from './types.js';

/** How far ahead of our clock a signature's start time may be. */
export const COS_MAX_FUTURE_SKEW_SECONDS = 15 * 60;

const Q_FIELDS = [
  'q-sign-algorithm',
  'q-ak',
  'q-sign-time',
  'q-key-time',
  'q-header-list',
  'q-url-param-list',
  'q-signature',
] as const;
type QField = (typeof Q_FIELDS)[number];

export interface SignCosOptions {
  method: string;
  /** Decoded object path starting with `/` (e.g. `/dir/a b.txt`). */
  path: string;
  secretId: string;
  secretKey: string;
  /** Unix seconds. */
  startTime: number;
  /** Unix seconds. */
  endTime: number;
  /** Headers to sign, e.g. { host }. The request must carry the same values. */
  headers?: Record<string, string>;
  /** Query parameters to sign. The request must carry the same values. */
  params?: Record<string, string>;
}

export interface VerifyCosOptions {
  lookupSecret(secretId: string): string | undefined;
  now?: Date;
}

export interface VerifiedCosRequest {
  secretId: string;
  /** Decoded request path. */
  path: string;
  expiresAt: Date;
  /** Lower-case names from q-header-list. */
  signedHeaders: string[];
  /** Lower-case names from q-url-param-list. */
  signedParams: string[];
  /** Where the q-sign parameters came from. */
  source: 'header' | 'query';
}

// ---------------------------------------------------------------- shared pieces

function sha1Hex(data: string): string {
  return createHash('sha1').update(data, 'utf8').digest('hex');
}

function hmacSha1Hex(key: string, data: string): string {
  return createHmac('sha1', key).update(data, 'utf8').digest('hex');
}

/** [encoded lower-case name, encoded value], sorted by name: the doc's canonical form. */
type Entry = [string, string];

function canonicalEntries(entries: Array<[string, string]>): Entry[] {
  return entries
    .map(([k, v]): Entry => [rfc3986Encode(k).toLowerCase(), rfc3986Encode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function joinEntries(entries: Entry[]): string {
  return entries.map(([k, v]) => `${k}=${v}`).join('&');
}

function cosSignature(secretKey: string, keyTime: string, signTime: string, httpString: string): string {
  const signKey = hmacSha1Hex(secretKey, keyTime);
  const stringToSign = ['sha1', signTime, sha1Hex(httpString), ''].join('\n');
  return hmacSha1Hex(signKey, stringToSign);
}

function httpString(method: string, path: string, params: Entry[], headers: Entry[]): string {
  return [method.toLowerCase(), path, joinEntries(params), joinEntries(headers), ''].join('\n');
}

// ---------------------------------------------------------------- signing

/** Returns `q-sign-algorithm=sha1&q-ak=…&…&q-signature=…` (usable as Authorization or as a query string). */
export function signCos(opts: SignCosOptions): string {
  if (!Number.isInteger(opts.startTime) || !Number.isInteger(opts.endTime) || opts.startTime > opts.endTime) {
    throw new RangeError('startTime and endTime must be integer Unix seconds with startTime <= endTime');
  }
  const keyTime = `${opts.startTime};${opts.endTime}`;
  const path = opts.path.startsWith('/') ? opts.path : `/${opts.path}`;
  const headers = canonicalEntries(Object.entries(opts.headers ?? {}));
  const params = canonicalEntries(Object.entries(opts.params ?? {}));
  for (const list of [headers, params]) {
    if (list.some(([k], i) => i > 0 && list[i - 1][0] === k)) {
      throw new Error('a header or parameter name appears twice (names are case-insensitive)');
    }
  }
  const signature = cosSignature(opts.secretKey, keyTime, keyTime, httpString(opts.method, path, params, headers));
  return [
    'q-sign-algorithm=sha1',
    `q-ak=${opts.secretId}`,
    `q-sign-time=${keyTime}`,
    `q-key-time=${keyTime}`,
    `q-header-list=${headers.map(([k]) => k).join(';')}`,
    `q-url-param-list=${params.map(([k]) => k).join(';')}`,
    `q-signature=${signature}`,
  ].join('&');
}

// ---------------------------------------------------------------- verification

function invalid(message: string): SignatureError {
  return new SignatureError('InvalidArgument', message, 400);
}

function mismatch(): SignatureError {
  return new SignatureError(
    'SignatureDoesNotMatch',
    'The calculated signature does not match the signature you provided. Check your key and signing method.',
    403,
  );
}

/** Splits `a=b&c=d` without decoding: the Authorization header carries the q-* values verbatim. */
function splitVerbatim(value: string): Array<[string, string]> {
  return value.split('&').map((part): [string, string] => {
    const eq = part.indexOf('=');
    return eq < 0 ? [part.trim(), ''] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  });
}

function pickQFields(pairs: Array<[string, string]>): Partial<Record<QField, string>> {
  const found: Partial<Record<QField, string>> = {};
  for (const [name, value] of pairs) {
    if (!(Q_FIELDS as readonly string[]).includes(name)) continue;
    if (found[name as QField] !== undefined) throw invalid(`${name} appears more than once`);
    found[name as QField] = value;
  }
  return found;
}

/**
 * Finds the q-sign fields: in the Authorization header when it holds any,
 * otherwise in the query string (COS accepts either).
 */
function qFields(req: SignedRequest, query: Array<[string, string]>) {
  const auth = headerValue(req.headers, 'authorization');
  const fromHeader = auth === undefined ? {} : pickQFields(splitVerbatim(auth));
  const source = Object.keys(fromHeader).length > 0 ? ('header' as const) : ('query' as const);
  const found = source === 'header' ? fromHeader : pickQFields(query);
  if (Object.keys(found).length === 0) throw new SignatureError('AccessDenied', 'Access Denied.', 403);
  const missing = Q_FIELDS.filter((f) => found[f] === undefined);
  if (missing.length > 0) {
    throw new SignatureError('MissingParameter', `The request is missing ${missing.join(', ')}`, 400);
  }
  return { fields: found as Record<QField, string>, source };
}

function parseTimeRange(name: string, value: string): [number, number] {
  const m = /^(\d{1,12});(\d{1,12})$/.exec(value);
  if (!m || Number(m[1]) > Number(m[2])) throw invalid(`${name} must be "<start>;<end>" in Unix seconds`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * A list such as `content-md5;host`, each name in the doc's form (RFC 3986-
 * encoded, lower case); empty means nothing signed. Names are compared in that
 * canonical form after undoing any URL encoding: SDKs append the q-* string to
 * a URL unencoded (`part%20number` then arrives decoded as `part number`),
 * careful clients encode it once more (`part%2520number`).
 */
function parseNameList(name: string, value: string): string[] {
  const names = value === '' ? [] : value.split(';').map(canonicalName);
  if (names.some((n) => n === '') || new Set(names).size !== names.length) {
    throw invalid(`${name} must be distinct names separated by ;`);
  }
  return names;
}

function canonicalName(listed: string): string {
  let decoded = listed;
  for (let i = 0; i < 2 && decoded.includes('%'); i++) decoded = decodePath(decoded) ?? decoded;
  return rfc3986Encode(decoded).toLowerCase();
}

function checkTime(signTime: [number, number], keyTime: [number, number], now: Date): Date {
  const nowSec = Math.floor(now.getTime() / 1000);
  const end = Math.min(signTime[1], keyTime[1]);
  if (nowSec > end) throw new SignatureError('AccessDenied', 'Request has expired', 403);
  if (Math.max(signTime[0], keyTime[0]) > nowSec + COS_MAX_FUTURE_SKEW_SECONDS) {
    throw new SignatureError('RequestTimeTooSkewed', 'The difference between the request time and the server time is too large.', 403);
  }
  return new Date(end * 1000);
}

/** The signed headers as the request carries them; a listed header that is absent cannot match. */
function signedHeaderEntries(req: SignedRequest, names: string[]): Entry[] {
  return names.map((name): Entry => {
    const value = headerValue(req.headers, decodePath(name) ?? name);
    if (value === undefined) throw mismatch();
    return [name, rfc3986Encode(value)];
  });
}

/**
 * The signed parameters as the request carries them. An absent one cannot
 * match (`?uploads` versus nothing changes the operation); a repeated one is
 * ambiguous and refused.
 */
function signedParamEntries(query: Array<[string, string]>, names: string[]): Entry[] {
  return names.map((name): Entry => {
    const hits = query.filter(([k]) => rfc3986Encode(k).toLowerCase() === name);
    if (hits.length > 1) throw invalid(`query parameter ${name} appears more than once`);
    if (hits.length === 0) throw mismatch();
    return [name, rfc3986Encode(hits[0][1])];
  });
}

/**
 * Verifies a COS q-sign request (Authorization header or query string).
 * Throws SignatureError with COS's codes; on success tells who signed, for
 * which decoded path, and until when.
 */
export function verifyCos(req: SignedRequest, opts: VerifyCosOptions): VerifiedCosRequest {
  const query = parseRawQuery(req.rawQuery);
  if (query === undefined) throw invalid('The query string is not correctly percent-encoded');
  const path = decodePath(req.rawPath === '' ? '/' : req.rawPath);
  if (path === undefined) throw invalid('The request path is not correctly percent-encoded');

  const { fields, source } = qFields(req, query);
  if (fields['q-sign-algorithm'] !== 'sha1') throw invalid('q-sign-algorithm must be sha1');
  const signTime = parseTimeRange('q-sign-time', fields['q-sign-time']);
  const keyTime = parseTimeRange('q-key-time', fields['q-key-time']);
  const headerNames = parseNameList('q-header-list', fields['q-header-list']);
  const paramNames = parseNameList('q-url-param-list', fields['q-url-param-list']);
  const expiresAt = checkTime(signTime, keyTime, opts.now ?? new Date());

  const secretId = fields['q-ak'];
  const secretKey = opts.lookupSecret(secretId);
  if (secretKey === undefined) {
    throw new SignatureError('InvalidAccessKeyId', 'The access key Id you provided does not exist in our records.', 403);
  }

  // Names are already sorted when the signer followed the doc; sorting again is harmless.
  const byName = (a: Entry, b: Entry) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const headers = signedHeaderEntries(req, headerNames).sort(byName);
  const params = signedParamEntries(query, paramNames).sort(byName);
  const expected = cosSignature(
    secretKey,
    fields['q-key-time'],
    fields['q-sign-time'],
    httpString(req.method, path, params, headers),
  );
  if (!signaturesEqual(expected, fields['q-signature'])) throw mismatch();
  return { secretId, path, expiresAt, signedHeaders: headerNames, signedParams: paramNames, source };
}
