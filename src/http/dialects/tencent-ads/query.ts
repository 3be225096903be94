// The query string of a GET call as the walker (audience-rules.ts) reads it:
// the call's own parameters, without the global ones auth.ts reads.
import { err } from '../../../errors.js';

/** The global parameters travel in the query string with the call's own. */
const AUTH_PARAMS = new Set(['access_token', 'timestamp', 'nonce']);

/**
 * The call's parameters, the global ones left out and those named in `json`
 * parsed (the vendor sends lists and structs as JSON text); `expected` is
 * what a refusal says such a parameter must be.
 */
export function queryParams(query: unknown, json: readonly string[], expected = 'JSON'): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (AUTH_PARAMS.has(k)) continue;
    if (json.includes(k) && typeof v === 'string') {
      try {
        raw[k] = JSON.parse(v);
      } catch {
        throw err('InvalidParameter', `${k} must be ${expected}, got ${JSON.stringify(v.slice(0, 100))}`, k);
      }
    } else raw[k] = v;
  }
  return raw;
}
