// `audiencehub upload FILE`: the native upload flow from the command line.
// The MD5 is computed locally first and declared, so the store refuses a body
// that was damaged on the way; the file is then streamed from disk in one PUT
// to the pre-signed URL (never held in memory: files go up to 5 GB).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { basename } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UPLOAD_PURPOSES, type UploadPurpose } from '../domain/uploads/purpose.js';
import { CliError, connect, connectionOptions, unreachable, type Client, type ConnectionOptions } from './client.js';
import { byteProgress, formatBytes, progressMode, type ByteProgress, type ProgressMode } from './progress.js';

// Large reads keep the hash and the socket busy with few system calls.
const CHUNK = 4 * 1024 * 1024;
// Below this the hash takes well under a second: no hashing progress.
const HASH_PROGRESS_FROM = 64 * 1024 * 1024;
// A server that never answers `Expect: 100-continue` gets the body after this
// long anyway, as curl does.
const CONTINUE_TIMEOUT_MS = 1000;

/** The upload record as GET /v1/uploads/:id answers it (the fields the CLI reads). */
export interface UploadRecord {
  id: string;
  status: string;
  file_name: string;
  cluster_id: number;
  md5: string | null;
  size: number | null;
  format: string | null;
  error: { code: string; message: string } | null;
  [k: string]: unknown;
}

interface CreatedUpload {
  upload: UploadRecord;
  put: { method: string; url: string; headers: Record<string, string> };
}

export interface UploadOptions {
  clusterId?: number;
  /** `events` for a file of behaviour events (csv, ndjson, parquet) to load; audience files by default. */
  purpose?: UploadPurpose;
  mode: ProgressMode;
}

/** Hash, create, PUT, read back: the upload record once the service has taken the file. */
export async function uploadFile(client: Client, path: string, opts: UploadOptions): Promise<UploadRecord> {
  const size = await fileSize(path);
  const name = basename(path);
  const md5 = await md5File(path, size, size >= HASH_PROGRESS_FROM ? byteProgress(`hashing ${name}`, size, opts.mode) : undefined);
  const created = await client.call<CreatedUpload>('POST', '/v1/uploads', { file_name: name, md5, size, ...(opts.clusterId ? { cluster_id: opts.clusterId } : {}), ...(opts.purpose ? { purpose: opts.purpose } : {}) });
  const readBack = () => client.call<UploadRecord>('GET', `/v1/uploads/${encodeURIComponent(created.upload.id)}`);
  try {
    await putFile(created.put.url, created.put.headers ?? {}, path, size, byteProgress(`uploading ${name}`, size, opts.mode));
  } catch (e) {
    if (!(e instanceof CutWhileSending)) throw e;
    // The refusal's answer was lost with the connection; the upload's record kept it.
    const up = await readBack();
    if (up.status === 'FAILED' && up.error) throw new CliError(up.error.message, up.error.code, 2);
    throw e.unreachable;
  }
  const up = await readBack();
  if (up.status === 'FAILED' && up.error) throw new CliError(`upload ${up.id} failed: ${up.error.message}`, up.error.code, 2);
  return up;
}

async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new CliError(`${path} is not a file`);
    return s.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** The file's MD5 in lowercase hex, read in large chunks. */
export async function md5File(path: string, size: number, progress?: ByteProgress): Promise<string> {
  const hash = createHash('md5');
  let done = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      progress?.update(done);
    }
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (done !== size) throw new CliError(`${path} changed size while it was read (${size} then ${done} bytes)`);
  progress?.finish();
  return hash.digest('hex');
}

/**
 * One PUT of the file with Content-Length and `Expect: 100-continue`: a
 * refusal that does not depend on the body (used or expired credential, size
 * over the limit) arrives before any of it is sent. A response that arrives
 * while the body is still going (a refusal from the content) stops the send.
 */
export function putFile(url: string, headers: Record<string, string>, path: string, size: number, progress: ByteProgress): Promise<void> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? https.request : http.request;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let fallback: NodeJS.Timeout | undefined;
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(fallback);
      if (e) reject(e);
      else resolve();
    };
    // The length and the Expect are this function's own; any the caller passed in are dropped, not doubled.
    const own = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(content-length|expect)$/i.test(k)));
    // No keep-alive agent: the one connection closes with the PUT, and a refused
    // request whose body was never sent cannot be reused anyway.
    const req = request(u, { method: 'PUT', agent: false, headers: { ...own, 'content-length': String(size), expect: '100-continue' } });
    let body: ReturnType<typeof createReadStream> | undefined;
    let sent = 0;
    const send = () => {
      if (body || settled) return;
      body = createReadStream(path, { highWaterMark: CHUNK });
      body.on('data', (c) => progress.update((sent += c.length)));
      body.on('error', (e) => {
        req.destroy();
        settle(new CliError(`cannot read ${path}: ${e.message}`));
      });
      body.pipe(req);
    };
    fallback = setTimeout(send, CONTINUE_TIMEOUT_MS);
    req.on('continue', () => {
      clearTimeout(fallback);
      send();
    });
    req.on('response', (res) => {
      clearTimeout(fallback);
      if (body && sent < size) {
        body.unpipe(req);
        body.destroy();
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          progress.finish();
          settle();
        } else settle(storeRefusal(status, Buffer.concat(chunks).toString('utf8')));
        // The body may not have been sent at all: the socket cannot be reused.
        if (!body || sent < size) req.destroy();
      });
      res.on('error', (e) => settle(unreachable(u.origin, e, 'the object store')));
    });
    req.on('error', (e) => {
      const down = unreachable(u.origin, e, 'the object store');
      const code = (e as NodeJS.ErrnoException).code;
      // The store answers a refusal from the content while the body is still
      // going, and closes; the close can reach us before its answer does.
      settle(body && (code === 'EPIPE' || code === 'ECONNRESET') ? new CutWhileSending(down) : down);
    });
  });
}

/** The connection went while the body was being sent: the service's record of the upload says whether it was refused, and why. */
class CutWhileSending extends Error {
  constructor(readonly unreachable: CliError) {
    super(unreachable.message);
  }
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const xmlText = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, n: string) => XML_ENTITIES[n]);

/** An object store answers an XML `<Error><Code/><Message/></Error>`; the native envelope is also understood. */
export function storeRefusal(status: number, text: string): CliError {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  if (code) return new CliError(xmlText(/<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? ''), xmlText(code), 2, status);
  try {
    const e = JSON.parse(text)?.error;
    if (e?.code) return new CliError(String(e.message ?? ''), String(e.code), 2, status);
  } catch {
    // not JSON either: the status and the start of the body below
  }
  return new CliError(`the store refused the file: ${text.trim().slice(0, 200) || 'no body'}`, `HTTP ${status}`, 2, status);
}

export function describeUpload(up: UploadRecord): string {
  const lines = [`upload ${up.id} ${up.status}`, `  file    ${up.file_name}`];
  if (up.size !== null) lines.push(`  size    ${formatBytes(up.size)} (${up.size} bytes)${up.format ? `, ${up.format}` : ''}`);
  if (up.md5) lines.push(`  md5     ${up.md5}`);
  lines.push(`  cluster ${up.cluster_id}`);
  if (up.error) lines.push(`  error   ${up.error.code}: ${up.error.message}`);
  return lines.join('\n');
}

/** A commander argument parser: a positive integer, or commander's own usage error. */
export function positiveInt(v: string): number {
  if (!/^[1-9]\d*$/.test(v)) throw new InvalidArgumentError('a positive integer is expected');
  return Number(v);
}

export function registerUpload(program: Command) {
  connectionOptions(
    program
      .command('upload')
      .description('upload an audience file (txt, csv or gz), or with --purpose events a file of behaviour events (csv, ndjson, parquet), to a running service; prints the upload id')
      .argument('<file>', 'the file to upload')
      .option('--cluster <n>', 'data cluster id (default 1)', positiveInt)
      .addOption(new Option('--purpose <purpose>', 'what the file is for').choices(UPLOAD_PURPOSES).default('audience')),
  ).action(async (file: string, opts: ConnectionOptions & { cluster?: number; purpose: UploadPurpose }) => {
    const client = connect(opts);
    const up = await uploadFile(client, file, { clusterId: opts.cluster, purpose: opts.purpose, mode: progressMode(opts.json) });
    process.stdout.write(opts.json ? JSON.stringify(up, null, 2) + '\n' : describeUpload(up) + '\n');
  });
}
