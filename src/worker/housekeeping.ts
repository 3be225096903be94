// Periodic upkeep: expire unused credentials, delete objects past their TTL,
// forget old nonces and temporary credentials, remove temporary files left
// by a crash and the parts of multipart uploads nobody finished; start the
// scheduled refreshes of rule audiences. Every step works from rows in
// the metadata store, so a restart loses nothing.
import type { FastifyBaseLogger } from 'fastify';
import type { App } from '../app.js';
import { Multipart } from '../domain/uploads/multipart.js';
import { DiskStore } from '../infra/objects/disk.js';

/** A temporary file untouched this long belongs to an upload that died with its process. */
const TEMP_IDLE_MS = 3_600_000;

export async function housekeepOnce(app: App): Promise<void> {
  await app.uploads.sweep();
  await app.accounts.pruneNonces();
  await app.tempCredentials.prune();
  // All disk buckets share one temporary folder; sweeping it once is enough.
  const disk = [...app.stores.values()].find((s): s is DiskStore => s instanceof DiskStore);
  await disk?.sweepTemp(TEMP_IDLE_MS);
  await new Multipart(app).sweepAbandoned();
  await app.trash.sweep();
  // Rule audiences due for their scheduled refresh get a change (worked by a job like any other).
  await app.audiences.startDueRefreshes();
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
