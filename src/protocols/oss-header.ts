// Alibaba Cloud OSS request signatures carried in the Authorization header.
//
// V1 — "Include a V1 signature in the Authorization header" (OSS developer
// reference, help.aliyun.com/document_detail/31951):
//   Authorization: OSS <AccessKeyId>:<base64 HMAC-SHA1(secret, StringToSign)>
//   StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
//                  CanonicalizedOSSHeaders CanonicalizedResource
// where Date is the x-oss-date header when present, else the Date header (the
// doc: "当这两个字段同时存在时,以x-oss-date为准"; ali-oss only sends x-oss-date).
//
// V4 — "Include a V4 signature in the Authorization header (recommended)":
//   Authorization: OSS4-HMAC-SHA256 Credential=<ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
//                  [AdditionalHeaders=<h1;h2>,] Signature=<hex>
// over a canonical request of VERB, encoded /bucket/key, every query
// parameter, content-type/content-md5/x-oss-* (+ additional) headers, and the
// x-oss-content-sha256 value (always UNSIGNED-PAYLOAD for OSS).
//
// Error codes and statuses follow the OSS error reference (AccessDenied,
// InvalidAccessKeyId, InvalidSecurityToken, SignatureDoesNotMatch,
// RequestTimeTooSkewed: 403; InvalidArgument: 400).

import { createHmac } from 'node:crypto';
import { hmacSha256, parseRawQuery, rfc3986Encode, sha256Hex, signaturesEqual } from './encoding.js';
import { SignatureError, headerValue, type SignedRequest } from './types.js';

export interface OssCredential {
  secret: string;
  /** Set for temporary (STS-style) credentials: the request must carry it in x-oss-security-token. */
  securityToken?: string;
}

export interface VerifyOssHeaderOptions {
  bucket: string;
  /** Object key, already percent-decoded; '' for bucket-level requests. */
  objectKey: string;
  lookupCredential(accessKeyId: string): OssCredential | undefined;
  now?: Date;
  /** OSS refuses requests whose date is more than 15 minutes off. */
  maxSkewSeconds?: number;
  /** V4 only: when set, the region in the credential scope must equal it (e.g. 'cn-shanghai'). */
  region?: string;
}

export interface OssHeaderIdentity {
  accessKeyId: string;
  signatureVersion: 'OSS' | 'OSS4-HMAC-SHA256';
}

export interface OssSigningKey {
  accessKeyId: string;
  secret: string;
  bucket: string;
  objectKey: string;
}

const V4_ALGORITHM = 'OSS4-HMAC-SHA256';
const V4_TERMINATOR = 'aliyun_v4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/**
 * Query parameters that V1 signs as part of the CanonicalizedResource. Any
 * other query parameter (prefix, max-keys, …) is left out of the signature.
 * Taken from the sub-resource list of the V1 signature page and the set the
 * official SDKs sign (ali-oss passes exactly these as `subres`).
 */
export const OSS_V1_SUB_RESOURCES: ReadonlySet<string> = new Set([
  'acl', 'append', 'asyncFetch', 'bucketInfo', 'callback', 'callback-var', 'cname', 'comp',
  'continuation-token', 'cors', 'delete', 'encryption', 'endTime', 'group', 'inventory',
  'inventoryId', 'lifecycle', 'link', 'live', 'location', 'logging', 'metaQuery', 'objectInfo',
  'objectMeta', 'partNumber', 'policy', 'position', 'qos', 'qosInfo', 'referer', 'replication',
  'replicationLocation', 'replicationProgress', 'requestPayment', 'resourceGroup',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires', 'restore',
  'security-token', 'sequential', 'startTime', 'stat', 'status', 'symlink', 'tagging',
  'transferAcceleration', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'vod',
  'website', 'worm', 'wormExtend', 'wormId', 'x-oss-process', 'x-oss-request-payer',
  'x-oss-traffic-limit',
]);

// ---------------------------------------------------------------------------
// Shared helpers

function queryPairs(req: SignedRequest): Array<[string, string]> {
  const pairs = parseRawQuery(req.rawQuery);
  if (!pairs) throw new SignatureError('InvalidArgument', 'The query string is not correctly percent-encoded.', 400);
  return pairs;
}

function header(req: SignedRequest, name: string): string {
  return (headerValue(req.headers, name) ?? '').trim();
}

/** Names of the request's x-oss-* headers, sorted (header names are already lower-case). */
function ossHeaderNames(req: SignedRequest): string[] {
  return Object.keys(req.headers)
    .filter((name) => name.startsWith('x-oss-') && req.headers[name] !== undefined)
    .sort();
}

function checkSkew(signedAt: Date, now: Date, maxSkewSeconds: number): void {
  if (Math.abs(now.getTime() - signedAt.getTime()) > maxSkewSeconds * 1000) {
    throw new SignatureError(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      403,
    );
  }
}

// ---------------------------------------------------------------------------
// V1

/** `/bucket/key` plus the signed sub-resources, sorted by name; a sub-resource without value appears bare. */
export function ossV1CanonicalResource(bucket: string, objectKey: string, query: Array<[string, string]>): string {
  const subs = query
    .filter(([name]) => OSS_V1_SUB_RESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`));
  const resource = `/${bucket}/${objectKey}`;
  return subs.length ? `${resource}?${subs.join('&')}` : resource;
}

/** The V1 StringToSign of a request addressed to bucket/objectKey. */
export function ossV1StringToSign(req: SignedRequest, bucket: string, objectKey: string): string {
  const date = header(req, 'x-oss-date') || header(req, 'date');
  const lines = [req.method.toUpperCase(), header(req, 'content-md5'), header(req, 'content-type'), date];
  for (const name of ossHeaderNames(req)) lines.push(`${name}:${header(req, name)}`);
  lines.push(ossV1CanonicalResource(bucket, objectKey, queryPairs(req)));
  return lines.join('\n');
}

function hmacSha1Base64(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text, 'utf8').digest('base64');
}

/** Authorization header value for a V1-signed request (the request must already carry its date header). */
export function signOssV1(req: SignedRequest, key: OssSigningKey): string {
  const signature = hmacSha1Base64(key.secret, ossV1StringToSign(req, key.bucket, key.objectKey));
  return `OSS ${key.accessKeyId}:${signature}`;
}

// ---------------------------------------------------------------------------
// V4

/** RFC 3986 encoding of `/bucket/key`, keeping the slashes. */
function v4CanonicalUri(bucket: string, objectKey: string): string {
  return rfc3986Encode(`/${bucket}/${objectKey}`).replace(/%2F/g, '/');
}

/** Every query parameter, encoded, sorted by encoded name; an empty value leaves the name bare. */
function v4CanonicalQuery(query: Array<[string, string]>): string {
  return query
    .map(([name, value]) => [rfc3986Encode(name), rfc3986Encode(value)] as [string, string])
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
}

function v4SignedHeaderNames(req: SignedRequest, additional: string[]): string[] {
  const names = new Set(ossHeaderNames(req));
  for (const name of ['content-type', 'content-md5']) {
    if (headerValue(req.headers, name) !== undefined) names.add(name);
  }
  for (const name of additional) names.add(name);
  return [...names].sort();
}

/** The V4 canonical request; `additionalHeaders` are lower-case names beyond the always-signed ones. */
export function ossV4CanonicalRequest(
  req: SignedRequest,
  bucket: string,
  objectKey: string,
  additionalHeaders: string[] = [],
): string {
  const headers = v4SignedHeaderNames(req, additionalHeaders)
    .map((name) => `${name}:${header(req, name)}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    v4CanonicalUri(bucket, objectKey),
    v4CanonicalQuery(queryPairs(req)),
    headers,
    additionalHeaders.join(';'),
    header(req, 'x-oss-content-sha256') || UNSIGNED_PAYLOAD,
  ].join('\n');
}

/** Derived V4 key: HMAC chain over date, region, product and the terminator, seeded with "aliyun_v4" + secret. */
export function ossV4SigningKey(secret: string, date: string, region: string, product = 'oss'): Buffer {
  const dateKey = hmacSha256(`aliyun_v4${secret}`, date);
  return hmacSha256(hmacSha256(hmacSha256(dateKey, region), product), V4_TERMINATOR);
}

function v4Signature(secret: string, dateTime: string, region: string, canonicalRequest: string): string {
  const date = dateTime.slice(0, 8);
  const scope = `${date}/${region}/oss/${V4_TERMINATOR}`;
  const stringToSign = [V4_ALGORITHM, dateTime, scope, sha256Hex(canonicalRequest)].join('\n');
  return createHmac('sha256', ossV4SigningKey(secret, date, region)).update(stringToSign, 'utf8').digest('hex');
}

/** Authorization header value for a V4-signed request (the request must already carry x-oss-date). */
export function signOssV4(
  req: SignedRequest,
  key: OssSigningKey & { region: string; additionalHeaders?: string[] },
): string {
  // Headers that are always signed are not listed again (as the SDKs do).
  const additional = [...new Set((key.additionalHeaders ?? []).map((h) => h.toLowerCase()))]
    .filter((h) => h !== 'content-type' && h !== 'content-md5' && !h.startsWith('x-oss-'))
    .sort();
  const dateTime = header(req, 'x-oss-date');
  const canonical = ossV4CanonicalRequest(req, key.bucket, key.objectKey, additional);
  const signature = v4Signature(key.secret, dateTime, key.region, canonical);
  const extra = additional.length ? `AdditionalHeaders=${additional.join(';')},` : '';
  return `${V4_ALGORITHM} Credential=${key.accessKeyId}/${dateTime.slice(0, 8)}/${key.region}/oss/${V4_TERMINATOR},${extra}Signature=${signature}`;
}

// ---------------------------------------------------------------------------
// Verification

function invalidAuthorization(detail: string): SignatureError {
  return new SignatureError('InvalidArgument', `Authorization header is invalid: ${detail}`, 400);
}

interface ParsedV1 {
  accessKeyId: string;
  signature: string;
}

function parseV1(value: string): ParsedV1 {
  const rest = value.slice('OSS '.length).trim();
  const colon = rest.lastIndexOf(':');
  if (colon <= 0 || colon === rest.length - 1) throw invalidAuthorization('expected "OSS AccessKeyId:Signature".');
  return { accessKeyId: rest.slice(0, colon), signature: rest.slice(colon + 1) };
}

interface ParsedV4 {
  accessKeyId: string;
  date: string;
  region: string;
  additionalHeaders: string[];
  signature: string;
}

/** Splits "k=v, k=v" (the SDKs differ on the space after each comma and on the order of the parts). */
function v4Fields(value: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of value.slice(V4_ALGORITHM.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw invalidAuthorization(`"${part.trim()}" is not key=value.`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return fields;
}

function parseAdditionalHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  const names = value.split(';');
  // OSS refuses an empty list or an empty element (EC 0002-00000209 / -00000210).
  if (names.some((n) => n === '')) throw invalidAuthorization('AdditionalHeaders contains an empty name.');
  return names.map((n) => n.toLowerCase());
}

function parseV4(value: string): ParsedV4 {
  const fields = v4Fields(value);
  const credential = fields.get('Credential');
  const signature = fields.get('Signature');
  if (!credential || !signature) throw invalidAuthorization('Credential and Signature are required.');
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[3] !== 'oss' || parts[4] !== V4_TERMINATOR || !/^\d{8}$/.test(parts[1])) {
    throw invalidAuthorization('Credential must be AccessKeyId/yyyymmdd/region/oss/aliyun_v4_request.');
  }
  const additionalHeaders = parseAdditionalHeaders(fields.get('AdditionalHeaders'));
  return { accessKeyId: parts[0], date: parts[1], region: parts[2], additionalHeaders, signature };
}

/** V1 dates are HTTP dates; OSS takes x-oss-date over Date. */
function v1SignedAt(req: SignedRequest): Date {
  const raw = header(req, 'x-oss-date') || header(req, 'date');
  const at = raw ? new Date(raw) : undefined;
  if (!at || Number.isNaN(at.getTime())) {
    throw new SignatureError('AccessDenied', 'The request must carry a valid Date or x-oss-date header.', 403);
  }
  return at;
}

/** V4 requires x-oss-date in ISO 8601 basic form (yyyymmddTHHMMSSZ). */
function v4SignedAt(req: SignedRequest): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(header(req, 'x-oss-date'));
  if (!m) throw new SignatureError('AccessDenied', 'V4 requests must carry x-oss-date as yyyymmddTHHMMSSZ.', 403);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

function findCredential(accessKeyId: string, opts: VerifyOssHeaderOptions): OssCredential {
  const credential = opts.lookupCredential(accessKeyId);
  if (!credential) {
    throw new SignatureError('InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', 403);
  }
  return credential;
}

/**
 * Temporary credentials only work together with their token. OSS answers a
 * missing token with InvalidAccessKeyId (EC 0002-00000003, "STS AccessKeyId
 * used without SecurityToken") and a wrong one with InvalidSecurityToken.
 */
function checkSecurityToken(req: SignedRequest, credential: OssCredential): void {
  const sent = headerValue(req.headers, 'x-oss-security-token');
  if (credential.securityToken === undefined) {
    if (sent !== undefined) throw new SignatureError('InvalidSecurityToken', 'The security token you provided is invalid.', 403);
    return;
  }
  if (sent === undefined) {
    throw new SignatureError('InvalidAccessKeyId', 'The AccessKeyId is temporary and the request carries no x-oss-security-token.', 403);
  }
  if (!signaturesEqual(credential.securityToken, sent.trim())) {
    throw new SignatureError('InvalidSecurityToken', 'The security token you provided is invalid.', 403);
  }
}

function signatureMismatch(): SignatureError {
  return new SignatureError(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    403,
  );
}

function verifyV1(req: SignedRequest, value: string, opts: VerifyOssHeaderOptions, now: Date, skew: number): OssHeaderIdentity {
  const parsed = parseV1(value);
  checkSkew(v1SignedAt(req), now, skew);
  const credential = findCredential(parsed.accessKeyId, opts);
  checkSecurityToken(req, credential);
  const expected = hmacSha1Base64(credential.secret, ossV1StringToSign(req, opts.bucket, opts.objectKey));
  if (!signaturesEqual(expected, parsed.signature)) throw signatureMismatch();
  return { accessKeyId: parsed.accessKeyId, signatureVersion: 'OSS' };
}

function checkV4Request(req: SignedRequest, parsed: ParsedV4, opts: VerifyOssHeaderOptions): void {
  const payload = header(req, 'x-oss-content-sha256');
  // OSS only accepts UNSIGNED-PAYLOAD here (EC 0002-00000214).
  if (payload !== '' && payload !== UNSIGNED_PAYLOAD) {
    throw new SignatureError('InvalidArgument', 'x-oss-content-sha256 must be UNSIGNED-PAYLOAD.', 400);
  }
  if (header(req, 'x-oss-date').slice(0, 8) !== parsed.date) {
    throw invalidAuthorization('the Credential date does not match x-oss-date.');
  }
  if (opts.region !== undefined && parsed.region !== opts.region) {
    throw invalidAuthorization(`the Credential region must be ${opts.region}.`);
  }
  for (const name of parsed.additionalHeaders) {
    if (headerValue(req.headers, name) === undefined) throw invalidAuthorization(`additional header ${name} is missing.`);
  }
}

function verifyV4(req: SignedRequest, value: string, opts: VerifyOssHeaderOptions, now: Date, skew: number): OssHeaderIdentity {
  const parsed = parseV4(value);
  checkSkew(v4SignedAt(req), now, skew);
  checkV4Request(req, parsed, opts);
  const credential = findCredential(parsed.accessKeyId, opts);
  checkSecurityToken(req, credential);
  const additional = [...new Set(parsed.additionalHeaders)].sort();
  const canonical = ossV4CanonicalRequest(req, opts.bucket, opts.objectKey, additional);
  const expected = v4Signature(credential.secret, header(req, 'x-oss-date'), parsed.region, canonical);
  if (!signaturesEqual(expected, parsed.signature.toLowerCase())) throw signatureMismatch();
  return { accessKeyId: parsed.accessKeyId, signatureVersion: 'OSS4-HMAC-SHA256' };
}

/**
 * Verifies an OSS header-signed request (V1 or V4) addressed to
 * opts.bucket/opts.objectKey and returns who signed it. Throws SignatureError
 * with OSS's own code and status otherwise.
 */
export function verifyOssHeader(req: SignedRequest, opts: VerifyOssHeaderOptions): OssHeaderIdentity {
  const value = (headerValue(req.headers, 'authorization') ?? '').trim();
  const now = opts.now ?? new Date();
  const skew = opts.maxSkewSeconds ?? 900;
  if (value === '') throw new SignatureError('AccessDenied', 'Anonymous access is forbidden for this operation.', 403);
  if (value.startsWith('OSS ')) return verifyV1(req, value, opts, now, skew);
  if (value.startsWith(`${V4_ALGORITHM} `)) return verifyV4(req, value, opts, now, skew);
  throw invalidAuthorization('unsupported signature scheme.');
}
