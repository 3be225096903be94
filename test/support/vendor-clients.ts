// Calling the running service the way each vendor's own client would: the
// Tencent Cloud SDK's CommonClient (TC3), @alicloud/pop-core (Aliyun RPC V1),
// the Mintegral headers, a native Bearer call and the `audiencehub` CLI as a
// child process. Each helper answers what the caller sees (code, HTTP status)
// instead of throwing, so tests can be written as tables.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import RPCClient from '@alicloud/pop-core';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { mintegralToken } from '../../src/protocols/mintegral.js';
import type { Harness } from './harness.js';

export interface Key {
  accessKeyId: string;
  secret: string;
}

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The service's clock in whole seconds. */
export const serviceSeconds = (h: Harness) => Math.floor(h.app.now() / 1000);

// ---------------------------------------------------------------- Tencent Cloud (TC3)

export interface TcOptions {
  version?: string;
  region?: string;
}

export function tcClient(h: Harness, key: Key, opts: TcOptions = {}): CommonClient {
  return new CommonClient('faceid.tencentcloudapi.com', opts.version ?? '2018-03-01', {
    credential: { secretId: key.accessKeyId, secretKey: key.secret },
    region: opts.region ?? 'ap-singapore',
    profile: { httpProfile: { endpoint: new URL(h.url).host, protocol: 'http:' } },
  });
}

export type TcResult =
  | { ok: true; response: Record<string, any> }
  | { ok: false; code: string; message: string; requestId: string; httpCode?: number };

/** One call through the vendor's SDK; a refusal comes back as its Response.Error. */
export async function tcCall(client: CommonClient, action: string, params: object): Promise<TcResult> {
  try {
    return { ok: true, response: await client.request(action, params) };
  } catch (e) {
    const x = e as { code?: string; message: string; requestId: string; httpCode?: number };
    return { ok: false, code: x.code ?? '', message: x.message, requestId: x.requestId, httpCode: x.httpCode };
  }
}

export const createUploadUrl = (h: Harness, key: Key, params: object = { TargetAction: 'ApplyWebVerificationToken' }, opts: TcOptions = {}) =>
  tcCall(tcClient(h, key, opts), 'CreateUploadUrl', params);

// ---------------------------------------------------------------- Aliyun RPC (signature V1)

export interface AliResult {
  status: number;
  code: string;
  body: Record<string, any>;
}

/** One call through pop-core; `params` may pin SignatureNonce or Timestamp (pop-core signs what it is given). */
export async function aliCall(h: Harness, key: Key, action: string, params: Record<string, string> = {}, method: 'GET' | 'POST' = 'POST'): Promise<AliResult> {
  const client = new RPCClient({ accessKeyId: key.accessKeyId, accessKeySecret: key.secret, endpoint: h.url, apiVersion: '2020-11-09' });
  try {
    const body = await client.request<Record<string, any>>(action, params, { method, timeout: 10_000 });
    return { status: 200, code: '', body };
  } catch (e) {
    const x = e as { code?: string; data?: Record<string, any>; entry?: { response?: { statusCode: number } }; message: string };
    if (!x.code) throw e;
    return { status: x.entry?.response?.statusCode ?? 0, code: x.code, body: x.data ?? {} };
  }
}

// ---------------------------------------------------------------- Mintegral and native

export function mintegralHeaders(key: Key, timestamp: number): Record<string, string> {
  return { 'access-key': key.accessKeyId, timestamp: String(timestamp), token: mintegralToken(key.secret, timestamp) };
}

export interface JsonResult {
  status: number;
  body: any;
}

export async function fetchJson(url: string, init: RequestInit = {}): Promise<JsonResult> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** A native API call with `Authorization: Bearer <token>` (no header when token is undefined). */
export function native(h: Harness, method: string, path: string, token: string | undefined, body?: unknown): Promise<JsonResult> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetchJson(`${h.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

// ---------------------------------------------------------------- the CLI

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `audiencehub <args>` from source (tsx), or the built bin/audiencehub.js when `built` is set. */
export function cli(args: string[], opts: { built?: boolean; env?: Record<string, string> } = {}): Promise<CliResult> {
  const argv = opts.built ? ['bin/audiencehub.js', ...args] : ['--import', 'tsx', 'src/cli/main.ts', ...args];
  // A clean environment, so that no AUDIENCEHUB_* variable of the caller leaks in.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env };
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
