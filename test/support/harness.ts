// Starts the real service on a loopback port with a fresh data folder, as a
// user would run it, and hands tests an account to act as. The metadata store
// is SQLite in the data folder, or a fresh database on this file's throwaway
// PostgreSQL server (test/support/postgres.ts) with `database: 'postgres'`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { buildServer } from '../../src/http/server.js';
import { startPostgres } from './postgres.js';

export interface Harness {
  app: App;
  server: FastifyInstance;
  url: string;
  config: Config;
  /** Moves the service's clock (signatures, expiry, TTLs) by this many ms. */
  clock: { offsetMs: number };
  account: { id: string; accessKeyId: string; secret: string };
  newAccount(name: string): Promise<{ id: string; accessKeyId: string; secret: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Deep-merged into the config before start (e.g. { uploads: { maxBytes: 1000 } }). */
  patch?: (c: Config) => void;
  /** Which metadata store to run on (default sqlite). Callers check startPostgres() first and skip when it is not ok. */
  database?: 'sqlite' | 'postgres';
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'audiencehub-test-'));
  const clock = { offsetMs: 0 };
  // Listen first on port 0 so that publicUrl can carry the real port.
  const config = loadConfig({ dataDir, port: 0, host: '127.0.0.1' }, {});
  if (opts.database === 'postgres') {
    const pg = await startPostgres();
    if (!pg.ok) throw new Error(pg.skip);
    config.database.url = await pg.server.createDatabase();
    config.masterKey = randomBytes(32).toString('base64');
  }
  opts.patch?.(config);
  const app = await openApp(config, { now: () => Date.now() + clock.offsetMs });
  let server = await buildServer(app);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const port = (server.server.address() as { port: number }).port;
  // Pre-signed URLs embed the public URL, so rebuild with the bound port.
  await server.close();
  config.port = port;
  config.publicUrl = `http://127.0.0.1:${port}`;
  await app.close();
  const app2 = await openApp(config, { now: () => Date.now() + clock.offsetMs });
  server = await buildServer(app2);
  await server.listen({ host: '127.0.0.1', port });
  const newAccount = async (name: string) => {
    const { account, key } = await app2.accounts.create(name);
    return { id: account.id, accessKeyId: key.accessKeyId, secret: key.secret };
  };
  const account = await newAccount('test-account');
  return {
    app: app2,
    server,
    url: config.publicUrl,
    config,
    clock,
    account,
    newAccount,
    close: async () => {
      await server.close();
      await app2.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
