// `audiencehub serve`: the API, every dialect and the embedded store (role
// api), the job runner and housekeeping (role worker), or both in one
// process (role all, the default).
//
// Split roles need shared state: PostgreSQL for the metadata and the
// identity dictionary (database.url) so that any number of api and worker
// processes can run side by side. The embedded mode (SQLite and the
// in-memory dictionary) belongs to one process, so it runs as `all` only.
import { openApp } from '../app.js';
import type { Config } from '../config.js';
import { buildServer } from '../http/server.js';
import { dictionaryStoreOf } from '../infra/identities/open.js';
import { startJobs } from '../worker/handlers.js';
import { startHousekeeping } from '../worker/housekeeping.js';
import pino from 'pino';

export type Role = 'api' | 'worker' | 'all';

export function checkRole(config: Config, role: Role): void {
  if (role === 'all') return;
  if (!config.database.url) throw new Error(`--role ${role} needs PostgreSQL (--database-url or AUDIENCEHUB_DATABASE_URL): the embedded SQLite metadata belongs to one process, so run it as --role all`);
  if (dictionaryStoreOf(config) !== 'postgres') throw new Error(`--role ${role} needs the identity dictionary in PostgreSQL (identities.store "postgres"): the embedded one belongs to one process`);
}

export async function serve(config: Config, opts: { role?: Role } = {}): Promise<void> {
  const role = opts.role ?? 'all';
  checkRole(config, role);
  const app = await openApp(config);
  const server = role === 'worker' ? undefined : await buildServer(app, { logger: { level: config.log.level } });
  const logger = server?.log ?? pino({ level: config.log.level });
  let stopHousekeeping = () => {};
  let jobs: ReturnType<typeof startJobs> | undefined;
  if (role !== 'api') {
    // Alone on its database, this process knows every running job is an
    // orphan of a previous run: take them back now rather than after their leases.
    if (!config.database.url) {
      const n = await app.jobs.reclaimOrphans();
      if (n > 0) logger.warn({ jobs: n }, 'resuming jobs left running by a previous run');
    }
    stopHousekeeping = startHousekeeping(app, logger);
    jobs = startJobs(app, { log: logger });
  }
  if (server) {
    await server.listen({ host: config.host, port: config.port });
    server.log.info(
      { role, publicUrl: config.publicUrl, dataDir: config.dataDir, adminTokenFile: config.adminToken ? undefined : `${config.dataDir}/admin.token` },
      'audiencehub is serving; API docs at %s/docs',
      config.publicUrl,
    );
  } else logger.info({ role }, 'audiencehub worker is running jobs');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    stopHousekeeping();
    await jobs?.stop();
    await server?.close();
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
