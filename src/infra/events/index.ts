// The event store the configuration names (config.events.store): DuckDB in
// the data folder, or the service's PostgreSQL.
import { join } from 'node:path';
import { eventStoreOf, type Config } from '../../config.js';
import type { Db } from '../db/index.js';
import { DuckDbEventStore } from './duckdb.js';
import { PgEventStore } from './postgres.js';
import type { EventStore } from './types.js';

export type { EventStore } from './types.js';

export async function openEventStore(config: Config, db: Db): Promise<EventStore> {
  const { threads, memoryLimit } = config.events;
  const tempDirectory = join(config.dataDir, 'tmp', 'events');
  const store: EventStore =
    eventStoreOf(config) === 'postgres'
      ? new PgEventStore(db, { threads, memoryLimit, tempDirectory })
      : new DuckDbEventStore({ path: join(config.dataDir, 'events.duckdb'), threads, memoryLimit, tempDirectory });
  await store.init();
  return store;
}
