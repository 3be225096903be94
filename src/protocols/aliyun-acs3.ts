// Alibaba Cloud OpenAPI signature V3, ACS3-HMAC-SHA256, as signed by npm
// @alicloud/openapi-client (its default algorithm) for RPC and ROA APIs alike.
//
// "Request syntax and signature method V3" (Alibaba Cloud SDK docs, "V3版本请求体&签名机制"):
//   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n
//                      CanonicalHeaders \n SignedHeaders \n HashedRequestPayload
//     CanonicalURI: the path, each segment RFC 3986 encoded; `/` for RPC APIs.
//     CanonicalQueryString: the query parameters sorted by name, name and value
//       RFC 3986 encoded (space %20, * %2A, ~ literal), `name=value` joined by `&`
//       (a parameter without a value is `name=`).
//     CanonicalHeaders: per signed header `name:value\n`, names lower-cased and
//       sorted, values trimmed; host, content-type and every x-acs-* header are
//       signed ("every common request header but Authorization, when present").
//     SignedHeaders: those names joined by `;`.
//     HashedRequestPayload: hex SHA-256 of the body (of '' when none), also sent
//       as x-acs-content-sha256.
//   StringToSign = "ACS3-HMAC-SHA256\n" + hex SHA-256(CanonicalRequest)
//   Signature    = hex HMAC-SHA256(AccessKeySecret, StringToSign)   (the secret as is, no "&")
//   Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex>
// with x-acs-action, x-acs-version, x-acs-date (ISO 8601 UTC, yyyy-MM-ddTHH:mm:ssZ),
// x-acs-signature-nonce and x-acs-content-sha256 as common request headers.
//
// Refusals reuse the OpenAPI gateway's client error codes that V1 answers with
// (see aliyun-rpc.ts), a header being named by the V1 parameter it stands for:
// MissingAction, MissingVersion, MissingTimestamp, MissingSignatureNonce 400
// (MissingSignature without Authorization, MissingParameter without
// x-acs-content-sha256); IncompleteSignature 400 for a malformed Authorization
// or a header left unsigned; InvalidSignatureMethod 400 for another ACS3
// algorithm; InvalidTimeStamp.Format / .Expired 400;
// InvalidAccessKeyId.NotFound 404; SignatureDoesNotMatch 400 (also when
// x-acs-content-sha256 is not the hash of the body). Replays are the caller's
// business: the nonce is returned.

import { createHmac, randomBytes } from 'node:crypto';
import { aliyunEncode, aliyunTimestamp, parseAliyunTimestamp } from './aliyun-rpc.js';
import { authorizationFields, decodePath, parseRawQuery, sha256Hex, signaturesEqual, sortedHeaderNames } from './encoding.js';
import { SignatureError, headerValue, type HeaderMap, type SignedRequest } from './types.js';

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';
/** Aliyun accepts an x-acs-date at most 15 minutes away from its clock. */
export const ACS3_DEFAULT_MAX_SKEW_SECONDS = 900;

export interface VerifyAcs3Options {
  lookupSecret(accessKeyId: string): string | undefined;
  now?: Date;
  maxSkewSeconds?: number;
}

export interface Acs3Identity {
  accessKeyId: string;
  action: string;
  version: string;
  /** x-acs-signature-nonce, for the caller's replay check. */
  nonce: string;
}

export interface Acs3CanonicalInput {
  method: string;
  /** Path as sent, still percent-encoded. */
  rawPath: string;
  /** Query string as sent, without `?`. */
  rawQuery: string;
  /** The signed headers, name -> value (names in any case). */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body. */
  hashedPayload: string;
}

export interface SignAcs3Options {
  accessKeyId: string;
  secret: string;
  action: string;
  version: string;
  /** The Host header that will be sent (host[:port]). */
  host: string;
  /** Defaults to POST. */
  method?: string;
  /** Defaults to `/`. */
  rawPath?: string;
  /** Query parameters; encoded here, in name order. */
  query?: Record<string, string>;
  body?: string | Buffer;
  /** Sent and signed when given. */
  contentType?: string;
  /** Defaults to now. */
  date?: Date;
  /** Defaults to 16 random bytes in hex. */
  nonce?: string;
  /** More headers to send and sign (x-acs-* ones, say). */
  headers?: Record<string, string>;
}

export interface SignedAcs3Request {
  /** Every header to send, Authorization included (names lower-case). */
  headers: Record<string, string>;
  /** The query string to send, without `?`. */
  rawQuery: string;
}

/** Headers whose absence is reported as Missing{Name}, in this order. */
const REQUIRED_HEADERS: Array<[header: string, parameter: string]> = [
  ['x-acs-action', 'Action'],
  ['x-acs-version', 'Version'],
  ['x-acs-date', 'Timestamp'],
  ['x-acs-signature-nonce', 'SignatureNonce'],
];
/** Headers that must be present and signed on every request. */
const ALWAYS_SIGNED = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'];

// ---------------------------------------------------------------- shared pieces

function invalidEncoding(): SignatureError {
  return new SignatureError('InvalidParameter', 'The parameters are not correctly percent-encoded.', 400);
}

/** Each path segment decoded and RFC 3986 encoded again; '' becomes `/`. */
export function acs3CanonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  return rawPath
    .split('/')
    .map((segment) => {
      const decoded = decodePath(segment);
      if (decoded === undefined) throw invalidEncoding();
      return aliyunEncode(decoded);
    })
    .join('/');
}

/** Decoded pairs sorted by name (UTF-16 code units, as the SDKs sort), then value; encoded and joined. */
export function acs3CanonicalQuery(rawQuery: string): string {
  const pairs = parseRawQuery(rawQuery);
  if (!pairs) throw invalidEncoding();
  const byNameThenValue = (a: [string, string], b: [string, string]) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  return [...pairs]
    .sort(byNameThenValue)
    .map(([name, value]) => `${aliyunEncode(name)}=${aliyunEncode(value)}`)
    .join('&');
}

export function acs3CanonicalRequest(input: Acs3CanonicalInput): { text: string; signedHeaders: string } {
  const entries = Object.entries(input.headers)
    .map(([name, value]) => [name.trim().toLowerCase(), value.trim()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = entries.map(([name]) => name).join(';');
  const text = [
    input.method.toUpperCase(),
    acs3CanonicalUri(input.rawPath),
    acs3CanonicalQuery(input.rawQuery),
    entries.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders,
    input.hashedPayload,
  ].join('\n');
  return { text, signedHeaders };
}

export function acs3StringToSign(canonicalRequest: string): string {
  return `${ACS3_ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
}

function acs3Signature(secret: string, canonicalRequest: string): string {
  return createHmac('sha256', secret).update(acs3StringToSign(canonicalRequest), 'utf8').digest('hex');
}

// ---------------------------------------------------------------- signing

/** Signs a request the way the vendor's client does; returns the headers and query string to send. */
export function signAcs3(opts: SignAcs3Options): SignedAcs3Request {
  const body = opts.body ?? '';
  const rawQuery = Object.keys(opts.query ?? {})
    .sort()
    .map((name) => `${aliyunEncode(name)}=${aliyunEncode(opts.query![name])}`)
    .join('&');
  const headers: Record<string, string> = {
    host: opts.host,
    'x-acs-action': opts.action,
    'x-acs-version': opts.version,
    'x-acs-date': aliyunTimestamp(opts.date ?? new Date()),
    'x-acs-signature-nonce': opts.nonce ?? randomBytes(16).toString('hex'),
    'x-acs-content-sha256': sha256Hex(body),
  };
  if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
  for (const [name, value] of Object.entries(opts.headers ?? {})) headers[name.toLowerCase()] = value;
  const canonical = acs3CanonicalRequest({
    method: opts.method ?? 'POST',
    rawPath: opts.rawPath ?? '/',
    rawQuery,
    headers,
    hashedPayload: headers['x-acs-content-sha256'],
  });
  const signature = acs3Signature(opts.secret, canonical.text);
  headers.authorization = `${ACS3_ALGORITHM} Credential=${opts.accessKeyId},SignedHeaders=${canonical.signedHeaders},Signature=${signature}`;
  return { headers, rawQuery };
}

// ---------------------------------------------------------------- verification

function incomplete(detail: string): SignatureError {
  return new SignatureError('IncompleteSignature', `The request signature does not conform to Aliyun standards: ${detail}`, 400);
}

interface ParsedAuthorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** True for an Authorization header of the V3 family (ACS3-<algorithm> …). */
export function isAcs3Authorization(value: string | undefined): boolean {
  return value !== undefined && /^\s*ACS3-/.test(value);
}

/** `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…` (any order, each once). */
function parseAuthorization(value: string | undefined): ParsedAuthorization {
  if (value === undefined || value.trim() === '') {
    throw new SignatureError('MissingSignature', 'Authorization is mandatory for this action.', 400);
  }
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ACS3_ALGORITHM) {
    throw new SignatureError('InvalidSignatureMethod', 'Specified signature method is not valid.', 400);
  }
  const fields = authorizationFields(trimmed.slice(space + 1), ['Credential', 'SignedHeaders', 'Signature']);
  if (!fields) throw incomplete('expected Credential=…,SignedHeaders=…,Signature=…');
  const { Credential: accessKeyId, SignedHeaders: signedHeaders, Signature: signature } = fields;
  if (accessKeyId === '') throw new SignatureError('MissingAccessKeyId', 'AccessKeyId is mandatory for this action.', 400);
  if (signature === '') throw new SignatureError('MissingSignature', 'Signature is mandatory for this action.', 400);
  if (!/^[0-9a-f]{64}$/.test(signature)) throw incomplete('Signature must be 64 lower-case hex digits');
  return { accessKeyId, signedHeaders: parseSignedHeaders(signedHeaders), signature };
}

/** Lower-case names, sorted and distinct, as the SDKs send them. */
function parseSignedHeaders(value: string): string[] {
  const names = sortedHeaderNames(value);
  if (!names) throw incomplete('SignedHeaders must be sorted, distinct, lower-case header names separated by ;');
  return names;
}

/**
 * The Credential of a V3 Authorization header, without judging the rest;
 * lets a caller fetch the key before calling verifyAcs3.
 */
export function acs3AccessKeyId(headers: HeaderMap): string | undefined {
  const m = /(?:^|[\s,])Credential=([^,\s]+)/.exec(headerValue(headers, 'authorization') ?? '');
  return m ? m[1] : undefined;
}

/** Every header that has to be signed when present: host, content-type and all x-acs-*. */
function mustSign(headers: HeaderMap): string[] {
  const names = new Set(ALWAYS_SIGNED);
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (headers[name] !== undefined && (lower === 'content-type' || lower.startsWith('x-acs-'))) names.add(lower);
  }
  return [...names];
}

/**
 * Verifies a request signed with ACS3-HMAC-SHA256. `body` is the raw body as
 * received. Throws SignatureError with Aliyun's code and status; on success
 * answers who signed, the action, the version and the nonce (not yet checked
 * for replay).
 */
export function verifyAcs3(req: SignedRequest, body: Buffer, opts: VerifyAcs3Options): Acs3Identity {
  const auth = parseAuthorization(headerValue(req.headers, 'authorization'));
  const value = (name: string) => headerValue(req.headers, name)?.trim();
  for (const [header, parameter] of REQUIRED_HEADERS) {
    if (!value(header)) throw new SignatureError(`Missing${parameter}`, `${parameter} is mandatory for this action.`, 400);
  }
  const claimedHash = value('x-acs-content-sha256');
  if (!claimedHash) throw new SignatureError('MissingParameter', 'The input parameter x-acs-content-sha256 that is mandatory for processing this request is not supplied.', 400);
  const signedAt = parseAliyunTimestamp(value('x-acs-date')!);
  const unsigned = mustSign(req.headers).filter((name) => !auth.signedHeaders.includes(name));
  if (unsigned.length > 0) throw incomplete(`these headers must be signed: ${unsigned.join(', ')}`);

  const secret = opts.lookupSecret(auth.accessKeyId);
  if (secret === undefined) throw new SignatureError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 404);

  const signatureMismatch = new SignatureError('SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.', 400);
  const hashedPayload = sha256Hex(body);
  if (!signaturesEqual(hashedPayload, claimedHash.toLowerCase())) throw signatureMismatch;
  const signed: Record<string, string> = {};
  for (const name of auth.signedHeaders) signed[name] = headerValue(req.headers, name) ?? '';
  const canonical = acs3CanonicalRequest({ method: req.method, rawPath: req.rawPath, rawQuery: req.rawQuery, headers: signed, hashedPayload });
  if (!signaturesEqual(acs3Signature(secret, canonical.text), auth.signature)) throw signatureMismatch;

  const skew = (opts.maxSkewSeconds ?? ACS3_DEFAULT_MAX_SKEW_SECONDS) * 1000;
  if (Math.abs((opts.now ?? new Date()).getTime() - signedAt.getTime()) > skew) {
    throw new SignatureError('InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.', 400);
  }
  return { accessKeyId: auth.accessKeyId, action: value('x-acs-action')!, version: value('x-acs-version')!, nonce: value('x-acs-signature-nonce')! };
}
