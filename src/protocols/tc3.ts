// Tencent Cloud API 3.0 request signatures (TC3-HMAC-SHA256).
//
// Algorithm from the Tencent Cloud doc "Signature v3" (every product's API
// docs carry a copy, e.g. the CVM API "Signature v3" page):
//   CanonicalRequest = Method\n Path\n Query\n CanonicalHeaders\n SignedHeaders\n hex SHA-256(body)
//     CanonicalHeaders: per signed header `name:value\n`, name and value lower-cased
//     and trimmed, sorted by name; at least content-type and host.
//     Query: the URL's query string as sent (empty for POST).
//   StringToSign = "TC3-HMAC-SHA256\n" Timestamp "\n" Date/Service/tc3_request "\n" hex SHA-256(CanonicalRequest)
//   Key = HMAC-SHA256 chain over "TC3"+SecretKey, Date (UTC yyyy-mm-dd of Timestamp), Service, "tc3_request"
//   Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<Date>/<Service>/tc3_request, SignedHeaders=…, Signature=…
// Errors follow the doc "Error Codes" (common codes); API 3.0 answers them
// with HTTP 200 and the code in Response.Error, hence status 200 here.

import { createHmac } from 'node:crypto';
import { authorizationFields, decodeQueryComponent, hmacSha256, sha256Hex, signaturesEqual, sortedHeaderNames } from './encoding.js';
import { SignatureError, headerValue, type SignedRequest } from './types.js';

export const TC3_ALGORITHM = 'TC3-HMAC-SHA256';
export const TC3_DEFAULT_MAX_SKEW_SECONDS = 300;
const REQUIRED_SIGNED_HEADERS = ['content-type', 'host'];

export interface Tc3CanonicalInput {
  method: string;
  /** Path as sent, `/` for API 3.0. */
  rawPath: string;
  /** Query string as sent, without `?` ('' for POST). */
  rawQuery: string;
  /** The signed headers: name -> value as sent (any case; normalised here). */
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface SignTc3Options extends Partial<Pick<Tc3CanonicalInput, 'method' | 'rawPath' | 'rawQuery' | 'body'>> {
  secretId: string;
  secretKey: string;
  /** Credential-scope service, e.g. `faceid`. */
  service: string;
  /** Unix seconds, also sent as X-TC-Timestamp. */
  timestamp: number;
  /** Headers to sign; must include host and content-type. */
  headers: Record<string, string>;
}

export interface VerifyTc3Options {
  lookupSecret(secretId: string): string | undefined;
  now?: Date;
  /** Default 300 (the documented five minutes), either direction. */
  maxSkewSeconds?: number;
}

export interface VerifiedTc3Request {
  secretId: string;
  /** Service from the credential scope (the SDK takes it from the endpoint's first DNS label). */
  service: string;
  action?: string;
  timestamp: number;
  region?: string;
  version?: string;
}

// ---------------------------------------------------------------- shared pieces

/** UTC calendar date of a Unix timestamp, yyyy-mm-dd (the credential-scope date). */
export function tc3Date(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

/** Builds the canonical request; returns it with the SignedHeaders string that goes with it. */
export function tc3CanonicalRequest(input: Tc3CanonicalInput, lowerCaseValues = true): { text: string; signedHeaders: string } {
  const entries = Object.entries(input.headers)
    .map(([k, v]) => [k.trim().toLowerCase(), lowerCaseValues ? v.trim().toLowerCase() : v.trim()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = entries.map(([k]) => k).join(';');
  const text = [
    input.method.toUpperCase(),
    input.rawPath === '' ? '/' : input.rawPath,
    input.rawQuery,
    entries.map(([k, v]) => `${k}:${v}\n`).join(''),
    signedHeaders,
    sha256Hex(input.body),
  ].join('\n');
  return { text, signedHeaders };
}

export function tc3StringToSign(timestamp: number, service: string, canonicalRequest: string): string {
  return [TC3_ALGORITHM, String(timestamp), `${tc3Date(timestamp)}/${service}/tc3_request`, sha256Hex(canonicalRequest)].join('\n');
}

function tc3Signature(secretKey: string, timestamp: number, service: string, canonicalRequest: string): string {
  const key = hmacSha256(hmacSha256(hmacSha256('TC3' + secretKey, tc3Date(timestamp)), service), 'tc3_request');
  return createHmac('sha256', key).update(tc3StringToSign(timestamp, service, canonicalRequest), 'utf8').digest('hex');
}

// ---------------------------------------------------------------- signing

/** Returns the Authorization header value for a request (send X-TC-Timestamp = opts.timestamp with it). */
export function signTc3(opts: SignTc3Options): string {
  const names = Object.keys(opts.headers).map((k) => k.toLowerCase());
  for (const required of REQUIRED_SIGNED_HEADERS) {
    if (!names.includes(required)) throw new Error(`TC3 signing needs the ${required} header`);
  }
  if (new Set(names).size !== names.length) throw new Error('a header appears twice (names are case-insensitive)');
  const canonical = tc3CanonicalRequest({
    method: opts.method ?? 'POST',
    rawPath: opts.rawPath ?? '/',
    rawQuery: opts.rawQuery ?? '',
    headers: opts.headers,
    body: opts.body ?? '',
  });
  const signature = tc3Signature(opts.secretKey, opts.timestamp, opts.service, canonical.text);
  const scope = `${tc3Date(opts.timestamp)}/${opts.service}/tc3_request`;
  return `${TC3_ALGORITHM} Credential=${opts.secretId}/${scope}, SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`;
}

// ---------------------------------------------------------------- verification

function tcError(code: string, message: string): SignatureError {
  return new SignatureError(code, message, 200);
}

function malformed(detail: string): SignatureError {
  return tcError('AuthFailure.InvalidAuthorization', `Authorization in the request header is invalid: ${detail}`);
}

interface ParsedAuthorization {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (any order of the three, each once). */
function parseAuthorization(value: string | undefined): ParsedAuthorization {
  if (value === undefined) throw malformed('missing');
  const trimmed = value.trim();
  if (!trimmed.startsWith(`${TC3_ALGORITHM} `)) throw malformed(`the algorithm must be ${TC3_ALGORITHM}`);
  const fields = authorizationFields(trimmed.slice(TC3_ALGORITHM.length), ['Credential', 'SignedHeaders', 'Signature']);
  if (!fields) throw malformed('expected Credential=…, SignedHeaders=…, Signature=…');
  return { ...parseCredential(fields.Credential), signedHeaders: parseSignedHeaders(fields.SignedHeaders), signature: fields.Signature };
}

function parseCredential(value: string): Pick<ParsedAuthorization, 'secretId' | 'date' | 'service'> {
  const parts = value.split('/');
  if (parts.length !== 4 || parts.some((p) => p === '') || parts[3] !== 'tc3_request') {
    throw malformed('Credential must be <SecretId>/<yyyy-mm-dd>/<service>/tc3_request');
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(parts[1])) throw malformed('the credential date must be yyyy-mm-dd');
  return { secretId: parts[0], date: parts[1], service: parts[2] };
}

/** Lower-case, sorted, distinct names that include content-type and host. */
function parseSignedHeaders(value: string): string[] {
  const names = sortedHeaderNames(value);
  if (!names || !REQUIRED_SIGNED_HEADERS.every((r) => names.includes(r))) {
    throw malformed('SignedHeaders must be sorted lower-case names including content-type and host');
  }
  return names;
}

function parseTimestamp(req: SignedRequest): number {
  const raw = headerValue(req.headers, 'x-tc-timestamp');
  if (raw === undefined) throw tcError('MissingParameter', 'The request is missing a required parameter `X-TC-Timestamp`.');
  if (!/^\d{1,12}$/.test(raw.trim())) {
    throw tcError('InvalidParameterValue', 'The value of `X-TC-Timestamp` must be Unix seconds.');
  }
  return Number(raw.trim());
}

/** Host without its port: the Node SDK signs URL.hostname but sends URL.host. */
function hostWithoutPort(host: string): string | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):\d+$/.exec(host);
  return m ? m[1] : undefined;
}

/**
 * The header sets a genuine signer may have signed: values lower-cased (the
 * doc) or verbatim (SDKs that skip the lower-casing), and Host as received or
 * without its port (the Node SDK). Every variant binds the values actually
 * received, so accepting any of them weakens nothing.
 */
function headerVariants(req: SignedRequest, names: string[]): Array<[Record<string, string>, boolean]> {
  const received: Record<string, string> = {};
  for (const n of names) received[n] = headerValue(req.headers, n) ?? '';
  const sets = [received];
  const bare = hostWithoutPort(received.host);
  if (bare !== undefined) sets.push({ ...received, host: bare });
  return sets.flatMap((h): Array<[Record<string, string>, boolean]> => [[h, true], [h, false]]);
}

/**
 * Verifies a Tencent Cloud API 3.0 request (TC3-HMAC-SHA256). `body` is the
 * raw body as received. Throws SignatureError (status 200, the code for
 * Response.Error.Code); on success tells who signed, for which service and
 * action.
 */
export function verifyTc3(req: SignedRequest, body: Buffer, opts: VerifyTc3Options): VerifiedTc3Request {
  const auth = parseAuthorization(headerValue(req.headers, 'authorization'));
  const timestamp = parseTimestamp(req);
  const maxSkew = opts.maxSkewSeconds ?? TC3_DEFAULT_MAX_SKEW_SECONDS;
  const nowSec = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSec - timestamp) > maxSkew) {
    throw tcError(
      'AuthFailure.SignatureExpire',
      'Signature expired. Timestamp and server time cannot differ by more than five minutes.',
    );
  }
  const signatureFailure = tcError(
    'AuthFailure.SignatureFailure',
    'The provided credentials could not be validated. Please check your signature is correct.',
  );
  // The scope date is part of the key: it must be the UTC date of X-TC-Timestamp.
  if (auth.date !== tc3Date(timestamp)) throw signatureFailure;

  const secretKey = opts.lookupSecret(auth.secretId);
  if (secretKey === undefined) {
    throw tcError('AuthFailure.SecretIdNotFound', 'The SecretId is not found, please ensure that your SecretId is correct.');
  }

  const matches = headerVariants(req, auth.signedHeaders).some(([headers, lowerCaseValues]) => {
    const canonical = tc3CanonicalRequest(
      { method: req.method, rawPath: req.rawPath, rawQuery: req.rawQuery, headers, body },
      lowerCaseValues,
    );
    return signaturesEqual(tc3Signature(secretKey, timestamp, auth.service, canonical.text), auth.signature);
  });
  if (!matches) throw signatureFailure;

  return {
    secretId: auth.secretId,
    service: auth.service,
    action: headerValue(req.headers, 'x-tc-action') ?? actionFromQuery(req.rawQuery),
    timestamp,
    region: headerValue(req.headers, 'x-tc-region'),
    version: headerValue(req.headers, 'x-tc-version'),
  };
}

/** GET requests may name the action in the query string instead of X-TC-Action. */
function actionFromQuery(rawQuery: string): string | undefined {
  const hit = rawQuery.split('&').find((p) => p.startsWith('Action='));
  return hit === undefined ? undefined : decodeQueryComponent(hit.slice('Action='.length));
}
