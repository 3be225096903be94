// Small encoding helpers shared by the signature modules.
//
// Every vendor signature scheme here (AWS SigV4, Tencent COS q-sign, Tencent
// Cloud TC3) canonicalises strings with RFC 3986 percent-encoding: only the
// unreserved set A-Z a-z 0-9 - _ . ~ stays literal, everything else becomes
// %XX with upper-case hex over the UTF-8 bytes.

import { timingSafeEqual } from 'node:crypto';

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
