// Mintegral open API token (helpcenter.mintegral.com/en/docs/token-api):
// every call carries the headers
//   access-key: the account's public id
//   timestamp:  Unix time in seconds
//   token:      md5(api_key . md5(timestamp)), lower-case hex
// where api_key is the account's secret. The page's own example — api_key
// ce4f7c2b8edb173e2533d7a169080504, timestamp 1471256697 — gives token
// 378d387c2b61462cf4bc62b3949111f3.
//
// Mintegral answers in an envelope {code, msg, data} and publishes no table
// of authentication codes. The codes below are our choice, modelled on the
// sibling Mobvista open APIs (401 "Token Error", 403 "Advertiser is not
// found"); SignatureError.code carries them as strings, SignatureError.status
// the HTTP status we pair with them:
//   '401' (HTTP 401)  a header is missing, the timestamp is not an integer,
//                     or the token does not match
//   '402' (HTTP 401)  the timestamp is more than maxSkewSeconds (300) away
//   '403' (HTTP 403)  the access-key is unknown
// Mintegral documents no skew window either; 300 s matches its reporting
// API ("valid time is ±300 seconds").

import { createHash } from 'node:crypto';
import { signaturesEqual } from './encoding.js';
import { SignatureError, headerValue, type HeaderMap } from './types.js';

export const MINTEGRAL_TOKEN_INVALID = '401';
export const MINTEGRAL_TIMESTAMP_EXPIRED = '402';
export const MINTEGRAL_UNKNOWN_ACCESS_KEY = '403';

export interface VerifyMintegralOptions {
  /** The api_key (secret) of an access-key, or undefined when unknown. */
  lookupSecret(accessKey: string): string | undefined;
  now?: Date;
  maxSkewSeconds?: number;
}

export interface MintegralIdentity {
  accessKey: string;
  /** Seconds since the epoch, as sent. */
  timestamp: number;
}

function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** md5(apiKey + md5(timestamp)) in lower-case hex; the timestamp is hashed as its decimal text. */
export function mintegralToken(apiKey: string, timestamp: string | number): string {
  return md5Hex(apiKey + md5Hex(String(timestamp)));
}

function tokenInvalid(message: string): SignatureError {
  return new SignatureError(MINTEGRAL_TOKEN_INVALID, message, 401);
}

function requiredHeader(headers: HeaderMap, name: string): string {
  const value = headerValue(headers, name)?.trim();
  if (!value) throw tokenInvalid(`The ${name} header is required.`);
  return value;
}

/** Checks the access-key / timestamp / token headers of a Mintegral open API call. */
export function verifyMintegral(headers: HeaderMap, opts: VerifyMintegralOptions): MintegralIdentity {
  const accessKey = requiredHeader(headers, 'access-key');
  const token = requiredHeader(headers, 'token').toLowerCase();
  const timestamp = requiredHeader(headers, 'timestamp');
  if (!/^\d{1,12}$/.test(timestamp)) throw tokenInvalid('The timestamp header must be Unix time in seconds.');
  const apiKey = opts.lookupSecret(accessKey);
  if (apiKey === undefined) throw new SignatureError(MINTEGRAL_UNKNOWN_ACCESS_KEY, 'The access-key is not found.', 403);
  if (!signaturesEqual(mintegralToken(apiKey, timestamp), token)) throw tokenInvalid('The token is invalid.');
  const seconds = Number(timestamp);
  const nowSeconds = (opts.now ?? new Date()).getTime() / 1000;
  if (Math.abs(nowSeconds - seconds) > (opts.maxSkewSeconds ?? 300)) {
    throw new SignatureError(MINTEGRAL_TIMESTAMP_EXPIRED, 'The timestamp has expired.', 401);
  }
  return { accessKey, timestamp: seconds };
}
