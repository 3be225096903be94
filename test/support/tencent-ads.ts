// Helpers for the Tencent Marketing API tests (/v1.3): the dialect's access
// token and global parameters, waiting on an audience through
// custom_audiences/get, and the refusal tables that send a valid request
// with one field changed and expect the vendor code and the field named.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { nativeApi, waitFor } from './front-door.js';
import type { Harness } from './harness.js';
import { setPath } from './paths.js';
import { serviceSeconds } from './vendor-clients.js';

type Body = Record<string, any>;

/** An access_token for the key with this secret (the harness's own account by default). */
export async function adsToken(h: Harness, secret?: string): Promise<string> {
  const t = await nativeApi(h, 'POST', '/v1/tokens', { secret });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  return t.body.access_token;
}

/** The global parameters of one call: the token, the service's time and a fresh nonce. */
export const adsGlobals = (h: Harness, token: string): Record<string, string> => ({
  access_token: token,
  timestamp: String(serviceSeconds(h)),
  nonce: randomUUID().replace(/-/g, ''),
});

/** Polls until the audience `read` answers (an item of custom_audiences/get) is built; one in ERROR fails the test. */
export async function whenBuilt(what: string, read: () => Promise<Body>): Promise<Body> {
  const built = await waitFor(what, async () => {
    const a = await read();
    assert.notEqual(a.status, 'ERROR', JSON.stringify(a));
    return a.status === 'SUCCESS' ? a : undefined;
  }, 30_000);
  return built!;
}

/** A row of a refusal table: the valid request `base` with `path` set to `value` (DELETE: left out). */
export interface PathRow {
  base: string;
  path: string;
  value: unknown | (() => unknown);
  code: number;
  /** The field the answer must name (default: path). */
  field?: string;
  /** More paths to change with the first (a rule that needs two fields to disagree). */
  also?: Array<[string, unknown]>;
}

/** Makes the row's changes to `body`; answers the value put at the row's path. */
export function editByRow(body: Body, row: PathRow): unknown {
  const value = typeof row.value === 'function' ? (row.value as () => unknown)() : row.value;
  setPath(body, row.path, value);
  for (const [p, v] of row.also ?? []) setPath(body, p, v);
  return value;
}

/**
 * How the answer `r` misses the row's refusal (the code, and the field named
 * in both messages), labelled `what`; undefined when it is the refusal.
 */
export function missedRefusal(what: string, row: PathRow, value: unknown, r: Body): string | undefined {
  const field = row.field ?? row.path;
  if (r.code === row.code && r.message.includes(field) && r.message_cn.includes(`字段：${field}`)) return undefined;
  const shown = typeof row.value === 'symbol' ? '(absent)' : JSON.stringify(value)?.slice(0, 60);
  return `${what}: ${row.path} = ${shown}: expected ${row.code} naming ${field}, got ${r.code} ${r.message} / ${r.message_cn}`;
}
