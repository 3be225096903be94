// Calls of the PAI audience-group dialect (seed 004) as a client makes them:
// Bearer auth, JSON bodies, the vendor's base path on our host.
import type { Harness } from './harness.js';

export const PAI_BASE = '/api/PaiPlugin/2022-01-12';

export interface Pai {
  status: number;
  body: { Data: any; ErrorCode: number; ErrorMessage: string; RequestId: string };
}

/** `secret: null` sends no Authorization header. */
export async function pai(h: Harness, method: string, path: string, opts: { body?: unknown; secret?: string | null } = {}): Promise<Pai> {
  const headers: Record<string, string> = {};
  if (opts.secret !== null) headers.authorization = `Bearer ${opts.secret ?? h.account.secret}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${h.url}${PAI_BASE}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  return { status: r.status, body: await r.json() };
}

export const createGroup = (h: Harness, body: Record<string, unknown>, secret?: string) => pai(h, 'POST', '/CreateGroup', { body, secret });
