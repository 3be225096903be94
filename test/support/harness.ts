// Starts the real service on a loopback port with a fresh data folder, as a
// user would run it, and hands tests an account to act as. The metadata store
// is SQLite in the data folder, or a fresh database on this file's throwaway
// PostgreSQL server (test/support/postgres.ts) with `database: 'postgres'`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { buildServer } from '../../src/http/server.js';
import { startJobs } from '../../src/worker/handlers.js';
import { startPostgres } from './postgres.js';

export interface Harness {
  app: App;
  server: FastifyInstance;
  url: string;
  config: Config;
  /** Moves the service's clock (signatures, expiry, TTLs) by this many ms; `frozenAtMs` stops it there (rate windows on a loaded machine). */
  clock: { offsetMs: number; frozenAtMs?: number };
  account: { id: string; accessKeyId: string; secret: string };
  newAccount(name: string): Promise<{ id: string; accessKeyId: string; secret: string }>;
  /** An account whose only key has been revoked. */
  newRevokedKey(name: string): Promise<{ id: string; accessKeyId: string; secret: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Deep-merged into the config before start (e.g. { uploads: { maxBytes: 1000 } }). */
  patch?: (c: Config) => void;
  /** Which metadata store to run on (default sqlite). Callers check startPostgres() first and skip when it is not ok. */
  database?: 'sqlite' | 'postgres';
  /** Run the job runner in the process, as `serve` does (audience changes, exports, callbacks). */
  jobs?: boolean;
}

/** A loopback port nobody listens on now (pre-signed URLs embed the port, so it is chosen before start). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'audiencehub-test-'));
  const clock: Harness['clock'] = { offsetMs: 0 };
  const port = await freePort();
  const config = loadConfig({ dataDir, port, host: '127.0.0.1' }, {});
  if (opts.database === 'postgres') {
    const pg = await startPostgres();
    if (!pg.ok) throw new Error(pg.skip);
    config.database.url = await pg.server.createDatabase();
    config.masterKey = randomBytes(32).toString('base64');
  }
  opts.patch?.(config);
  const app = await openApp(config, { now: () => clock.frozenAtMs ?? Date.now() + clock.offsetMs });
  const server = await buildServer(app);
  await server.listen({ host: '127.0.0.1', port });
  const runner = opts.jobs ? startJobs(app, { pollMs: 50 }) : undefined;
  const newAccount = async (name: string) => {
    const { account, key } = await app.accounts.create(name);
    return { id: account.id, accessKeyId: key.accessKeyId, secret: key.secret };
  };
  const newRevokedKey = async (name: string) => {
    const acct = await newAccount(name);
    await app.accounts.revokeKey(acct.id, acct.accessKeyId);
    return acct;
  };
  const account = await newAccount('test-account');
  return {
    app,
    server,
    url: config.publicUrl,
    config,
    clock,
    account,
    newAccount,
    newRevokedKey,
    close: async () => {
      await runner?.stop();
      await server.close();
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
