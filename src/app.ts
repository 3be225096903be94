// The composition root: turns a Config into the running services. The HTTP
// server, the CLI and the tests all start from here, so each sees the same
// wiring.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { AccountService } from './domain/accounts/service.js';
import { CallbackDeliveries } from './domain/uploads/callbacks.js';
import { UploadService } from './domain/uploads/service.js';
import { TempCredentials } from './domain/uploads/temp-credentials.js';
import { iceUploadCallback } from './http/dialects/aliyun/ice/upload-event.js';
import { randomToken } from './infra/crypto/ids.js';
import { Sealer } from './infra/crypto/sealer.js';
import { openDatabase, type Db } from './infra/db/index.js';
import { createStore } from './infra/objects/index.js';
import { StoreCredentials } from './infra/objects/store-credentials.js';
import type { ObjectStore } from './infra/objects/types.js';
import { JobQueue } from './worker/jobs.js';
import { AudienceBuilder } from './domain/audiences/build.js';
import { BitmapCache } from './domain/audiences/bitmaps.js';
import { AudienceExports } from './domain/audiences/exports.js';
import { AudienceGrants } from './domain/audiences/grants.js';
import { AudienceReader } from './domain/audiences/reading.js';
import { AudienceService } from './domain/audiences/service.js';
import { ObjectTrash } from './domain/objects/trash.js';
import { UsageMeter } from './domain/usage/service.js';
import type { IdentityDictionary } from './infra/identities/index.js';
import { openDictionary } from './infra/identities/open.js';
import { TableSources } from './domain/tables/sources.js';
import { ActionSets } from './domain/events/action-sets.js';
import { EventLoader } from './domain/events/loader.js';
import { openEventStore, type EventStore } from './infra/events/index.js';

export interface App {
  config: Config;
  db: Db;
  sealer: Sealer;
  accounts: AccountService;
  uploads: UploadService;
  tempCredentials: TempCredentials;
  stores: Map<number, ObjectStore>;
  storeCredentials: StoreCredentials;
  /** Durable background jobs (upload callbacks); worked by src/worker/handlers.ts startJobs. */
  jobs: JobQueue;
  callbacks: CallbackDeliveries;
  dictionary: IdentityDictionary;
  trash: ObjectTrash;
  bitmaps: BitmapCache;
  audiences: AudienceService;
  /** Audiences shared read-only with other accounts. */
  grants: AudienceGrants;
  reader: AudienceReader;
  builder: AudienceBuilder;
  exports: AudienceExports;
  /** Per-account metering of billed vendor calls (the PAI dialect). */
  usage: UsageMeter;
  /** Operator-configured tables audiences can be read from (PAI Source 3); connections open on first use. */
  tables: TableSources;
  /** Behaviour events: DuckDB in the data folder or the service's PostgreSQL (config.events.store). */
  eventStore: EventStore;
  actionSets: ActionSets;
  /** Batches and file loads of behaviour events (src/domain/events). */
  events: EventLoader;
  adminToken: string;
  now: () => number;
  close(): Promise<void>;
}

export interface OpenOptions {
  now?: () => number;
}

/** The admin token: configured, or created once in the data folder (mode 0600). */
function adminToken(config: Config): string {
  if (config.adminToken) return config.adminToken;
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'admin.token');
  if (!existsSync(file)) writeFileSync(file, `aht_${randomToken(40)}\n`, { mode: 0o600, flag: 'wx' });
  return readFileSync(file, 'utf8').trim();
}

const sealerOf = (config: Config) => (config.masterKey ? Sealer.fromBase64(config.masterKey) : Sealer.fromDataDir(config.dataDir));

/** What the administrative commands need, beside a running service. */
export interface AdminApp {
  config: Config;
  accounts: AccountService;
  close(): Promise<void>;
}

/**
 * The accounts alone, for the administrative commands (account, key, token)
 * that run beside a serving process: no object stores (an s3 cluster would
 * be contacted) and no identity dictionary, whose embedded folder belongs to
 * the serving process (opening it trims what a commit in flight appended).
 */
export async function openAdmin(config: Config): Promise<AdminApp> {
  const db = await openDatabase(config);
  return { config, accounts: new AccountService(db, sealerOf(config)), close: () => db.destroy() };
}

export async function openApp(config: Config, opts: OpenOptions = {}): Promise<App> {
  const now = opts.now ?? Date.now;
  const sealer = sealerOf(config);
  const db = await openDatabase(config);
  const storeCredentials = new StoreCredentials(sealer, config.clusters.map((c) => c.bucket));
  const stores = new Map<number, ObjectStore>();
  for (const cluster of config.clusters) {
    stores.set(cluster.id, await createStore(cluster, config, storeCredentials, now));
  }
  const accounts = new AccountService(db, sealer, now);
  const uploads = new UploadService(db, config, stores, now);
  const jobs = new JobQueue(db, now);
  // ICE uploads that asked for a MessageCallback get one job per completion or failure.
  // The job is written in the same transaction as the event, so a crash cannot lose it.
  uploads.onEvent(async (u, ev, tx) => {
    const cb = iceUploadCallback(u, ev, config, now());
    if (cb) await jobs.enqueue('upload-callback', cb, { maxAttempts: config.ice.callbackMaxAttempts, tx });
  });
  const dictionary = await openDictionary(config, db);
  const trash = new ObjectTrash(db, stores, now);
  const bitmaps = new BitmapCache(stores, config.audiences.cacheBytes);
  const audiences = new AudienceService(db, config, stores, uploads, jobs, trash, now);
  const deps = { db, config, stores, uploads, jobs, trash, bitmaps, dictionary, now };
  const tables = new TableSources(config.tables);
  const eventStore = await openEventStore(config, db);
  const actionSets = new ActionSets(db, now);
  return {
    config,
    db,
    sealer,
    accounts,
    uploads,
    tempCredentials: new TempCredentials(db, sealer, now),
    stores,
    storeCredentials,
    jobs,
    callbacks: new CallbackDeliveries(db, now),
    dictionary,
    trash,
    bitmaps,
    audiences,
    grants: new AudienceGrants(db, audiences, now),
    reader: new AudienceReader(db, audiences, bitmaps, dictionary, { uploads, stores, config }),
    builder: new AudienceBuilder({ ...deps, events: eventStore }),
    exports: new AudienceExports({ ...deps, audiences }),
    usage: new UsageMeter(db, now),
    tables,
    eventStore,
    actionSets,
    events: new EventLoader({ db, config, store: eventStore, dictionary, uploads, stores, jobs, actionSets, now }),
    adminToken: adminToken(config),
    now,
    close: async () => {
      await tables.close();
      await eventStore.close();
      await dictionary.close();
      await db.destroy();
    },
  };
}
