// Helpers for the audience tests: uploads made the way a client makes them
// (POST /v1/uploads, then a PUT of the bytes) and audience calls through the
// native API, waiting on changes the way the CLI's --wait does.
import assert from 'node:assert/strict';
import { md5, nativeApi, nativeCreate, putUrl, waitFor, type Json } from './front-door.js';
import type { Harness } from './harness.js';

/** A READY upload holding `content`; returns its id. */
export async function uploadText(h: Harness, name: string, content: string | Buffer, opts: { secret?: string; clusterId?: number } = {}): Promise<string> {
  const body = typeof content === 'string' ? Buffer.from(content) : content;
  const { upload, put } = await nativeCreate(h, { file_name: name, md5: md5(body), size: body.length, ...(opts.clusterId ? { cluster_id: opts.clusterId } : {}) }, opts.secret);
  const r = await putUrl(h, put.url, body, put.headers);
  assert.equal(r.status, 200, r.body);
  return upload.id;
}

export const api = (h: Harness, method: string, path: string, body?: unknown, secret?: string): Promise<Json> => nativeApi(h, method, path, { body, secret });

/** A native answer as [status, error code, error field], for comparing a refusal in one assertion. */
export const refusal = (r: { status: number; body: any }) => [r.status, r.body?.error?.code, r.body?.error?.field];

/** POST /v1/audiences, expecting 201. */
export async function createAudience(h: Harness, body: Record<string, unknown>, secret?: string): Promise<any> {
  const r = await api(h, 'POST', '/v1/audiences', body, secret);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** Waits until the change has finished; returns it. */
export async function finishedChange(h: Harness, audienceId: number, changeId: number, secret?: string): Promise<any> {
  return waitFor(`change ${changeId} of audience ${audienceId}`, async () => {
    const r = await api(h, 'GET', `/v1/audiences/${audienceId}/changes/${changeId}`, undefined, secret);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.status === 'SUCCESS' || r.body.status === 'ERROR' ? r.body : undefined;
  }, 30_000);
}

/** Creates an audience and waits for its first change; returns the audience as GET shows it then. */
export async function builtAudience(h: Harness, body: Record<string, unknown>, secret?: string): Promise<any> {
  const a = await createAudience(h, body, secret);
  if (a.last_change) await finishedChange(h, a.id, a.last_change.id, secret);
  return (await api(h, 'GET', `/v1/audiences/${a.id}`, undefined, secret)).body;
}

export async function changeAudience(h: Harness, audienceId: number, body: Record<string, unknown>, secret?: string): Promise<any> {
  const r = await api(h, 'POST', `/v1/audiences/${audienceId}/changes`, body, secret);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return finishedChange(h, audienceId, r.body.id, secret);
}

/** Which of these ids are in the audience, as a '0'/'1' string. */
export async function members(h: Harness, audienceId: number, idType: string, ids: string[], secret?: string): Promise<string> {
  const r = await api(h, 'POST', `/v1/audiences/${audienceId}/members`, { id_type: idType, ids }, secret);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.members;
}

/** Phone numbers 13800000000 + i, as text lines. */
export const phones = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => String(13_800_000_000 + from + i));
export const lines = (xs: string[]) => xs.join('\n') + '\n';
