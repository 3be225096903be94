// What the ICE tests share: the vendors' own clients pointed at the harness,
// the decoding a client does of UploadAddress/UploadAuth, audience-like file
// content, and a throwaway HTTP receiver for callbacks.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import RPCClient from '@alicloud/pop-core';
import OSS from 'ali-oss';
import type { Harness } from './harness.js';

export interface Key {
  accessKeyId: string;
  secret: string;
}

export function rpc(h: Harness, key: Key = h.account): RPCClient {
  return new RPCClient({ accessKeyId: key.accessKeyId, accessKeySecret: key.secret, endpoint: h.url, apiVersion: '2020-11-09' });
}

/** POST, as the vendor's samples call these actions. Answers are loosely typed: the tests check their shape. */
export function call<T = any>(client: RPCClient, action: string, params: Record<string, unknown>): Promise<T> {
  return client.request<T>(action, params, { method: 'POST' });
}

/** The Code and HTTP status of a refused call (pop-core throws with both). */
export async function refusal(p: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code?: string; entry?: { response?: { statusCode?: number } }; data?: { Message?: string } };
    return { code: String(err.code), status: Number(err.entry?.response?.statusCode), message: err.data?.Message ?? err.message };
  }
  throw new Error('the call was expected to be refused');
}

export interface UploadAddress {
  Endpoint: string;
  Bucket: string;
  FileName: string;
}

export interface UploadAuth {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
  ExpireUTCTime: string;
  Region: string;
}

export const decode = <T>(b64: string): T => JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));

/** An ali-oss client built only from what CreateUploadMedia / RefreshUploadMedia answered. */
export function ossFrom(res: { UploadAddress: string; UploadAuth: string }, extra: Record<string, unknown> = {}): { oss: OSS; address: UploadAddress } {
  const address = decode<UploadAddress>(res.UploadAddress);
  const auth = decode<UploadAuth>(res.UploadAuth);
  const oss = new OSS({
    endpoint: address.Endpoint,
    bucket: address.Bucket,
    region: `oss-${auth.Region}`,
    accessKeyId: auth.AccessKeyId,
    accessKeySecret: auth.AccessKeySecret,
    stsToken: auth.SecurityToken,
    // Never due within a test; set only so ali-oss does not warn about STS refresh.
    refreshSTSToken: async () => ({ accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, stsToken: auth.SecurityToken }),
    refreshSTSTokenInterval: 3_600_000,
    timeout: 10_000,
    ...extra,
  });
  return { oss, address };
}

/** ali-oss `get`, which the shared typings leave out. */
export async function ossGet(oss: OSS, key: string): Promise<Buffer> {
  const r = await (oss as unknown as { get(name: string): Promise<{ content: Buffer }> }).get(key);
  return r.content;
}

/** Audience-like content: one 32-character hex device id per line, about `bytes` long. */
export function hexLines(bytes: number): Buffer {
  const lines: string[] = [];
  for (let n = 0; n < bytes; n += 33) lines.push(randomBytes(16).toString('hex'));
  return Buffer.from(lines.join('\n') + '\n');
}

export function fileInfo(over: Record<string, unknown> = {}): string {
  return JSON.stringify({ Type: 'text', Name: 'audience', Ext: 'txt', ...over });
}

export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A callback receiver on 127.0.0.1 answering each POST with the next status of `statuses` (the last repeats). */
export async function receiver(statuses: number[] = [200]): Promise<{ url: string; got: Received[]; next: () => Promise<Received>; close: () => Promise<void> }> {
  const got: Received[] = [];
  let waiting: Array<() => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(statuses[Math.min(got.length - 1, statuses.length - 1)]).end();
      for (const w of waiting) w();
      waiting = [];
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  let seen = 0;
  const next = async () => {
    while (got.length <= seen) await new Promise<void>((resolve) => waiting.push(resolve));
    return got[seen++];
  };
  return { url, got, next, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
