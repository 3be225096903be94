// Alibaba Cloud RPC-style API signature V1 (HMAC-SHA1), as used by ICE
// (CreateUploadMedia, seed 003) and signed by npm @alicloud/pop-core.
//
// "Signature method" / "Request syntax and signature method V2" (Alibaba
// Cloud SDK docs): every request parameter except Signature — Action,
// Version, AccessKeyId, Timestamp (ISO 8601 UTC), SignatureMethod=HMAC-SHA1,
// SignatureVersion=1.0, SignatureNonce, Format, … — is sorted by name,
// RFC 3986 percent-encoded and joined as k=v&k=v; then
//   StringToSign = METHOD + "&" + encode("/") + "&" + encode(canonical query)
//   Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
// Parameters travel in the query (GET) or in an x-www-form-urlencoded body
// (POST; pop-core puts everything in the body and posts to "/").
//
// Error codes and statuses are the OpenAPI gateway's common client errors
// ("管控OpenAPI的客户端公用错误码" / "Client error codes"):
//   Missing{Parameter} 400, InvalidAccessKeyId.NotFound 404,
//   InvalidTimeStamp.Format 400, InvalidTimeStamp.Expired 400 (15 minutes),
//   SignatureNonceUsed 400, InvalidSignatureMethod 400,
//   SignatureDoesNotMatch 400, IncompleteSignature 400,
//   UnsupportedHTTPMethod 403, InvalidParameter 400.
//
// The newer header signature, V3 (ACS3-HMAC-SHA256), is in aliyun-acs3.ts.

import { createHmac, randomBytes } from 'node:crypto';
import { parseRawQuery, rfc3986Encode, signaturesEqual } from './encoding.js';
import { SignatureError } from './types.js';

export interface VerifyAliyunRpcOptions {
  lookupSecret(accessKeyId: string): string | undefined;
  now?: Date;
  /** Aliyun accepts a Timestamp at most 15 minutes away from its clock. */
  maxSkewSeconds?: number;
  /**
   * True when this nonce was already used by this key. Called once, only for
   * requests whose signature verified, so it may record the nonce as it answers.
   */
  seenNonce(nonce: string, accessKeyId: string): boolean;
}

export interface AliyunRpcIdentity {
  accessKeyId: string;
  action: string;
  version: string;
}

export interface SignAliyunRpcOptions {
  accessKeyId: string;
  secret: string;
  /** Defaults to now. */
  timestamp?: Date;
  /** Defaults to 16 random bytes in hex. */
  nonce?: string;
}

/** Parameters every signed request must carry, in the order their absence is reported. */
const REQUIRED = ['Action', 'Version', 'AccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'SignatureNonce', 'Timestamp'];

function missing(name: string): SignatureError {
  return new SignatureError(`Missing${name}`, `${name} is mandatory for this action.`, 400);
}

/** RFC 3986 encoding, refusing in Aliyun's words what cannot be encoded (shared with signature V3). */
export function aliyunEncode(value: string): string {
  try {
    return rfc3986Encode(value);
  } catch {
    // encodeURIComponent throws on lone surrogates.
    throw new SignatureError('InvalidParameter', 'A parameter is not valid UTF-8.', 400);
  }
}

/** Sorted k=v&k=v over every parameter but Signature (names compared by UTF-16 code unit, as the SDKs sort). */
export function aliyunRpcCanonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((name) => name !== 'Signature')
    .sort()
    .map((name) => `${aliyunEncode(name)}=${aliyunEncode(params[name])}`)
    .join('&');
}

export function aliyunRpcStringToSign(method: string, params: Record<string, string>): string {
  return `${method.toUpperCase()}&${aliyunEncode('/')}&${aliyunEncode(aliyunRpcCanonicalQuery(params))}`;
}

function computeSignature(method: string, params: Record<string, string>, secret: string): string {
  return createHmac('sha1', `${secret}&`).update(aliyunRpcStringToSign(method, params), 'utf8').digest('base64');
}

/** yyyy-MM-ddTHH:mm:ssZ, the form the SDKs send (Timestamp here, x-acs-date in V3). */
export function aliyunTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Adds the common parameters and the signature to `params` (which must hold
 * Action and Version). Returns a new object ready for the query or the form body.
 */
export function signAliyunRpc(method: string, params: Record<string, string>, key: SignAliyunRpcOptions): Record<string, string> {
  const signed: Record<string, string> = {
    Format: 'JSON',
    ...params,
    AccessKeyId: key.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: key.nonce ?? randomBytes(16).toString('hex'),
    Timestamp: aliyunTimestamp(key.timestamp ?? new Date()),
  };
  signed.Signature = computeSignature(method, signed, key.secret);
  return signed;
}

/**
 * Merges the query-string parameters and, for POST, the
 * x-www-form-urlencoded body into one record. A name given twice is refused.
 */
export function collectAliyunRpcParams(rawQuery: string, formBody?: string | Buffer): Record<string, string> {
  // No prototype, so a parameter named __proto__ is just a parameter.
  const params: Record<string, string> = Object.create(null);
  const sources = [rawQuery, formBody === undefined ? '' : formBody.toString('utf8')];
  for (const source of sources) {
    const pairs = parseRawQuery(source);
    if (!pairs) throw new SignatureError('InvalidParameter', 'The parameters are not correctly percent-encoded.', 400);
    for (const [name, value] of pairs) {
      if (Object.hasOwn(params, name)) throw new SignatureError('InvalidParameter', `The parameter ${name} is given twice.`, 400);
      params[name] = value;
    }
  }
  return params;
}

function checkRequired(method: string, params: Record<string, string>): void {
  if (method !== 'GET' && method !== 'POST') {
    throw new SignatureError('UnsupportedHTTPMethod', 'This http method is not supported.', 403);
  }
  for (const name of REQUIRED) {
    if (!params[name]) throw missing(name);
  }
  if (params.SignatureMethod !== 'HMAC-SHA1') {
    throw new SignatureError('InvalidSignatureMethod', 'Specified signature method is not valid.', 400);
  }
  if (params.SignatureVersion !== '1.0') {
    throw new SignatureError('IncompleteSignature', 'The request signature does not conform to Aliyun standards: SignatureVersion must be 1.0.', 400);
  }
}

/** ISO 8601 UTC: yyyy-MM-ddTHH:mm:ssZ (fractional seconds tolerated); Timestamp here, x-acs-date in V3. */
export function parseAliyunTimestamp(value: string): Date {
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(value) ? new Date(value) : undefined;
  if (!at || Number.isNaN(at.getTime())) {
    throw new SignatureError('InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.', 400);
  }
  return at;
}

/** A base64 HMAC-SHA1 is 28 characters; anything else cannot be a signature at all. */
function checkSignatureShape(signature: string): void {
  if (!/^[A-Za-z0-9+/]{27}=$/.test(signature)) {
    throw new SignatureError('IncompleteSignature', 'The request signature does not conform to Aliyun standards.', 400);
  }
}

/**
 * Verifies an RPC-style request. `params` holds every request parameter,
 * decoded (see collectAliyunRpcParams). Throws SignatureError with Aliyun's
 * code and status; on success the nonce has been passed to seenNonce.
 */
export function verifyAliyunRpc(method: string, params: Record<string, string>, opts: VerifyAliyunRpcOptions): AliyunRpcIdentity {
  const verb = method.toUpperCase();
  checkRequired(verb, params);
  const signedAt = parseAliyunTimestamp(params.Timestamp);
  checkSignatureShape(params.Signature);
  const accessKeyId = params.AccessKeyId;
  const secret = opts.lookupSecret(accessKeyId);
  if (secret === undefined) throw new SignatureError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 404);
  if (!signaturesEqual(computeSignature(verb, params, secret), params.Signature)) {
    throw new SignatureError('SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.', 400);
  }
  const skew = (opts.maxSkewSeconds ?? 900) * 1000;
  if (Math.abs((opts.now ?? new Date()).getTime() - signedAt.getTime()) > skew) {
    throw new SignatureError('InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.', 400);
  }
  if (opts.seenNonce(params.SignatureNonce, accessKeyId)) {
    throw new SignatureError('SignatureNonceUsed', 'Specified signature nonce was used already.', 400);
  }
  return { accessKeyId, action: params.Action, version: params.Version };
}
