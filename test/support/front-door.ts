// Helpers for the upload front-door tests: calling the Mintegral and native
// APIs as a client would, sending store requests byte for byte (raw sockets
// and http.request keep a path exactly as written, where fetch would
// normalise `..`), and looking at what the data folder kept.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { mintegralToken } from '../../src/protocols/mintegral.js';
import { createPostPolicy } from '../../src/protocols/oss-post-policy.js';
import type { Harness } from './harness.js';

export interface Key {
  accessKeyId: string;
  secret: string;
}

export const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('hex');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The service's clock in whole seconds (what a Mintegral client puts in `timestamp`). */
export const serviceSeconds = (h: Harness) => Math.floor(h.app.now() / 1000);

export function mintegralHeaders(key: Key, timestamp: number): Record<string, string> {
  return { 'access-key': key.accessKeyId, timestamp: String(timestamp), token: mintegralToken(key.secret, timestamp) };
}

export interface Json {
  status: number;
  body: any;
}

/** GET /api/open/v1/audience/presigned-upload-data with the seed's headers. */
export async function mintegralPresign(h: Harness, query: string | Record<string, string>, opts: { key?: Key; headers?: Record<string, string> } = {}): Promise<Json> {
  const qs = typeof query === 'string' ? query : new URLSearchParams(query).toString();
  const headers = opts.headers ?? mintegralHeaders(opts.key ?? h.account, serviceSeconds(h));
  const r = await fetch(`${h.url}/api/open/v1/audience/presigned-upload-data?${qs}`, { headers });
  return { status: r.status, body: await r.json() };
}

/** A successful Mintegral pre-signed upload call (asserts code 200). */
export async function mintegralUpload(h: Harness, areaType: 1 | 2, fileName: string, content: string | Buffer, key?: Key) {
  const res = await mintegralPresign(h, { area_type: String(areaType), file_name: fileName, file_md5: md5(content) }, { key });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.code, 200, JSON.stringify(res.body));
  return res.body.data;
}

/** A call to the native API as the given key (Bearer = the secret). */
export async function nativeApi(h: Harness, method: string, path: string, opts: { secret?: string; body?: unknown } = {}): Promise<Json> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.secret ?? h.account.secret}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${h.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** POST /v1/uploads; returns the upload and its PUT URL. */
export async function nativeCreate(h: Harness, body: Record<string, unknown>, secret?: string): Promise<{ upload: any; put: { method: string; url: string; headers: Record<string, string> } }> {
  const r = await nativeApi(h, 'POST', '/v1/uploads', { secret, body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

export async function getUpload(h: Harness, id: string, secret?: string): Promise<any> {
  const r = await nativeApi(h, 'GET', `/v1/uploads/${id}`, { secret });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Every upload of the account (follows the pages). */
export async function listAll(h: Harness, secret?: string): Promise<any[]> {
  const out: any[] = [];
  let after: string | null = null;
  do {
    const r: Json = await nativeApi(h, 'GET', `/v1/uploads?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`, { secret });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body.items);
    after = r.body.next;
  } while (after);
  return out;
}

/** The upload a Mintegral data_path names, found the way a user would: in their own list. */
export async function uploadByDataPath(h: Harness, dataPath: string, secret?: string): Promise<any> {
  const hit = (await listAll(h, secret)).find((u) => u.data_path === dataPath);
  assert.ok(hit, `no upload has data_path ${dataPath}`);
  return getUpload(h, hit.id, secret);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request with the path sent exactly as given (no normalisation),
 * the body written whole. Resolves with the response, whatever its status.
 */
export function httpRequest(h: Harness, method: string, path: string, body?: string | Buffer, headers: Record<string, string | number> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.config.port, method, path, headers: { ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}), ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The server may answer and close before the whole body is written.
    req.on('error', reject);
    req.end(body);
  });
}

/** PUT a body to a pre-signed URL (path and query kept byte for byte). */
export function putUrl(h: Harness, url: string, body: string | Buffer, headers: Record<string, string | number> = {}): Promise<RawResponse> {
  const u = new URL(url);
  return httpRequest(h, 'PUT', url.slice(u.origin.length), body, headers);
}

/** The <Code> of a store's XML error document. */
export function xmlCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

export function xmlMessage(body: string): string | undefined {
  return /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
}

/**
 * A raw HTTP/1.1 request on a socket: the test decides when (and whether) the
 * body's bytes go out. `response` resolves with the status line's code and
 * everything the server sent, once the server closes or answers in full.
 */
export interface RawExchange {
  socket: Socket;
  /** Resolves true when the bytes were handed to the kernel, false if the server has already closed. */
  write(data: string | Buffer): Promise<boolean>;
  response: Promise<{ status: number; text: string }>;
  /** True as soon as the first byte of a response arrived. */
  answered(): boolean;
}

const openSockets = new Set<Socket>();

/**
 * Closes the harness after dropping any raw connection a failed test left
 * open (the server would otherwise wait for that request to finish).
 */
export async function closeHarness(h: Harness): Promise<void> {
  for (const s of openSockets) s.destroy();
  await h.close();
}

export async function rawExchange(h: Harness, method: string, url: string, headers: Record<string, string | number>): Promise<RawExchange> {
  const u = new URL(url);
  const socket = connect(h.config.port, '127.0.0.1');
  openSockets.add(socket);
  socket.on('close', () => openSockets.delete(socket));
  await new Promise<void>((res, rej) => socket.once('connect', () => res()).once('error', rej));
  let text = '';
  let gotAny = false;
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    // A server that never answers fails the test rather than hanging it.
    const timer = setTimeout(() => reject(new Error(`no complete answer within 20 s (got ${JSON.stringify(text.slice(0, 200))})`)), 20_000);
    const done = () => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    socket.on('data', (d: Buffer) => {
      gotAny = true;
      text += d.toString('latin1');
      // A complete response with a Content-Length: stop waiting for close.
      const head = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, head));
      if (head !== -1 && len && text.length >= head + 4 + Number(len[1])) done();
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
    timer.unref();
  });
  // Tests that cut the connection never read the answer; that is not an error.
  response.catch(() => undefined);
  const lines = [`${method} ${url.slice(u.origin.length)} HTTP/1.1`, `Host: ${u.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const write = (data: string | Buffer) =>
    new Promise<boolean>((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve(false);
      socket.write(data, (e) => resolve(!e));
    });
  return { socket, write, response, answered: () => gotAny };
}

/** Polls until fn returns a truthy value (or fails the test after timeoutMs). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Runs a command and resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 << 20 }, (e, stdout, stderr) => {
      if (e && typeof e.code !== 'number') return reject(e);
      resolve({ code: e ? Number(e.code) : 0, stdout, stderr });
    });
  });
}

/** The seed's area_type=1 command, argument for argument: curl -X {method} -T "{path}" "{url}". */
export const seedCurlPut = (method: string, path: string, url: string) => run('curl', ['-X', method, '-T', path, url]);

/** The seed's area_type=2 command, argument for argument (the quotes are curl's own -F syntax). */
export function seedCurlPost(oss: { method: string; host: string; dir: string; accessid: string; policy: string; signature: string }, path: string) {
  return run('curl', [
    '--request', oss.method, oss.host,
    '--form', `key="${oss.dir}"`,
    '--form', `OSSAccessKeyId="${oss.accessid}"`,
    '--form', `policy="${oss.policy}"`,
    '--form', `signature="${oss.signature}"`,
    '--form', 'success_action_status="200"',
    '--form', `file=@"${path}"`,
  ]);
}

// ---------------------------------------------------------------- the data folder

export const objectsDir = (h: Harness) => join(h.config.dataDir, 'objects');

export function bucketOf(h: Harness, clusterId: number): string {
  const c = h.config.clusters.find((x) => x.id === clusterId);
  assert.ok(c, `cluster ${clusterId}`);
  return c.bucket;
}

/** Where the embedded store keeps an upload's object. */
export function objectFile(h: Harness, upload: { cluster_id: number; storage_key: string }): string {
  return join(objectsDir(h), bucketOf(h, upload.cluster_id), ...upload.storage_key.split('/'));
}

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
  return out;
}

/** Every file under the data folder's objects/ tree (objects, temporary files, parts). */
export const allObjectFiles = (h: Harness) => walk(objectsDir(h));

/** Files left in objects/.tmp (uploads in flight). */
export const tempFiles = (h: Harness) => walk(join(objectsDir(h), '.tmp'));

/**
 * After a refusal: no object for the upload's key, no temporary file, and the
 * upload is not READY. With `code`, the upload records that refusal (status
 * FAILED, error.code, a message); returns the upload as GET shows it.
 */
export async function assertNothingKept(h: Harness, uploadId: string, expect: { code?: string; messageMatches?: RegExp; secret?: string } = {}): Promise<any> {
  const u = await getUpload(h, uploadId, expect.secret);
  assert.equal(existsSync(objectFile(h, u)), false, `an object was kept at ${u.storage_key}`);
  const bucketFiles = walk(join(objectsDir(h), bucketOf(h, u.cluster_id))).filter((f) => f.includes(u.id));
  assert.deepEqual(bucketFiles, [], 'nothing is kept under the upload key');
  assert.deepEqual(tempFiles(h), [], 'no temporary file is left behind');
  assert.notEqual(u.status, 'READY');
  assert.equal(u.md5, null);
  assert.equal(u.size, null);
  if (expect.code) {
    assert.equal(u.status, 'FAILED');
    assert.equal(u.error?.code, expect.code, JSON.stringify(u.error));
    assert.ok(u.error.message.length > 10, 'the refusal says why');
    if (expect.messageMatches) assert.match(u.error.message, expect.messageMatches);
  }
  return u;
}

/**
 * POSTs an OSS PostObject form for `key` to the cluster 2 bucket, with a
 * policy genuinely signed by that bucket's store credential: what only the
 * service itself could issue. Answers the status and the XML code.
 */
export async function postSignedOssForm(h: Harness, key: string, content: string): Promise<{ status: number; code: string | undefined }> {
  const bucket = bucketOf(h, 2);
  const cred = h.app.storeCredentials.forBucket(bucket);
  const { policy, signature } = createPostPolicy({ accessKeyId: cred.accessKeyId, secret: cred.secret, bucket, exactKey: key, maxBytes: 1000, expiresAt: new Date(h.app.now() + 60_000) });
  const form = new FormData();
  form.append('key', key);
  form.append('OSSAccessKeyId', cred.accessKeyId);
  form.append('policy', policy);
  form.append('Signature', signature);
  form.append('file', new Blob([content]), 'a.txt');
  const r = await fetch(`${h.url}/${bucket}`, { method: 'POST', body: form });
  return { status: r.status, code: xmlCode(await r.text()) };
}
