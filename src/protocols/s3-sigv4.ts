// AWS Signature Version 4 for S3 pre-signed URLs (query-string authentication).
//
// Rules from the AWS docs "Authenticating Requests: Using Query Parameters
// (AWS Signature Version 4)" and "Create a canonical request for Signature
// Version 4". S3 differs from other AWS services in two ways that matter here:
// the canonical URI is the path exactly as sent (no second round of
// encoding), and a pre-signed request's payload hash is UNSIGNED-PAYLOAD.

import { createHmac } from 'node:crypto';
import { decodePath, hmacSha256, parseRawQuery, rfc3986Encode, sha256Hex, signaturesEqual, sortedHeaderNames } from './encoding.js';
import { SignatureError, headerValue, type SignedRequest } from './types.js';

export const S3_ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS caps X-Amz-Expires at seven days. */
export const S3_MAX_EXPIRES_SECONDS = 604_800;
/** How far in the future X-Amz-Date may lie (clock skew S3 tolerates). */
export const S3_MAX_FUTURE_SKEW_SECONDS = 15 * 60;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const AUTH_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;
type AuthParam = (typeof AUTH_PARAMS)[number];

export interface PresignS3Options {
  method: string;
  /** Scheme, host and optional port (and optional path prefix), e.g. http://127.0.0.1:8080 */
  endpoint: string;
  bucket: string;
  /** Object key, not encoded. */
  key: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** 1 to 604800. */
  expiresSeconds: number;
  now?: Date;
  /** When given, content-md5 becomes a signed header: the upload must carry exactly this Content-MD5. */
  contentMd5Base64?: string;
  /** Extra query parameters to sign into the URL (e.g. `x-id`, `response-content-type`). */
  query?: Record<string, string>;
}

export interface VerifyS3Options {
  lookupSecret(accessKeyId: string): string | undefined;
  now?: Date;
  /** When given, the credential scope's region must equal it. */
  region?: string;
}

export interface VerifiedS3Request {
  accessKeyId: string;
  /** Decoded path, `/bucket/key` for path-style requests. */
  bucketAndKeyPath: string;
  signedHeaders: string[];
  expiresAt: Date;
  region: string;
  /** UNSIGNED-PAYLOAD, or the hex SHA-256 the signer promised (the server must then check the body). */
  payloadHash: string;
}

// ---------------------------------------------------------------- shared pieces

/** 2024-01-02T03:04:05.678Z -> 20240102T030405Z (the "ISO 8601 basic" form SigV4 uses). */
export function toAmzDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** S3 encodes each key segment with RFC 3986 and keeps the `/` separators. */
export function encodeS3Path(path: string): string {
  return path.split('/').map(rfc3986Encode).join('/');
}

/** Canonical query: every name and value RFC 3986-encoded, sorted by name, then value. */
function canonicalQuery(pairs: Array<[string, string]>): string {
  return pairs
    .map(([k, v]) => [rfc3986Encode(k), rfc3986Encode(v)] as const)
    .sort(([ka, va], [kb, vb]) => compareCodeUnits(ka, kb) || compareCodeUnits(va, vb))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Byte order, not locale order: the encoded strings are ASCII. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Header values are trimmed and runs of whitespace collapse to one space. */
function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

function canonicalHeaders(names: string[], valueOf: (name: string) => string): string {
  return names.map((n) => `${n}:${canonicalHeaderValue(valueOf(n))}\n`).join('');
}

interface CanonicalParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  canonicalHeaders: string;
  signedHeaders: string;
  payloadHash: string;
}

function canonicalRequest(p: CanonicalParts): string {
  return [p.method, p.canonicalUri, p.canonicalQuery, p.canonicalHeaders, p.signedHeaders, p.payloadHash].join('\n');
}

/** kSigning = HMAC chain over "AWS4"+secret, date, region, "s3", "aws4_request". */
function signature(secret: string, amzDate: string, scope: string, canonical: string): string {
  const [date, region, service, terminal] = scope.split('/');
  const key = hmacSha256(hmacSha256(hmacSha256(hmacSha256('AWS4' + secret, date), region), service), terminal);
  const stringToSign = [S3_ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

// ---------------------------------------------------------------- signing

/** Builds a path-style pre-signed URL (`<endpoint>/<bucket>/<key>?X-Amz-...`). */
export function presignS3Url(opts: PresignS3Options): string {
  const { expiresSeconds } = opts;
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > S3_MAX_EXPIRES_SECONDS) {
    throw new RangeError(`expiresSeconds must be an integer from 1 to ${S3_MAX_EXPIRES_SECONDS}`);
  }
  const base = new URL(opts.endpoint);
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = `${prefix}/${rfc3986Encode(opts.bucket)}/${encodeS3Path(opts.key)}`;
  const amzDate = toAmzDate(opts.now ?? new Date());
  const scope = `${amzDate.slice(0, 8)}/${opts.region}/s3/aws4_request`;

  const headers: Record<string, string> = { host: base.host };
  if (opts.contentMd5Base64 !== undefined) headers['content-md5'] = opts.contentMd5Base64;
  const signedHeaderNames = Object.keys(headers).sort();

  const pairs: Array<[string, string]> = [
    ...Object.entries(opts.query ?? {}),
    ['X-Amz-Algorithm', S3_ALGORITHM],
    ['X-Amz-Credential', `${opts.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expiresSeconds)],
    ['X-Amz-SignedHeaders', signedHeaderNames.join(';')],
  ];
  const sig = signature(
    opts.secretAccessKey,
    amzDate,
    scope,
    canonicalRequest({
      method: opts.method.toUpperCase(),
      canonicalUri: path,
      canonicalQuery: canonicalQuery(pairs),
      canonicalHeaders: canonicalHeaders(signedHeaderNames, (n) => headers[n]),
      signedHeaders: signedHeaderNames.join(';'),
      payloadHash: UNSIGNED_PAYLOAD,
    }),
  );
  // The final query is in canonical (sorted) order, as the AWS SDK writes it.
  return `${base.origin}${path}?${canonicalQuery([...pairs, ['X-Amz-Signature', sig]])}`;
}

// ---------------------------------------------------------------- verification

function queryError(message: string): SignatureError {
  return new SignatureError('AuthorizationQueryParametersError', message, 400);
}

/** Pulls the six auth parameters; refuses duplicates, and answers AccessDenied to anonymous requests. */
function authParams(pairs: Array<[string, string]>): Record<AuthParam, string> {
  const found: Partial<Record<AuthParam, string>> = {};
  for (const [name, value] of pairs) {
    if (!(AUTH_PARAMS as readonly string[]).includes(name)) continue;
    if (found[name as AuthParam] !== undefined) throw queryError(`Duplicate query parameter ${name}`);
    found[name as AuthParam] = value;
  }
  if (Object.keys(found).length === 0) throw new SignatureError('AccessDenied', 'Access Denied', 403);
  if (AUTH_PARAMS.some((p) => found[p] === undefined)) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, ' +
        'X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  return found as Record<AuthParam, string>;
}

/** Parses yyyyMMdd'T'HHmmss'Z' strictly (a round trip rejects dates such as 20240231). */
function parseAmzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  const date = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
  if (!date || toAmzDate(date) !== value) {
    throw queryError('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  }
  return date;
}

function parseExpires(value: string): number {
  if (/^-\d+$/.test(value)) throw queryError('X-Amz-Expires must be non-negative');
  if (!/^\d+$/.test(value)) throw queryError('X-Amz-Expires should be a number');
  const seconds = Number(value);
  if (seconds > S3_MAX_EXPIRES_SECONDS) {
    throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is ${S3_MAX_EXPIRES_SECONDS}`);
  }
  return seconds;
}

/** `<AKID>/<yyyymmdd>/<region>/s3/aws4_request`, checked part by part as S3 does. */
function parseCredential(value: string, amzDate: string, wantRegion?: string) {
  const parts = value.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    throw queryError(
      'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; ' +
        'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
  }
  const [accessKeyId, date, region, service, terminal] = parts;
  if (date !== amzDate.slice(0, 8)) throw queryError('Invalid credential date. Date is not the same as X-Amz-Date.');
  if (wantRegion !== undefined && region !== wantRegion) {
    throw queryError(
      `Error parsing the X-Amz-Credential parameter; the region '${region}' is wrong; expecting '${wantRegion}'`,
    );
  }
  if (service !== 's3') {
    throw queryError(`Error parsing the X-Amz-Credential parameter; incorrect service "${service}". This endpoint belongs to "s3".`);
  }
  if (terminal !== 'aws4_request') {
    throw queryError(
      `Error parsing the X-Amz-Credential parameter; incorrect terminal "${terminal}". This endpoint uses "aws4_request".`,
    );
  }
  return { accessKeyId, scope: parts.slice(1).join('/'), region };
}

/** Lower-case names, sorted, no repeats, host among them. */
function parseSignedHeaders(value: string): string[] {
  const names = sortedHeaderNames(value);
  if (!names || !names.includes('host')) {
    throw queryError('X-Amz-SignedHeaders must be a sorted, lower-case, semicolon-separated list that includes host');
  }
  return names;
}

/** S3 refuses x-amz-* headers the signer did not cover (they could change what the request does). */
function refuseUnsignedAmzHeaders(req: SignedRequest, signed: string[]): void {
  const unsigned = Object.keys(req.headers).filter(
    (n) => n.toLowerCase().startsWith('x-amz-') && !signed.includes(n.toLowerCase()),
  );
  if (unsigned.length > 0) {
    throw new SignatureError(
      'AccessDenied',
      `There were headers present in the request which were not signed: ${unsigned.join(', ')}`,
      403,
    );
  }
}

/** Refuses expired URLs and ones dated too far ahead (S3 answers both with AccessDenied). */
function checkTime(signedAt: Date, expiresSeconds: number, now: Date): Date {
  const expiresAt = new Date(signedAt.getTime() + expiresSeconds * 1000);
  if (signedAt.getTime() - now.getTime() > S3_MAX_FUTURE_SKEW_SECONDS * 1000) {
    throw new SignatureError('AccessDenied', 'Request is not yet valid', 403);
  }
  if (now.getTime() > expiresAt.getTime()) throw new SignatureError('AccessDenied', 'Request has expired', 403);
  return expiresAt;
}

/**
 * Verifies an S3 SigV4 pre-signed request. Throws SignatureError with S3's
 * own codes; on success tells who signed, for which path and until when.
 */
export function verifyS3Presigned(req: SignedRequest, opts: VerifyS3Options): VerifiedS3Request {
  const pairs = parseRawQuery(req.rawQuery);
  if (pairs === undefined) throw queryError('The query string is not correctly percent-encoded');
  const bucketAndKeyPath = decodePath(req.rawPath);
  if (bucketAndKeyPath === undefined) throw new SignatureError('InvalidURI', "Couldn't parse the specified URI.", 400);

  const auth = authParams(pairs);
  if (auth['X-Amz-Algorithm'] !== S3_ALGORITHM) throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const signedAt = parseAmzDate(auth['X-Amz-Date']);
  const expiresSeconds = parseExpires(auth['X-Amz-Expires']);
  const credential = parseCredential(auth['X-Amz-Credential'], auth['X-Amz-Date'], opts.region);
  const signedHeaders = parseSignedHeaders(auth['X-Amz-SignedHeaders']);
  const expiresAt = checkTime(signedAt, expiresSeconds, opts.now ?? new Date());
  refuseUnsignedAmzHeaders(req, signedHeaders);

  const secret = opts.lookupSecret(credential.accessKeyId);
  if (secret === undefined) {
    throw new SignatureError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403);
  }

  const payloadHash =
    pairs.find(([k]) => k === 'X-Amz-Content-Sha256')?.[1] ??
    headerValue(req.headers, 'x-amz-content-sha256') ??
    UNSIGNED_PAYLOAD;
  const expected = signature(
    secret,
    auth['X-Amz-Date'],
    credential.scope,
    canonicalRequest({
      method: req.method.toUpperCase(),
      canonicalUri: req.rawPath === '' ? '/' : req.rawPath,
      canonicalQuery: canonicalQuery(pairs.filter(([k]) => k !== 'X-Amz-Signature')),
      canonicalHeaders: canonicalHeaders(signedHeaders, (n) => headerValue(req.headers, n) ?? ''),
      signedHeaders: signedHeaders.join(';'),
      payloadHash,
    }),
  );
  if (!signaturesEqual(expected, auth['X-Amz-Signature'])) {
    throw new SignatureError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      403,
    );
  }
  return {
    accessKeyId: credential.accessKeyId,
    bucketAndKeyPath,
    signedHeaders,
    expiresAt,
    region: credential.region,
    payloadHash,
  };
}
