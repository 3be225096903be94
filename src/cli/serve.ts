// `audiencehub serve`: the API, every dialect, the embedded store and the
// housekeeping loop and the job runner (upload callbacks) in one process.
import { openApp } from '../app.js';
import type { Config } from '../config.js';
import { buildServer } from '../http/server.js';
import { startJobs } from '../worker/handlers.js';
import { startHousekeeping } from '../worker/housekeeping.js';

export async function serve(config: Config): Promise<void> {
  const app = await openApp(config);
  const server = await buildServer(app, { logger: { level: config.log.level } });
  const stopHousekeeping = startHousekeeping(app, server.log);
  const jobs = startJobs(app, { log: server.log });
  await server.listen({ host: config.host, port: config.port });
  server.log.info(
    { publicUrl: config.publicUrl, dataDir: config.dataDir, adminTokenFile: config.adminToken ? undefined : `${config.dataDir}/admin.token` },
    'audiencehub is serving; API docs at %s/docs',
    config.publicUrl,
  );
  const stop = async (signal: string) => {
    server.log.info({ signal }, 'shutting down');
    stopHousekeeping();
    await jobs.stop();
    await server.close();
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
