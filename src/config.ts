// Configuration is read once at start-up from (lowest to highest precedence)
// built-in defaults, an optional JSON file (--config / AUDIENCEHUB_CONFIG),
// environment variables and command-line flags, validated, and then passed
// down as a typed object. Nothing below this file reads process.env.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface S3BackendConfig {
  endpoint?: string;
  publicEndpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle?: boolean;
}

export interface ClusterConfig {
  /** The cluster's number: Mintegral's `area_type`. */
  id: number;
  name: string;
  backend: 'disk' | 's3';
  bucket: string;
  /** Region names used in storage URLs and by Tencent Cloud / Aliyun requests routed here. */
  region: string;
  s3?: S3BackendConfig;
}

/**
 * A database the operator lets accounts read audiences from (PAI's Source 3
 * table groups), by its alias. Opened read-only, lazily, closed with the app.
 */
export interface TableSourceConfig {
  kind: 'sqlite' | 'postgres';
  /** sqlite: the database file (resolved against the working folder). */
  path?: string;
  /** postgres: postgres://user@host:5432/db; a password left out is read from PGPASSWORD or ~/.pgpass, as libpq does. */
  url?: string;
  /**
   * postgres: the schemas that may be read, the first being where a bare
   * table name is looked up (default "public"); `schema.table` names another
   * one of them.
   */
  schema?: string | string[];
  /** The accounts that may read this alias; "*" is every account. Absent or empty: none. */
  accounts?: string[];
}

export interface Config {
  host: string;
  port: number;
  /** Base URL clients use to reach this service (pre-signed URLs point here). */
  publicUrl: string;
  dataDir: string;
  adminToken?: string;
  /** base64 of 32 bytes; when absent a key file is created in dataDir. */
  masterKey?: string;
  /**
   * The metadata store: SQLite in dataDir unless `url` names a PostgreSQL
   * database (`postgres://user:pass@host:5432/db`), which any number of
   * processes can share.
   */
  database: { url?: string };
  clusters: ClusterConfig[];
  uploads: {
    maxBytes: number;
    /** Decompressed bytes allowed per compressed byte of a gz audience file. */
    gzipMaxRatio: number;
    /** Below this many decompressed bytes the ratio is not checked (small files compress oddly). */
    gzipRatioFloorBytes: number;
  };
  auth: {
    maxSkewSeconds: number;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
  mintegral: { ttlSeconds: number };
  tencentCloud: {
    regions: string[];
    clusterId: number;
    urlTtlSeconds: number;
    objectTtlSeconds: number;
    requestsPerSecond: number;
  };
  ice: {
    regions: string[];
    clusterId: number;
    credentialTtlSeconds: number;
    callbackMaxAttempts: number;
    callbackBaseDelayMs: number;
    /** Let callbacks reach loopback and private addresses (off: a client could otherwise probe the internal network). */
    callbackAllowPrivateAddresses: boolean;
  };
  /**
   * The identity dictionary: `universe` open (new ids get new users) or
   * closed (ids only match known users; the rest are counted unmatched);
   * `store` embedded (memory + files in dataDir/identities, one process) or
   * postgres (shared; the default when database.url is set).
   */
  identities: {
    universe: 'open' | 'closed';
    /**
     * In a closed universe, the account whose files define it: its audiences
     * add users (the reachable ones, loaded by the operator); everyone
     * else's only match them.
     */
    universeAccountId?: string;
    store?: 'embedded' | 'postgres';
  };
  audiences: {
    /** Versions kept readable per audience; older ones are retired. */
    keepVersions: number;
    /** How long a retired or deleted bitmap stays in the store, for reads in flight. */
    retireGraceMs: number;
    maxInlineIds: number;
    jobMaxAttempts: number;
    /** Memory for cached bitmaps (versions are immutable, so the cache is never stale). */
    cacheBytes: number;
    exportTtlSeconds: number;
    /** How often a rule audience relative to today (a time window, an AD rule without end date) is computed again, unless it says otherwise. */
    refreshEveryMs: number;
  };
  /** Operator-configured tables accounts may build audiences from (PAI CreateGroup Source 3). */
  tables: {
    /** Rows one read may take; a read past it is refused and nothing is kept. */
    maxRows: number;
    sources: Record<string, TableSourceConfig>;
  };
  /**
   * Behaviour events (docs/behaviour-data.md): `store` duckdb (one file,
   * dataDir/events.duckdb, one process) or postgres (the service's database,
   * partitioned by month; the default when database.url is set).
   * `utcOffsetMinutes` is the vendor's day (GMT+8): times written without a
   * zone are read in it, and rule windows cut days in it.
   */
  events: {
    store?: 'duckdb' | 'postgres';
    utcOffsetMinutes: number;
    /** The days a KEYWORD rule reads, today included (the seed gives keyword rules no window). */
    keywordWindowDays: number;
    /** DuckDB worker threads (default: every core). */
    threads?: number;
    /** DuckDB memory_limit, e.g. "4GB" (default: 80% of the machine's memory). */
    memoryLimit?: string;
  };
  log: { level: string };
}

export type ConfigOverrides = Partial<{
  host: string;
  port: number | string;
  publicUrl: string;
  dataDir: string;
  config: string;
  adminToken: string;
  logLevel: string;
  databaseUrl: string;
}>;

const GiB = 1024 ** 3;

function defaults(dataDir: string, port: number, host: string): Config {
  return {
    host,
    port,
    publicUrl: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`,
    dataDir,
    database: {},
    clusters: [
      { id: 1, name: 'intl', backend: 'disk', bucket: 'audiencehub-intl', region: 'us-east-1' },
      { id: 2, name: 'cn', backend: 'disk', bucket: 'audiencehub-cn', region: 'oss-cn-shanghai' },
    ],
    uploads: { maxBytes: 5 * GiB, gzipMaxRatio: 200, gzipRatioFloorBytes: 64 * 1024 * 1024 },
    auth: { maxSkewSeconds: 300, accessTokenTtlSeconds: 86_400, refreshTokenTtlSeconds: 30 * 86_400 },
    mintegral: { ttlSeconds: 300 },
    tencentCloud: {
      regions: ['ap-bangkok', 'ap-hongkong', 'ap-singapore'],
      clusterId: 1,
      urlTtlSeconds: 7200,
      objectTtlSeconds: 7200,
      requestsPerSecond: 20,
    },
    ice: {
      regions: ['cn-shanghai', 'cn-beijing', 'cn-shenzhen'],
      clusterId: 2,
      credentialTtlSeconds: 3000,
      callbackMaxAttempts: 8,
      callbackBaseDelayMs: 1000,
      callbackAllowPrivateAddresses: false,
    },
    identities: { universe: 'open' },
    audiences: { keepVersions: 5, retireGraceMs: 3_600_000, maxInlineIds: 100_000, jobMaxAttempts: 5, cacheBytes: 512 * 1024 * 1024, exportTtlSeconds: 7 * 86_400, refreshEveryMs: 86_400_000 },
    tables: { maxRows: 100_000_000, sources: {} },
    events: { utcOffsetMinutes: 480, keywordWindowDays: 30 },
    log: { level: 'info' },
  };
}

function deepMerge<T>(base: T, extra: unknown): T {
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) return (extra ?? base) as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(extra as Record<string, unknown>)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) ? deepMerge(cur, v) : v;
  }
  return out as T;
}

function intFrom(name: string, v: string | number | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`config: ${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Bucket names share the URL space with the API routes, so these are refused. */
const RESERVED_BUCKETS = new Set(['v1', 'api', 'docs', 'openapi.json', 'oauth', 'health', 'v1.3']);

const POSTGRES_URL = /^postgres(ql)?:\/\//;

export function validateConfig(c: Config): Config {
  if (c.port > 65535) throw new Error('config: port must be at most 65535');
  if (!c.clusters.length) throw new Error('config: at least one cluster is required');
  const ids = new Set<number>();
  for (const cl of c.clusters) {
    if (!Number.isInteger(cl.id) || cl.id < 1) throw new Error(`config: cluster id must be a positive integer (${cl.name})`);
    if (ids.has(cl.id)) throw new Error(`config: duplicate cluster id ${cl.id}`);
    ids.add(cl.id);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(cl.bucket)) throw new Error(`config: cluster ${cl.id} bucket name ${JSON.stringify(cl.bucket)} is not a valid bucket name`);
    if (RESERVED_BUCKETS.has(cl.bucket)) throw new Error(`config: bucket name ${cl.bucket} is reserved`);
    if (cl.backend === 's3' && !cl.s3) throw new Error(`config: cluster ${cl.id} uses the s3 backend but has no "s3" section`);
  }
  // Both protocols are served by the embedded store itself (COS q-sign URLs,
  // OSS temporary credentials), so their cluster must be a disk one.
  for (const [name, id] of [['tencentCloud.clusterId', c.tencentCloud.clusterId], ['ice.clusterId', c.ice.clusterId]] as const) {
    const cl = c.clusters.find((x) => x.id === id);
    if (!cl) throw new Error(`config: ${name} names cluster ${id}, which is not configured`);
    if (cl.backend !== 'disk') throw new Error(`config: ${name} names cluster ${id}, which uses the ${cl.backend} backend; these uploads need a disk cluster`);
  }
  if (c.uploads.maxBytes < 1) throw new Error('config: uploads.maxBytes must be positive');
  if (c.identities.universe !== 'open' && c.identities.universe !== 'closed') throw new Error('config: identities.universe must be "open" or "closed"');
  if (c.identities.store !== undefined && c.identities.store !== 'embedded' && c.identities.store !== 'postgres') throw new Error('config: identities.store must be "embedded" or "postgres"');
  if (c.identities.store === 'postgres' && !c.database.url) throw new Error('config: identities.store "postgres" needs database.url');
  if (!Number.isInteger(c.audiences.keepVersions) || c.audiences.keepVersions < 1) throw new Error('config: audiences.keepVersions must be at least 1');
  if (!Number.isInteger(c.audiences.refreshEveryMs) || c.audiences.refreshEveryMs < 60_000) throw new Error('config: audiences.refreshEveryMs must be at least 60000 (a minute)');
  validateTables(c);
  validateEvents(c);
  if (c.database.url !== undefined) {
    if (!POSTGRES_URL.test(c.database.url)) throw new Error('config: database.url must be a postgres:// or postgresql:// URL');
    // Every process sharing the database must open the same sealed secrets,
    // so a key file private to one data folder will not do.
    if (!c.masterKey) throw new Error('config: database.url is set, so the master key must be given (AUDIENCEHUB_MASTER_KEY) and be the same in every process');
  }
  return c;
}

function validateEvents(c: Config): void {
  const e = c.events;
  if (!e || typeof e !== 'object') throw new Error('config: events must be an object');
  if (e.store !== undefined && e.store !== 'duckdb' && e.store !== 'postgres') throw new Error('config: events.store must be "duckdb" or "postgres"');
  if (e.store === 'postgres' && !c.database.url) throw new Error('config: events.store "postgres" needs database.url');
  if (!Number.isInteger(e.utcOffsetMinutes) || Math.abs(e.utcOffsetMinutes) > 14 * 60) throw new Error('config: events.utcOffsetMinutes must be a whole number of minutes from -840 to 840');
  if (!Number.isInteger(e.keywordWindowDays) || e.keywordWindowDays < 1 || e.keywordWindowDays > 365) throw new Error('config: events.keywordWindowDays must be a whole number of days from 1 to 365');
  if (e.threads !== undefined && (!Number.isInteger(e.threads) || e.threads < 1)) throw new Error('config: events.threads must be a positive integer');
  if (e.memoryLimit !== undefined && !/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(e.memoryLimit)) throw new Error('config: events.memoryLimit must be a size such as "4GB"');
}

/** Whether the account's ids may add users ('open') or only match known ones ('closed'): the universe, or the account that defines a closed one. */
export function resolveModeOf(c: Pick<Config, 'identities'>, accountId: string): 'open' | 'closed' {
  return c.identities.universe === 'open' || accountId === c.identities.universeAccountId ? 'open' : 'closed';
}

/** The event store in use: the configured one, else DuckDB embedded, or PostgreSQL when the metadata is there. */
export function eventStoreOf(c: Pick<Config, 'events' | 'database'>): 'duckdb' | 'postgres' {
  return c.events.store ?? (c.database.url ? 'postgres' : 'duckdb');
}

const TABLE_SOURCE_KEYS = new Set(['kind', 'path', 'url', 'schema', 'accounts']);

/** A postgres source's schemas as a list, the first being where a bare table name is looked up. */
export function schemasOf(s: TableSourceConfig): string[] {
  return s.schema === undefined ? ['public'] : typeof s.schema === 'string' ? [s.schema] : s.schema;
}

/**
 * Table sources are checked whole at start-up: a misspelt key would
 * otherwise silently read as "no account may read this" or a wrong file.
 * Paths are resolved here, so the running service never depends on its
 * working folder.
 */
function validateTables(c: Config): void {
  const t = c.tables;
  if (!t || typeof t !== 'object') throw new Error('config: tables must be an object');
  if (!Number.isSafeInteger(t.maxRows) || t.maxRows < 1) throw new Error('config: tables.maxRows must be a positive integer');
  if (!t.sources || typeof t.sources !== 'object' || Array.isArray(t.sources)) throw new Error('config: tables.sources must be an object of sources by alias');
  for (const [alias, s] of Object.entries(t.sources)) {
    const at = `tables.sources.${alias}`;
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/.test(alias)) throw new Error(`config: ${at}: an alias is 1 to 64 letters, digits, underscores or dashes, not starting with a dash`);
    if (!s || typeof s !== 'object' || Array.isArray(s)) throw new Error(`config: ${at} must be an object`);
    for (const k of Object.keys(s)) if (!TABLE_SOURCE_KEYS.has(k)) throw new Error(`config: ${at}.${k} is not a key of a table source (${[...TABLE_SOURCE_KEYS].join(', ')})`);
    if (s.kind === 'sqlite') {
      if (typeof s.path !== 'string' || s.path === '') throw new Error(`config: ${at}.path is required for kind "sqlite"`);
      if (s.url !== undefined || s.schema !== undefined) throw new Error(`config: ${at}: url and schema are for kind "postgres"`);
      s.path = resolve(s.path);
    } else if (s.kind === 'postgres') {
      if (typeof s.url !== 'string' || !POSTGRES_URL.test(s.url)) throw new Error(`config: ${at}.url must be a postgres:// or postgresql:// URL`);
      if (s.path !== undefined) throw new Error(`config: ${at}.path is for kind "sqlite"`);
      const schemas: unknown = schemasOf(s);
      if (!Array.isArray(schemas) || schemas.length === 0 || !schemas.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 63)) {
        throw new Error(`config: ${at}.schema must be a schema name or a non-empty list of them`);
      }
    } else {
      throw new Error(`config: ${at}.kind must be "sqlite" or "postgres"`);
    }
    if (s.accounts !== undefined) {
      if (!Array.isArray(s.accounts)) throw new Error(`config: ${at}.accounts must be a list of account ids, or ["*"] for every account`);
      s.accounts = s.accounts.map((a: unknown) => (typeof a === 'number' ? String(a) : a)) as string[];
      for (const a of s.accounts) if (typeof a !== 'string' || !(a === '*' || /^\d{1,20}$/.test(a))) throw new Error(`config: ${at}.accounts: ${JSON.stringify(a)} is neither an account id nor "*"`);
    }
  }
}

export function loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  let c = defaults(resolve('data'), 8080, '127.0.0.1');
  const file = flags.config ?? env.AUDIENCEHUB_CONFIG;
  let fromFile: Partial<Config> = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`config: cannot read ${file}: ${(e as Error).message}`);
    }
    c = deepMerge(c, fromFile);
  }
  c.port = intFrom('port', flags.port ?? env.AUDIENCEHUB_PORT ?? env.PORT, c.port);
  c.host = flags.host ?? env.AUDIENCEHUB_HOST ?? c.host;
  c.dataDir = resolve(flags.dataDir ?? env.AUDIENCEHUB_DATA_DIR ?? c.dataDir);
  const derivedUrl = `http://${c.host === '0.0.0.0' || c.host === '::' ? '127.0.0.1' : c.host}:${c.port}`;
  c.publicUrl = (flags.publicUrl ?? env.AUDIENCEHUB_PUBLIC_URL ?? fromFile.publicUrl ?? derivedUrl).replace(/\/+$/, '');
  c.adminToken = flags.adminToken ?? env.AUDIENCEHUB_ADMIN_TOKEN ?? c.adminToken;
  c.masterKey = env.AUDIENCEHUB_MASTER_KEY ?? c.masterKey;
  c.database.url = flags.databaseUrl ?? env.AUDIENCEHUB_DATABASE_URL ?? c.database.url;
  if (c.database.url === '') c.database.url = undefined;
  c.log.level = flags.logLevel ?? env.AUDIENCEHUB_LOG_LEVEL ?? c.log.level;
  c.identities.universe = (env.AUDIENCEHUB_UNIVERSE as Config['identities']['universe'] | undefined) ?? c.identities.universe;
  c.identities.universeAccountId = env.AUDIENCEHUB_UNIVERSE_ACCOUNT ?? c.identities.universeAccountId;
  return validateConfig(c);
}

export function clusterById(c: Config, id: number): ClusterConfig | undefined {
  return c.clusters.find((cl) => cl.id === id);
}
