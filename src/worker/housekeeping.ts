// Periodic upkeep: expire unused credentials, delete objects past their TTL,
// forget old nonces and temporary credentials. Every step works from rows in
// the metadata store, so a restart loses nothing.
import type { FastifyBaseLogger } from 'fastify';
import type { App } from '../app.js';

export async function housekeepOnce(app: App): Promise<void> {
  const swept = await app.uploads.sweep();
  await app.accounts.pruneNonces();
  await app.tempCredentials.prune();
  return void swept;
}

export function startHousekeeping(app: App, log: FastifyBaseLogger, everyMs = 15_000): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await housekeepOnce(app);
    } catch (e) {
      log.error({ err: e }, 'housekeeping failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  void tick();
  return () => clearInterval(timer);
}
