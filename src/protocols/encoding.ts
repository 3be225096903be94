// Small encoding and hashing helpers shared by the signature modules.
//
// Every vendor signature scheme here (AWS SigV4, Tencent COS q-sign, Tencent
// Cloud TC3) canonicalises strings with RFC 3986 percent-encoding: only the
// unreserved set A-Z a-z 0-9 - _ . ~ stays literal, everything else becomes
// %XX with upper-case hex over the UTF-8 bytes.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** RFC 3986 percent-encoding (encodeURIComponent leaves !'()* alone; RFC 3986 does not). */
export function rfc3986Encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/**
 * Percent-decodes one query-string component. `+` means a space, as in
 * application/x-www-form-urlencoded, which is how S3 and COS servers read
 * query strings. Returns undefined for malformed escapes so callers can answer
 * with their vendor's own 400 code.
 */
export function decodeQueryComponent(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Percent-decodes a URL path (a `+` in a path is a literal plus). */
export function decodePath(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * Splits a raw query string (no leading `?`) into decoded [name, value]
 * pairs in their original order, keeping duplicates. A name without `=` gets
 * the value ''. Returns undefined when any escape is malformed.
 */
export function parseRawQuery(rawQuery: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  if (rawQuery === '') return pairs;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    const value = decodeQueryComponent(eq < 0 ? '' : part.slice(eq + 1));
    if (name === undefined || value === undefined) return undefined;
    pairs.push([name, value]);
  }
  return pairs;
}

/**
 * Constant-time comparison of two signatures given as strings. Unequal
 * lengths are refused up front (timingSafeEqual throws on them); the length
 * of a hex signature is public anyway.
 */
export function signaturesEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Hex SHA-256 (of the UTF-8 bytes of a string). */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Raw HMAC-SHA256, for the key-derivation chains (TC3, SigV4, OSS V4). */
export function hmacSha256(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * The `Name=value` fields of an Authorization header's parameters (what
 * follows the algorithm), split on commas: SDKs differ on the space after
 * each comma and on the order. Answers the fields when they are exactly
 * `names`, each once; undefined otherwise.
 */
export function authorizationFields<N extends string>(params: string, names: readonly N[]): Record<N, string> | undefined {
  const fields = new Map<string, string>();
  for (const part of params.split(',')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq).trim();
    if (name === '' || fields.has(name)) return undefined;
    fields.set(name, part.slice(eq + 1).trim());
  }
  if (fields.size !== names.length || !names.every((n) => fields.has(n))) return undefined;
  return Object.fromEntries(fields) as Record<N, string>;
}

/** A SignedHeaders list (`a;b;c`) of lower-case header names, sorted and distinct; undefined when it is not one. */
export function sortedHeaderNames(value: string): string[] | undefined {
  const names = value.split(';');
  return names.every((n, i) => /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n) && (i === 0 || names[i - 1] < n)) ? names : undefined;
}
