// `npm run bench -- rules`: behaviour data for rule audiences. DuckDB itself
// generates the data (no download): user actions over a set of users and 90
// days, plus ad events and location pings, as files under .bench/. Each file
// is loaded through the service's own path (an upload, POST-equivalent
// createLoad, the events-load job: parse, check, identity mapping on distinct
// ids through the dictionary, de-duplication, one transaction), and timed
// from the load's creation to SUCCESS. In the same run, DuckDB reads the same
// file into a plain table: the baseline, and the ratio is printed. Target
// (issue 5): at least 1 M events/s, identity mapping included.
//
// Then the rules of the issue over the loaded data (ruleTimings): a FILTER
// rule with a 30-day window, an AGGREGATION rule (COUNT by day ≥ 3 in 30
// days) and a CUSTOM_LOCATION rule with 20 circles, each built into a
// SUCCESS audience through the service, and each beside the same rule
// written by hand in SQL and run in DuckDB in the same run.
//
// Options:
//   --events N    user actions (default 100000000, the issue's size: about 8
//                 minutes once the files exist; they are made the first time
//                 each day, 9.8 GB under .bench/); users N / 10, ad events
//                 N / 10. A quick look:
//                 `npm run bench -- rules --events 10000000 --pings 1000000`
//   --pings N     location pings (default as many as --events)
//   --runs N      timed runs of each rule, the median printed (default 3)
//   --format F    parquet (default), csv or ndjson: the bulk input to generate and load
//   --compare     generate and load every format, to see which is better
//   --store S     duckdb (default) or postgres: the event store of the scale
//                 mode, on a throwaway server started for the run (fsync off,
//                 as the tests start it: faster than a real one)
import { existsSync, renameSync, statSync } from 'node:fs';
import { link, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { sql } from 'kysely';
import { openApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { runRule } from '../src/domain/audiences/build.js';
import { lit } from '../src/domain/events/file-sql.js';
import { EARTH_RADIUS_M, windowBounds, dateRangeBounds, vendorDay } from '../src/domain/rules/index.js';
import { addDays, timestampText } from '../src/domain/rules/time.js';
import type { RuleSpec } from '../src/domain/rules/types.js';
import type { DiskStore } from '../src/infra/objects/disk.js';
import { startJobs } from '../src/worker/handlers.js';
import { startPostgres, stopPostgres } from '../test/support/postgres.js';
import { BENCH_DIR } from './data.js';

const TARGET_EVENTS_PER_SECOND = 1e6;
const DAYS = 90;

type Format = 'parquet' | 'csv' | 'ndjson';

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const duckOptions = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

/** The SELECT of each kind's generated rows; ids are MD5s of mainland phone numbers 13800000000 + u, as audience files would hold them. */
function generator(kind: string, n: number, users: number, now: number): string {
  const user = (salt: number) => `md5(CAST(13800000000 + hash(i * ${salt}) % ${users} AS VARCHAR))`;
  const time = `${now} - CAST(hash(i) % ${DAYS * 86_400} AS BIGINT)`;
  if (kind === 'user_actions') {
    return `SELECT ${time} AS action_time, ${user(7919)} AS hash_phone,
      (['PURCHASE', 'VIEW_CONTENT', 'ADD_TO_CART', 'SEARCH', 'REGISTER', 'CUSTOM'])[1 + CAST(i % 6 AS INTEGER)] AS action_type,
      CASE WHEN i % 6 = 5 THEN 'my_action' END AS custom_action,
      CASE WHEN i % 6 = 0 THEN '{"value":' || (i % 1000) || ',"quantity":' || (i % 5 + 1) || '}' END AS action_param,
      CASE WHEN i % 3 = 1 THEN 'https://shop.example.com/p/' || (i % 5000) END AS url,
      CASE WHEN i % 6 = 3 THEN 'kw' || (i % 300) END AS keyword,
      CASE WHEN i % 5 = 0 THEN 'o' || i END AS outer_action_id
      FROM range(${n}) r(i)`;
  }
  if (kind === 'ad_events') {
    return `SELECT ${time} AS event_time, ${user(104729)} AS hash_phone,
      (['EXPOSURE', 'EXPOSURE', 'EXPOSURE', 'CLICK', 'CONVERSION'])[1 + CAST(i % 5 AS INTEGER)] AS event_type,
      CASE WHEN i % 5 = 4 THEN (['APP_START_DOWNLOAD', 'APP_FINISH_DOWNLOAD', 'APP_INSTALL', 'APP_ACTIVATE'])[1 + CAST(i % 4 AS INTEGER)] END AS conversion_type,
      1 + i % 200 AS campaign_id, 1 + i % 2000 AS adgroup_id
      FROM range(${n}) r(i)`;
  }
  return `SELECT ${time} AS ping_time, ${user(1299709)} AS hash_phone,
    18.0 + (hash(i * 3) % 3400000) / 100000.0 AS latitude, 100.0 + (hash(i * 5) % 2200000) / 100000.0 AS longitude,
    310000 + i % 50 AS region_id, CAST(10 + i % 40 AS BIGINT) AS poi_category
    FROM range(${n}) r(i)`;
}

/** The generated file of a kind, made once and kept under .bench/ (the day it was made sets its 90 days). */
async function ensureFile(kind: string, n: number, users: number, format: Format): Promise<string> {
  await mkdir(BENCH_DIR, { recursive: true });
  const day = new Date().toISOString().slice(0, 10);
  const file = join(BENCH_DIR, `events-${kind}-${n}-${users}-${day}.${format}`);
  if (existsSync(file)) return file;
  const start = process.hrtime.bigint();
  const duck = await DuckDBInstance.create(':memory:', duckOptions);
  const c = await duck.connect();
  try {
    const now = Math.floor(Date.now() / 1000) - 60;
    // NDJSON: one event per line as the API takes it, the id inside a user_id object.
    const rows = format === 'ndjson' ? `SELECT {'hash_phone': hash_phone} AS user_id, * EXCLUDE (hash_phone) FROM (${generator(kind, n, users, now)})` : generator(kind, n, users, now);
    await c.run(`COPY (${rows}) TO '${file}.tmp' (FORMAT ${format === 'ndjson' ? 'json' : format}${format === 'csv' ? ', HEADER' : ''})`);
  } finally {
    c.closeSync();
    duck.closeSync();
  }
  renameSync(`${file}.tmp`, file);
  console.log(`  generated ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB) in ${seconds(start).toFixed(1)} s`);
  return file;
}

/** DuckDB reading the file into a plain table of a fresh database file: what the engine does alone. */
async function baseline(file: string, format: Format): Promise<number> {
  const dir = await mkdtemp(join(BENCH_DIR, 'baseline-'));
  const duck = await DuckDBInstance.create(join(dir, 'plain.duckdb'), duckOptions);
  const c = await duck.connect();
  try {
    const start = process.hrtime.bigint();
    const reader = { csv: `read_csv('${file}', header = true)`, ndjson: `read_json('${file}', format = 'newline_delimited')`, parquet: `read_parquet('${file}')` }[format];
    await c.run(`CREATE TABLE plain AS SELECT * FROM ${reader}`);
    await c.run('CHECKPOINT');
    return seconds(start);
  } finally {
    c.closeSync();
    duck.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The file as a READY upload of the account (hard-linked into the embedded store: what is measured starts once the file is stored). */
async function seedUpload(app: App, accountId: string, file: string): Promise<string> {
  const up = await app.uploads.create({ accountId, clusterId: 1, dialect: 'native', fileName: file.split('/').pop()!, ttlSeconds: 3600, purpose: 'events' });
  const path = (app.stores.get(1) as DiskStore).pathOf(up.storageKey);
  await mkdir(dirname(path), { recursive: true });
  await link(file, path);
  const at = Date.now();
  await app.db.updateTable('uploads').set({ status: 'READY', write_open: 0, size: statSync(file).size, content_type: 'text', completed_at: at, updated_at: at }).where('id', '=', up.id).execute();
  return up.id;
}

/** One load through the service, timed from its creation to SUCCESS. */
async function timedLoad(app: App, accountId: string, kind: 'user_actions' | 'ad_events' | 'location_pings', uploadId: string, format: Format, actionSetId?: number) {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const made = await app.events.createLoad(accountId, kind, { uploadId, format, actionSetId });
  for (;;) {
    const l = await app.events.getLoad(accountId, made.id);
    if (l.status === 'SUCCESS') {
      const used = process.cpuUsage(cpu);
      return { seconds: seconds(start), cpuSeconds: (used.user + used.system) / 1e6, report: l.report! };
    }
    if (l.status === 'ERROR') throw new Error(`the load failed: ${l.error?.message}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The middle of the values (the mean of the two middle ones for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const fmt = (s: number) => (s >= 10 ? s.toFixed(1) : s.toFixed(2));

interface RuleCase {
  name: string;
  /** The issue's time to a SUCCESS audience at 100 M events, for the reader (printed, never failed). */
  target: number;
  rule: RuleSpec;
  /** The same rule as one would write it by hand for DuckDB, values inlined; the statement yields the user ids. */
  handSql: string;
}

/** The vendor day (GMT+8) `n` days before today, yyyy-MM-dd. */
const dayBefore = (nowMs: number, offset: number, n: number) => addDays(vendorDay(nowMs, offset), -n);

/** 20 circles of 5 km over the generated pings (latitude 18 to 52, longitude 100 to 122), spread on a grid. */
function circles(): Array<{ latitude: number; longitude: number; radius: number }> {
  return Array.from({ length: 20 }, (_, i) => ({ latitude: 20 + (i % 5) * 7.3 + 0.37, longitude: 101 + Math.floor(i / 5) * 5.1 + 0.21, radius: 5000 }));
}

function ruleCases(accountId: string, setId: number, nowMs: number, offset: number, engine: 'duckdb' | 'postgres'): RuleCase[] {
  const acc = lit(accountId);
  const ts = (ms: number) => `TIMESTAMP ${lit(timestampText(ms))}`;
  const w30 = windowBounds(30, nowMs, offset);
  const inWindow = `action_time >= ${ts(w30.fromMs)} AND action_time < ${ts(w30.toMs)}`;
  const filter: RuleSpec = {
    type: 'USER_ACTION',
    user_action_spec: {
      user_action_set_id: setId,
      match_rule_type: 'ACTION',
      extract_type: 'FILTER',
      time_window: 30,
      action_match_rule: { action_type: 'PURCHASE', param_matcher_group: [{ param_matcher: [{ param_name: 'value', operator: 'GT', param_value: '100' }] }] },
    },
  };
  const aggregation: RuleSpec = {
    type: 'USER_ACTION',
    user_action_spec: {
      user_action_set_id: setId,
      match_rule_type: 'ACTION',
      extract_type: 'AGGREGATION',
      time_window: 30,
      action_aggregation_rule: { action_type: 'VIEW_CONTENT', aggregation_group: [{ aggregation_matcher: [{ aggregation_type: 'COUNT', count_type: 'BY_DAY', comparator: 'COMPARATOR_GE', comparison_value: 3 }] }] },
    },
  };
  // The longest range the seed allows (60 days), ending yesterday.
  const range = { start_date: dayBefore(nowMs, offset, 60), end_date: dayBefore(nowMs, offset, 1) };
  const rb = dateRangeBounds(range.start_date, range.end_date, nowMs, offset);
  const cs = circles();
  const location: RuleSpec = {
    type: 'LBS',
    lbs_spec: { lbs_type: 'CUSTOM_LOCATION', custom_location_rule: { poi_type: 'ALL', date_range: range, area_list: cs.map((c) => ({ area_type: 'CIRCLE', circle_area: c })) } },
  };
  // A number read from the parameter as each engine would by hand: DuckDB
  // casts or gives NULL; PostgreSQL would fail on a word, so a pattern guards it.
  const valueOver100 =
    engine === 'duckdb' ? `TRY_CAST(params['value'] AS DOUBLE) > 100` : `(CASE WHEN params->>'value' ~ '^-?[0-9]+([.][0-9]+)?$' THEN CAST(params->>'value' AS double precision) END) > 100`;
  // By hand, as one would write it: per circle a box around it (these are
  // far from the poles and the antimeridian), then the great-circle
  // distance to its centre; the circles ORed.
  const rad = (d: number) => `${(d * Math.PI) / 180}`;
  const within = (c: { latitude: number; longitude: number; radius: number }) => {
    const dLat = (c.radius / EARTH_RADIUS_M) * (180 / Math.PI);
    const dLon = dLat / Math.cos((c.latitude * Math.PI) / 180);
    return (
      `(latitude BETWEEN ${c.latitude - dLat} AND ${c.latitude + dLat} AND longitude BETWEEN ${c.longitude - dLon} AND ${c.longitude + dLon} AND ` +
      `2 * ${EARTH_RADIUS_M} * asin(sqrt(power(sin((radians(latitude) - ${rad(c.latitude)}) / 2), 2) + ${Math.cos((c.latitude * Math.PI) / 180)} * cos(radians(latitude)) * power(sin((radians(longitude) - ${rad(c.longitude)}) / 2), 2))) <= ${c.radius})`
    );
  };
  return [
    {
      name: 'FILTER: PURCHASE with value > 100 in the last 30 days',
      target: 3,
      rule: filter,
      handSql: `SELECT DISTINCT user_id FROM user_actions WHERE account_id = ${acc} AND action_set_id = ${setId} AND ${inWindow} AND action_type = 'PURCHASE' AND ${valueOver100}`,
    },
    {
      name: 'AGGREGATION: VIEW_CONTENT on at least 3 days of the last 30',
      target: 6,
      rule: aggregation,
      handSql: `SELECT user_id FROM user_actions WHERE account_id = ${acc} AND action_set_id = ${setId} AND ${inWindow} AND action_type = 'VIEW_CONTENT'
        GROUP BY user_id HAVING count(DISTINCT CAST(action_time + INTERVAL '${offset} minutes' AS DATE)) >= 3`,
    },
    {
      name: `CUSTOM_LOCATION: 20 circles of 5 km, ${range.start_date} to ${range.end_date}`,
      target: 5,
      rule: location,
      handSql: `SELECT DISTINCT user_id FROM location_pings WHERE account_id = ${acc} AND ping_time >= ${ts(rb.fromMs)} AND ping_time < ${ts(rb.toMs)} AND (${cs.map(within).join(' OR ')})`,
    },
  ];
}

/**
 * The rule timings of the issue, against the events just loaded, each the
 * median of `runs`:
 * - ours: POST-equivalent AudienceService.create of a rule audience to its
 *   change's SUCCESS (the job compiles the rule, runs it through
 *   EventStore.users, writes the bitmap and the version);
 * - compiled: the same compiled statement through EventStore.users alone
 *   (compileRule → engine → bitmap), without the audience around it;
 * - by hand: the rule written by hand for the engine (DuckDB or
 *   PostgreSQL), run in it to its last row (its count), in the same run.
 * Printed as ratios to the hand-written SQL; the issue's absolute targets
 * (at 100 M events) are printed beside, never failed on.
 */
async function ruleTimings(app: App, accountId: string, setId: number, runs: number): Promise<void> {
  // The end of a change is seen where the job finishes it, not by polling.
  const ended = new Map<number, number>();
  const waiters = new Map<number, () => void>();
  const run = app.builder.run.bind(app.builder);
  app.builder.run = async (changeId, ctx) => {
    try {
      await run(changeId, ctx);
    } finally {
      ended.set(changeId, performance.now());
      waiters.get(changeId)?.();
    }
  };
  let serial = 0;
  const engine = app.eventStore.engine;
  console.log(`\n  rules (median of ${runs} runs; ours = request to a SUCCESS audience, compiled = compileRule → EventStore.users → bitmap, by hand = the hand-written SQL in ${engine === 'duckdb' ? 'DuckDB' : 'PostgreSQL'}):`);
  const byHand = async (q: string) =>
    engine === 'duckdb' ? Number((await app.eventStore.probe(q))[0][0]) : Number((await sql.raw<{ n: string }>(q).execute(app.db)).rows[0].n);
  for (const c of ruleCases(accountId, setId, Date.now(), app.config.events.utcOffsetMinutes, engine)) {
    const ours: number[] = [];
    const compiled: number[] = [];
    const hand: number[] = [];
    let size = -1;
    let handSize = -1;
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const made = await app.audiences.create(accountId, { name: `bench-rule-${process.pid}-${++serial}`, type: c.rule.type, rule: c.rule });
      const changeId = made.change!.id;
      if (!ended.has(changeId)) await new Promise<void>((resolve) => waiters.set(changeId, resolve));
      ours.push((ended.get(changeId)! - t) / 1000);
      const a = await app.audiences.get(accountId, made.audience.id);
      if (a.status !== 'SUCCESS') throw new Error(`the ${c.rule.type} audience ended ${a.status}: ${JSON.stringify(a.error)}`);
      size = a.size ?? 0;

      t = performance.now();
      const users = await runRule(app.eventStore, app.config, accountId, c.rule, Date.now());
      compiled.push((performance.now() - t) / 1000);
      if (users.size !== size) throw new Error(`${c.name}: the audience has ${size} users, the compiled rule ${users.size}`);

      t = performance.now();
      handSize = await byHand(`SELECT count(*) AS n FROM (${c.handSql}) AS hand`);
      hand.push((performance.now() - t) / 1000);
    }
    const [o, k, h] = [median(ours), median(compiled), median(hand)];
    console.log(`  ${c.name}: ${size} users${handSize === size ? '' : ` (by hand: ${handSize})`}`);
    console.log(`    ours ${fmt(o)} s (the issue: at most ${c.target} s at 100 M events), compiled ${fmt(k)} s, by hand ${fmt(h)} s; ours/by hand ${(o / h).toFixed(2)}x, compiled/by hand ${(k / h).toFixed(2)}x (the issue: at most 1.5x)`);
  }
}

export async function run(args: string[]): Promise<number> {
  const n = Number(arg(args, '--events', '100000000'));
  if (!Number.isInteger(n) || n < 1000) throw new Error('--events must be an integer of at least 1000');
  const users = Math.max(1, Math.floor(n / 10));
  const pings = Number(arg(args, '--pings', String(n)));
  if (!Number.isInteger(pings) || pings < 1000) throw new Error('--pings must be an integer of at least 1000');
  const runs = Number(arg(args, '--runs', '3'));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const formats: Format[] = args.includes('--compare') ? ['parquet', 'csv', 'ndjson'] : [arg(args, '--format', 'parquet') as Format];
  if (!formats.every((f) => f === 'parquet' || f === 'csv' || f === 'ndjson')) throw new Error('--format must be parquet, csv or ndjson');
  const store = arg(args, '--store', 'duckdb');
  if (store !== 'duckdb' && store !== 'postgres') throw new Error('--store must be duckdb or postgres');
  console.log(`rules bench: ${n} user actions over ${users} users and ${DAYS} days, ${Math.floor(n / 10)} ad events, ${pings} location pings`);
  let ok = true;
  const dataDir = await mkdtemp(join(BENCH_DIR, 'rules-'));
  const config = loadConfig({ dataDir, port: 0 }, {});
  if (store === 'postgres') {
    const pg = await startPostgres();
    if (!pg.ok) throw new Error(pg.skip);
    config.database.url = await pg.server.createDatabase();
    config.masterKey = randomBytes(32).toString('base64');
    config.events.store = 'postgres';
    console.log('event store: PostgreSQL (a throwaway server, fsync off)');
  }
  const app = await openApp(config);
  const runner = startJobs(app, { pollMs: 1000 });
  try {
    for (const [i, format] of formats.entries()) {
      const { account } = await app.accounts.create(`bench-rules-${format}`);
      const set = await app.actionSets.create(account.id, { name: 'bench', type: 'WEB' });
      console.log(`\n${format}:`);
      const actions = await ensureFile('user_actions', n, users, format);
      const base = await baseline(actions, format);
      const up = await seedUpload(app, account.id, actions);
      const l = await timedLoad(app, account.id, 'user_actions', up, format, set.id);
      const rate = n / l.seconds;
      const r = l.report;
      console.log(`  DuckDB alone, file → plain table: ${base.toFixed(1)} s (${(n / base / 1e6).toFixed(2)} M rows/s)`);
      console.log(
        `  our load, file → user_actions with identity mapping: ${l.seconds.toFixed(1)} s = ${(rate / 1e6).toFixed(2)} M events/s (${(l.seconds / base).toFixed(2)}x DuckDB alone; ${l.cpuSeconds.toFixed(1)} s of CPU); ` +
          `stored ${r.stored}, duplicates ${r.duplicates}, refused ${r.refused}, ${r.idTuples} distinct ids, ${r.newUsers} new users`,
      );
      console.log(`  stages (ms): ${JSON.stringify(r.timings)}`);
      if (rate < TARGET_EVENTS_PER_SECOND) {
        console.log(`  MISSED: below ${TARGET_EVENTS_PER_SECOND / 1e6} M events/s`);
        ok = false;
      }
      for (const [kind, count] of [['ad_events', Math.floor(n / 10)], ['location_pings', pings]] as const) {
        const file = await ensureFile(kind, count, users, format);
        const x = await timedLoad(app, account.id, kind, await seedUpload(app, account.id, file), format);
        console.log(
          `  ${kind}: ${x.report.stored} in ${x.seconds.toFixed(1)} s = ${(x.report.stored / x.seconds / 1e6).toFixed(2)} M events/s (${x.cpuSeconds.toFixed(1)} s of CPU), ${x.report.idTuples} distinct ids; stages (ms): ${JSON.stringify(x.report.timings)}`,
        );
      }
      // The same data in each format: the rules are timed once, on the first.
      if (i === 0) await ruleTimings(app, account.id, set.id, runs);
    }
    // DuckDB's memory is the process's: the peak covers every load and rule above.
    console.log(`\npeak memory of the process: ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(1)} GB`);
  } finally {
    await runner.stop();
    await app.close();
    if (store === 'postgres') await stopPostgres();
    await rm(dataDir, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}
