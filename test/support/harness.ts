// Starts the real service on a loopback port with a fresh data folder, as a
// user would run it, and hands tests an account to act as.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { buildServer } from '../../src/http/server.js';

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
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'audiencehub-test-'));
  const clock = { offsetMs: 0 };
  // Listen first on port 0 so that publicUrl can carry the real port.
  const config = loadConfig({ dataDir, port: 0, host: '127.0.0.1' }, {});
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
