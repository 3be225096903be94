// `npm run bench -- combine`: COMBINE audiences through the running service
// (HTTP API, job runner, object store), each figure beside CRoaring doing the
// same operation on the same bitmaps in the same process.
//
// Targets from the issue:
//   1. COMBINE of two 30 M-member audiences, request to SUCCESS: at most
//      200 ms. AND, OR and ANDNOT, on two shapes of input:
//        random  every user of a 45 M universe is in each audience with
//                probability 2/3 (independently): dense bitmap containers,
//                the hard case for the engine and the object store;
//        ranges  users [0, 30 M) and [15 M, 45 M): what two files of new ids
//                give (the dictionary hands out users in file order); runs.
//   2. OR of 500 audiences of 1 M members each (random subsets of a 30 M
//      universe): at most 2x CRoaring's own orMany on the same 500 bitmaps.
//
// "Request to SUCCESS" is timed from just before POST /v1/audiences until
// the change's job has committed the transaction that sets the change (and
// the audience) to SUCCESS. The end is observed by wrapping the service's
// change builder in this process rather than by polling GET: a poll loop in
// the same event loop would add its own latency and steal time from the job.
// A GET after each run checks that the API does show SUCCESS and the size
// CRoaring gives.
//
// Seeding: the input audiences are written the way a finished change leaves
// them (bitmap object through app.bitmaps.save, an audience row and a version
// row) but directly, without ingesting files: building 2 x 30 M + 500 x 1 M
// members from files would take minutes and is what bench/ingest.ts measures.
// This seeding path lives only here, never in src/.
//
// Options:
//   --runs N          timed runs per operation (default 7; best and median)
//   --shape S         random, ranges or both (default both)
//   --many N          inputs of the OR-many case (default 500; 0 skips it)
//   --many-members N  members per input (default 1000000)
//   --cache-bytes N   the service's audiences.cacheBytes (default: the
//                     service default, 512 MiB)
//   --postgres        metadata (and the identity dictionary) in PostgreSQL, on
//                     the tests' throwaway server, instead of SQLite
//   --no-fail         exit 0 even when a target is missed
//   --cpu-prof        profile the timed service runs of the OR-many case;
//                     the profile is written under .bench/
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import roaring from 'roaring';
import { fromSorted, radixSortU32, type Bitmap, type ReadonlyBitmap } from '../src/infra/bitmaps/index.js';
import { startJobs } from '../src/worker/handlers.js';
import type { JobContext } from '../src/worker/jobs.js';
import { startHarness, type Harness } from '../test/support/harness.js';
import { BENCH_DIR } from './data.js';

const { RoaringBitmap32 } = roaring;

const PAIR_TARGET_MS = 200;
const MANY_RATIO = 2;
const PAIR_MEMBERS = 30_000_000;
const PAIR_UNIVERSE = 45_000_000;
const MANY_UNIVERSE = 30_000_000;

type Op = 'AND' | 'OR' | 'ANDNOT';
const OPS: Op[] = ['AND', 'OR', 'ANDNOT'];

interface Options {
  runs: number;
  shapes: Array<'random' | 'ranges'>;
  many: number;
  manyMembers: number;
  cacheBytes?: number;
  fail: boolean;
  cpuProf: boolean;
  postgres: boolean;
}

function parseArgs(args: string[]): Options {
  const o: Options = { runs: 7, shapes: ['random', 'ranges'], many: 500, manyMembers: 1_000_000, fail: true, cpuProf: false, postgres: false };
  const int = (i: number) => {
    const v = args[i + 1] ?? '';
    if (!/^\d+$/.test(v)) throw new Error(`${args[i]} needs a whole number`);
    return Number(v);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--runs') o.runs = Math.max(1, int(i++));
    else if (a === '--many') o.many = int(i++);
    else if (a === '--many-members') o.manyMembers = int(i++);
    else if (a === '--cache-bytes') o.cacheBytes = int(i++);
    else if (a === '--no-fail') o.fail = false;
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '--postgres') o.postgres = true;
    else if (a === '--shape' && ['random', 'ranges', 'both'].includes(args[i + 1] ?? '')) {
      const s = args[++i];
      o.shapes = s === 'both' ? ['random', 'ranges'] : [s as 'random' | 'ranges'];
    } else throw new Error(`unknown option ${a}; options: --runs N, --shape random|ranges|both, --many N, --many-members N, --cache-bytes N, --postgres, --no-fail, --cpu-prof`);
  }
  if (o.many > 500) throw new Error('--many: a COMBINE takes at most 500 audiences');
  return o;
}

const ms = (from: number, to = performance.now()) => to - from;
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function stats(xs: number[]): { best: number; median: number; worst: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { best: s[0], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, worst: s[s.length - 1] };
}

// --- inputs -----------------------------------------------------------------

/** Each user of [0, universe) independently with probability `p` (16-bit resolution); ascending. */
function randomDense(universe: number, p: number): Bitmap {
  const threshold = Math.round(p * 65536);
  const ids = new Uint32Array(Math.ceil(universe * p * 1.01) + 1024);
  const rnd = new Uint16Array(1 << 20);
  let n = 0;
  for (let base = 0; base < universe; base += rnd.length) {
    randomFillSync(rnd);
    const m = Math.min(rnd.length, universe - base);
    for (let i = 0; i < m; i++) if (rnd[i] < threshold) ids[n++] = base + i;
  }
  return fromSorted(ids.subarray(0, n));
}

function range(from: number, to: number): Bitmap {
  const b = new RoaringBitmap32();
  b.addRange(from, to);
  b.runOptimize();
  b.shrinkToFit();
  return b;
}

/** Exactly `members` distinct users drawn uniformly from [0, universe). */
function randomSubset(universe: number, members: number): Bitmap {
  // Each batch draws as many ids as are still missing; repeats make the next
  // (much smaller) batch, so the set ends with exactly `members`.
  const b = new RoaringBitmap32();
  while (b.size < members) {
    const want = members - b.size;
    const ids = new Uint32Array(want);
    randomFillSync(ids);
    for (let i = 0; i < want; i++) ids[i] %= universe;
    radixSortU32(ids);
    b.addMany(ids);
  }
  b.runOptimize();
  b.shrinkToFit();
  return b;
}

// --- the service --------------------------------------------------------------

interface Timeline {
  /** performance.now() when the job started working the change, when it began writing the bitmap, when it had written it, when SUCCESS committed. */
  start?: number;
  save?: number;
  saved?: number;
  end?: number;
}

interface Service {
  h: Harness;
  timelines: Map<number, Timeline>;
  waiters: Map<number, () => void>;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

async function startService(cacheBytes: number | undefined, postgres: boolean): Promise<Service> {
  const h = await startHarness({
    database: postgres ? 'postgres' : 'sqlite',
    patch: cacheBytes === undefined ? undefined : (c) => void (c.audiences.cacheBytes = cacheBytes),
  });
  // The job runner as `serve` starts it (idle runners poll every second).
  // The harness's own runner polls every 50 ms, which would hide a change
  // whose job is not picked up at once.
  const runner = startJobs(h.app);
  const timelines = new Map<number, Timeline>();
  const waiters = new Map<number, () => void>();
  const current: { change?: number } = {};
  // Instrumentation: the change builder and the bitmap writer are wrapped to
  // note when each stage of a change happens (nothing else is changed).
  const builder = h.app.builder;
  const run = builder.run.bind(builder);
  builder.run = async (changeId: number, ctx: JobContext) => {
    const t: Timeline = { start: performance.now() };
    timelines.set(changeId, t);
    current.change = changeId;
    try {
      await run(changeId, ctx);
    } finally {
      t.end = performance.now();
      waiters.get(changeId)?.();
    }
  };
  const bitmaps = h.app.bitmaps;
  const save = bitmaps.save.bind(bitmaps);
  bitmaps.save = async (clusterId, key, bitmap) => {
    const t = current.change === undefined ? undefined : timelines.get(current.change);
    if (t) t.save = performance.now();
    const n = await save(clusterId, key, bitmap);
    if (t) t.saved = performance.now();
    return n;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${h.account.secret}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${h.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  return { h, timelines, waiters, call, close: async () => (await runner.stop(), await h.close()) };
}

/**
 * Bench-only seeding: an audience with one version holding `bitmap`, written
 * as a finished change would leave it (object first, then the rows), without
 * a change or a job. The version's change_id is 0: no change made it.
 */
async function seedAudience(s: Service, name: string, bitmap: Bitmap): Promise<number> {
  const { app, account } = s.h;
  const key = `audiences/${account.id}/bench/${name}-${randomBytes(6).toString('hex')}.roaring`;
  await app.bitmaps.save(1, key, bitmap);
  const at = Date.now();
  const size = bitmap.size;
  return app.db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto('audiences')
      .values({ account_id: account.id, cluster_id: 1, name, description: 'seeded by bench/combine.ts', external_id: null, type: 'CUSTOMER_FILE', spec: null, status: 'SUCCESS', error_code: null, error_message: null, version: 1, size, bitmap_key: key, created_at: at, updated_at: at })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    await tx.insertInto('audience_versions').values({ audience_id: id, version: 1, cluster_id: 1, bitmap_key: key, size, change_id: 0, created_at: at, retired_at: null }).execute();
    return id;
  });
}

let serial = 0;

/** One COMBINE through the API, timed from the request to the change's SUCCESS. Deletes the audience after. */
async function combineOnce(s: Service, include: number[][], exclude: number[][], expectSize: number): Promise<{ total: number; timeline: Timeline; t0: number; accepted: number }> {
  const t0 = performance.now();
  const r = await s.call('POST', '/v1/audiences', { name: `bench-combine-${++serial}`, type: 'COMBINE', combine: { include, exclude } });
  const accepted = performance.now();
  if (r.status !== 201) throw new Error(`POST /v1/audiences answered ${r.status}: ${JSON.stringify(r.body)}`);
  const changeId = r.body.last_change.id as number;
  const audienceId = r.body.id as number;
  if (s.timelines.get(changeId)?.end === undefined) await new Promise<void>((resolve) => s.waiters.set(changeId, resolve));
  s.waiters.delete(changeId);
  const timeline = s.timelines.get(changeId)!;
  s.timelines.delete(changeId);
  const total = ms(t0, timeline.end);
  const g = await s.call('GET', `/v1/audiences/${audienceId}`);
  if (g.body?.status !== 'SUCCESS' || g.body?.last_change?.status !== 'SUCCESS') throw new Error(`audience ${audienceId}: ${JSON.stringify(g.body)}`);
  if (g.body.size !== expectSize) throw new Error(`audience ${audienceId} has ${g.body.size} members, CRoaring gives ${expectSize}`);
  const d = await s.call('DELETE', `/v1/audiences/${audienceId}`);
  if (d.status !== 204) throw new Error(`DELETE answered ${d.status}`);
  return { total, timeline, t0, accepted };
}

/** Best of `runs` of a synchronous CRoaring call. */
function croaring(runs: number, f: () => ReadonlyBitmap): { best: number; median: number; size: number } {
  const times: number[] = [];
  let size = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    size = f().size;
    times.push(ms(t));
  }
  return { ...stats(times), size };
}

async function serviceRuns(s: Service, runs: number, include: number[][], exclude: number[][], expectSize: number) {
  const totals: number[] = [];
  const stages = { accept: [] as number[], pickup: [] as number[], compute: [] as number[], write: [] as number[], publish: [] as number[] };
  // One untimed run first: the first request of a route compiles its schema.
  await combineOnce(s, include, exclude, expectSize);
  for (let i = 0; i < runs; i++) {
    const r = await combineOnce(s, include, exclude, expectSize);
    totals.push(r.total);
    const t = r.timeline;
    stages.accept.push(ms(r.t0, r.accepted));
    stages.pickup.push(ms(r.t0, t.start));
    stages.compute.push(ms(t.start!, t.save));
    stages.write.push(ms(t.save!, t.saved));
    stages.publish.push(ms(t.saved!, t.end));
  }
  const med = (xs: number[]) => fmt(stats(xs).median);
  const breakdown = `request→job start ${med(stages.pickup)} (201 after ${med(stages.accept)}), job start→bitmap ready ${med(stages.compute)}, bitmap write ${med(stages.write)}, publish ${med(stages.publish)} ms (medians)`;
  return { ...stats(totals), breakdown };
}

function verdict(ok: boolean, what: string): boolean {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
  return ok;
}

export async function run(args: string[]): Promise<number> {
  const o = parseArgs(args);
  const s = await startService(o.cacheBytes, o.postgres);
  let ok = true;
  try {
    console.log(`service on ${s.h.url} (${o.postgres ? 'PostgreSQL' : 'SQLite'} metadata, disk object store, job runner in process as serve runs it); audiences.cacheBytes ${s.h.config.audiences.cacheBytes}`);
    for (const shape of o.shapes) {
      let t = performance.now();
      const [a, b] = shape === 'random' ? [randomDense(PAIR_UNIVERSE, PAIR_MEMBERS / PAIR_UNIVERSE), randomDense(PAIR_UNIVERSE, PAIR_MEMBERS / PAIR_UNIVERSE)] : [range(0, PAIR_MEMBERS), range(PAIR_UNIVERSE - PAIR_MEMBERS, PAIR_UNIVERSE)];
      const idA = await seedAudience(s, `bench-${shape}-a`, a);
      const idB = await seedAudience(s, `bench-${shape}-b`, b);
      console.log(
        `\n${shape}: A ${a.size} members (${(a.getSerializationSizeInBytes('portable') / 1e6).toFixed(1)} MB), B ${b.size} (${(b.getSerializationSizeInBytes('portable') / 1e6).toFixed(1)} MB); seeded in ${(ms(t) / 1000).toFixed(1)} s`,
      );
      for (const op of OPS) {
        const include = op === 'OR' ? [[idA, idB]] : op === 'AND' ? [[idA], [idB]] : [[idA]];
        const exclude = op === 'ANDNOT' ? [[idB]] : [];
        const base = croaring(o.runs, () => (op === 'AND' ? RoaringBitmap32.and(a, b) : op === 'OR' ? RoaringBitmap32.or(a, b) : RoaringBitmap32.andNot(a, b)));
        t = performance.now();
        const svc = await serviceRuns(s, o.runs, include, exclude, base.size);
        const label = `${shape} ${op}`.padEnd(14);
        console.log(
          `${label} service best ${fmt(svc.best)} ms, median ${fmt(svc.median)} ms, worst ${fmt(svc.worst)} ms (${(svc.median / PAIR_TARGET_MS).toFixed(2)}x the ${PAIR_TARGET_MS} ms target); ` +
            `CRoaring best ${fmt(base.best)} ms, median ${fmt(base.median)} ms; result ${base.size} members`,
        );
        console.log(`${''.padEnd(14)} ${svc.breakdown}`);
        ok = verdict(svc.median <= PAIR_TARGET_MS, `${shape} ${op}: median ${fmt(svc.median)} ms request → SUCCESS (target ≤ ${PAIR_TARGET_MS} ms)`) && ok;
      }
    }

    if (o.many > 0) {
      let t = performance.now();
      const inputs: Bitmap[] = [];
      for (let i = 0; i < o.many; i++) inputs.push(randomSubset(MANY_UNIVERSE, o.manyMembers));
      const gen = ms(t);
      t = performance.now();
      const ids: number[] = [];
      for (let i = 0; i < inputs.length; i++) ids.push(await seedAudience(s, `bench-many-${i}`, inputs[i]));
      const bytes = inputs.reduce((n, x) => n + x.getSerializationSizeInBytes('portable'), 0);
      console.log(`\nOR of ${o.many} audiences of ${o.manyMembers} members (universe ${MANY_UNIVERSE}): ${(bytes / 1e6).toFixed(0)} MB of bitmaps; generated in ${(gen / 1000).toFixed(1)} s, seeded in ${(ms(t) / 1000).toFixed(1)} s`);
      const base = croaring(Math.max(3, Math.ceil(o.runs / 2)), () => RoaringBitmap32.orMany(inputs));
      const session = o.cpuProf ? new Session() : undefined;
      if (session) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      const svc = await serviceRuns(s, Math.max(3, Math.ceil(o.runs / 2)), [ids], [], base.size);
      if (session) {
        const { profile } = await session.post('Profiler.stop');
        mkdirSync(BENCH_DIR, { recursive: true });
        const file = join(BENCH_DIR, `combine-many-${Date.now()}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        session.disconnect();
        console.log(`profile of the service runs: ${file}`);
      }
      const ratio = svc.median / base.median;
      console.log(
        `OR-${o.many}`.padEnd(14) +
          ` service best ${fmt(svc.best)} ms, median ${fmt(svc.median)} ms, worst ${fmt(svc.worst)} ms; CRoaring orMany best ${fmt(base.best)} ms, median ${fmt(base.median)} ms; ${ratio.toFixed(2)}x (target ≤ ${MANY_RATIO}x); result ${base.size} members`,
      );
      console.log(`${''.padEnd(14)} ${svc.breakdown}`);
      ok = verdict(ratio <= MANY_RATIO, `OR of ${o.many}: median ${ratio.toFixed(2)}x CRoaring orMany (target ≤ ${MANY_RATIO}x)`) && ok;
    }
  } finally {
    await s.close();
  }
  return ok || !o.fail ? 0 : 1;
}
