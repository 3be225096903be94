// A small client for the native API (/v1) of a running service. The commands
// that act as an account (upload, audience, jobs) go through it; the
// administrative ones work on the data folder instead. Global fetch (undici)
// for the JSON calls; the file PUT streams through node:http (upload.ts).
import { Option, type Command } from 'commander';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/**
 * A failure the command reports as `error: <code>: <message>` (or
 * `error: <message>` when there is no code) before exiting with `exitCode`:
 * 2 when the service refused the request (as the administrative commands do
 * for the service's own errors), 1 for everything else (unreachable service,
 * missing key, a job that ended in ERROR).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly exitCode = 1,
    readonly status?: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ConnectionOptions {
  url: string;
  key?: string;
  json?: boolean;
}

/** `--url`, `--key` and `--json`, with their environment variables. */
export function connectionOptions(c: Command): Command {
  return c
    .addOption(new Option('--url <url>', 'base URL of the running service').env('AUDIENCEHUB_URL').default(DEFAULT_URL))
    .addOption(new Option('--key <key>', 'the secret of a key pair, or ACCESS_KEY_ID:SECRET').env('AUDIENCEHUB_KEY'))
    .option('--json', 'print the JSON the service answered');
}

export type Query = Record<string, string | number | boolean | undefined>;

export class Client {
  readonly base: string;

  constructor(url: string, private readonly key: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CliError(`--url ${JSON.stringify(url)} is not a URL (e.g. ${DEFAULT_URL})`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`--url must be an http:// or https:// URL, not ${url}`);
    // A base with a path (behind a reverse proxy) keeps it; /v1 is appended.
    this.base = parsed.href.replace(/\/+$/, '');
  }

  /** One API call; answers the parsed JSON body (undefined for 204). */
  async call<T = any>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const url = this.url(path, query);
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let r: Response;
    try {
      r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw unreachable(this.base, e);
    }
    const text = await r.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!r.ok) throw serviceError(r.status, json, text);
    if (text && json === undefined) throw new CliError(`${method} ${url} answered HTTP ${r.status} with a body that is not JSON; is --url pointing at audiencehub?`);
    return json as T;
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u.href;
  }

  /** The Authorization header, for URLs of this service that are not pre-signed (export downloads under /v1). */
  authFor(url: string): Record<string, string> {
    const u = new URL(url);
    const b = new URL(this.base);
    return u.origin === b.origin && u.pathname.startsWith(`${b.pathname.replace(/\/$/, '')}/v1/`) ? { authorization: `Bearer ${this.key}` } : {};
  }
}

/** A client from the command's options; a missing key is reported before any call is made. */
export function connect(opts: ConnectionOptions): Client {
  const key = opts.key?.trim();
  if (!key) throw new CliError('no key given: pass --key <secret> or set AUDIENCEHUB_KEY (the secret of a key pair, or ACCESS_KEY_ID:SECRET)');
  return new Client(opts.url || DEFAULT_URL, key);
}

/** The native error envelope `{ error: { code, message, field? } }` as a CliError; anything else by its HTTP status. */
export function serviceError(status: number, json: any, text: string): CliError {
  const e = json?.error;
  if (e && typeof e.code === 'string') return new CliError(String(e.message ?? ''), e.code, 2, status, e.field);
  const snippet = text.trim().slice(0, 200);
  return new CliError(snippet || 'no body', `HTTP ${status}`, 2, status);
}

/**
 * Network failures in words: which URL could not be reached, and what to do
 * about it. `what` names the other end: the service, or the object store a
 * pre-signed URL points at (where `audiencehub serve` would be no help).
 */
export function unreachable(base: string, e: unknown, what = 'the service'): CliError {
  const cause = rootCause(e);
  const code = cause.code;
  const service = what === 'the service';
  if (code === 'ECONNREFUSED')
    return new CliError(
      service
        ? `could not reach the service at ${base} (connection refused). Is it running? Start it with \`audiencehub serve\`, or point --url / AUDIENCEHUB_URL at it.`
        : `could not reach ${what} at ${base} (connection refused)`,
    );
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(`could not reach ${what} at ${base}: host ${new URL(base).hostname} not found${service ? '; check --url / AUDIENCEHUB_URL' : ''}.`);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new CliError(`${what} at ${base} closed the connection before answering`);
  return new CliError(`could not reach ${what} at ${base}: ${cause.message || code || String(e)}`);
}

/** fetch wraps the socket error in `cause`, and a host with several addresses wraps one per address in an AggregateError. */
function rootCause(e: unknown): { code?: string; message?: string } {
  let c = e as { cause?: unknown; code?: string; message?: string; errors?: unknown[] };
  for (let i = 0; i < 5 && c; i++) {
    if (c.code && !c.errors) return c;
    if (Array.isArray(c.errors) && c.errors.length) {
      const first = c.errors[0] as { code?: string; message?: string };
      return { code: c.code ?? first.code, message: first.message };
    }
    if (!c.cause) return c;
    c = c.cause as typeof c;
  }
  return c ?? {};
}
