// `npm run bench -- lookup`: membership lookups through the running service,
// POST /v1/audiences/:id/members, in batches. Target from the issue: at least
// 1 M ids/s through the API.
//
// The audience is built the way a user builds one: a file of `--lines` random
// MD5 ids (gaid_md5; .bench/scan-N.txt, shared with the scan and ingest
// benchmarks) uploaded with a pre-signed PUT and ingested by the change's job
// (which also fills the identity dictionary). Each batch then asks, half and
// half in random order, about ids drawn at random from that file (members:
// their keys resolve through the dictionary to users in the audience) and
// random ids nobody uploaded (not in the dictionary: answered 0). Every
// answer is checked.
//
// Variants: batches of 100 K and 1 M ids, as JSON ({ id_type, ids: [...] })
// and as text/plain (one id per line, id_type in the query). A call is timed
// from the first byte sent to the parsed answer: the client's own work on
// the request (building the body) is done before the clock starts, parsing
// the answer is counted. Client and service share one process (and its event
// loop), as the test harness runs them.
//
// Baseline: the same batches looked up in the service's process without HTTP
// (resolveIds, then bitmap.has per user): what the route costs on top.
//
// Options:
//   --lines N   members of the audience (default 10000000)
//   --ids N     ids asked per variant, spread over its calls (default 5000000)
//   --no-fail   exit 0 even when a target is missed
//   --cpu-prof  profile the lookups (in process and HTTP); written under .bench/
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { resolveIds } from '../src/domain/audiences/ids.js';
import { NO_USER } from '../src/infra/identities/index.js';
import { startHarness, type Harness } from '../test/support/harness.js';
import { BENCH_DIR, ensureHexLines, HEX_LINE } from './data.js';

const TARGET_IDS_PER_S = 1_000_000;
const ID_TYPE = 'gaid_md5';
const BATCHES = [100_000, 1_000_000];

interface Options {
  lines: number;
  ids: number;
  fail: boolean;
  cpuProf: boolean;
}

function parseArgs(args: string[]): Options {
  const o: Options = { lines: 10_000_000, ids: 5_000_000, fail: true, cpuProf: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === '--lines' || a === '--ids') && /^\d+$/.test(args[i + 1] ?? '')) o[a === '--lines' ? 'lines' : 'ids'] = Number(args[++i]);
    else if (a === '--no-fail') o.fail = false;
    else if (a === '--cpu-prof') o.cpuProf = true;
    else throw new Error(`unknown option ${a}; options: --lines N, --ids N, --no-fail, --cpu-prof`);
  }
  if (o.lines < 1) throw new Error('--lines must be at least 1');
  return o;
}

const seconds = (from: number) => (performance.now() - from) / 1000;

function stats(xs: number[]): { best: number; median: number } {
  const s = [...xs].sort((a, b) => b - a);
  const mid = s.length >> 1;
  return { best: s[0], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2 };
}

const rate = (v: number) => `${(v / 1e6).toFixed(2)} M ids/s`;

// --- talking to the service ---------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(h: Harness, method: string, path: string, body: Buffer | undefined, type: string | undefined): Promise<{ status: number; text: string }> {
  const u = new URL(path, h.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${h.account.secret}` };
    if (body) {
      headers['content-type'] = type ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    const req = http.request(u, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function call(h: Harness, method: string, path: string, body?: unknown): Promise<any> {
  const r = await send(h, method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)), undefined);
  const json = r.text ? JSON.parse(r.text) : undefined;
  if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${r.text.slice(0, 500)}`);
  return json;
}

/** Upload through the API (pre-signed PUT streamed from disk) and build an audience from it; returns its id once SUCCESS. */
async function buildAudience(h: Harness, file: string): Promise<{ id: number; seconds: number }> {
  const size = statSync(file).size;
  const hash = createHash('md5');
  await pipeline(createReadStream(file, { highWaterMark: 4 << 20 }), hash);
  const created = await call(h, 'POST', '/v1/uploads', { file_name: 'lookup-bench.txt', md5: hash.digest('hex'), size });
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    const req = http.request(created.put.url, { method: 'PUT', headers: { ...created.put.headers, 'content-length': String(size) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(file, { highWaterMark: 4 << 20 }).pipe(req);
  });
  const a = await call(h, 'POST', '/v1/audiences', { name: 'lookup-bench', files: [{ upload_id: created.upload.id, id_type: ID_TYPE }] });
  for (;;) {
    const g = await call(h, 'GET', `/v1/audiences/${a.id}`);
    if (g.status === 'SUCCESS') return { id: a.id, seconds: seconds(t) };
    if (g.status === 'ERROR') throw new Error(`the audience failed: ${JSON.stringify(g.error)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- the lookups ----------------------------------------------------------------

/**
 * One batch as the client sends it. Only bytes are kept: millions of id
 * strings held by the client would slow every garbage collection of the
 * process the service shares with it, and so the service's own figures.
 */
interface Batch {
  size: number;
  /** The answer the service must give: '1' for an id from the file, '0' for a made-up one. */
  expect: string;
  json: Buffer;
  text: Buffer;
}

function makeBatch(file: Buffer, lines: number, n: number): Batch {
  const ids = new Array<string>(n);
  const expect = Buffer.alloc(n);
  const made = randomBytes(n * 16).toString('hex');
  const picks = new Uint32Array(n);
  randomFillSync(picks);
  for (let i = 0; i < n; i++) {
    // Half from the file, half made up, interleaved at random.
    if (picks[i] & 1) {
      const line = (picks[i] >>> 1) % lines;
      ids[i] = file.toString('latin1', line * HEX_LINE, line * HEX_LINE + 32);
      expect[i] = 0x31;
    } else {
      ids[i] = made.slice(i * 32, i * 32 + 32);
      expect[i] = 0x30;
    }
  }
  return {
    size: n,
    expect: expect.toString('latin1'),
    json: Buffer.from(JSON.stringify({ id_type: ID_TYPE, ids })),
    text: Buffer.from(ids.join('\n') + '\n'),
  };
}

/** The batch's ids as strings, for the in-process baseline (made before its clock starts). */
function idsOf(b: Batch): string[] {
  const ids = b.text.toString('latin1').split('\n');
  ids.pop();
  return ids;
}

async function lookupOnce(h: Harness, audienceId: number, b: Batch, format: 'json' | 'text'): Promise<number> {
  const t = performance.now();
  const r =
    format === 'json'
      ? await send(h, 'POST', `/v1/audiences/${audienceId}/members`, b.json, 'application/json')
      : await send(h, 'POST', `/v1/audiences/${audienceId}/members?id_type=${ID_TYPE}`, b.text, 'text/plain');
  const answer = JSON.parse(r.text);
  const s = seconds(t);
  if (r.status !== 200) throw new Error(`members answered ${r.status}: ${r.text.slice(0, 500)}`);
  if (answer.members !== b.expect) throw new Error(`members: a wrong answer for a batch of ${b.size} (${format})`);
  return s;
}

export async function run(args: string[]): Promise<number> {
  const o = parseArgs(args);
  const file = ensureHexLines(o.lines);
  const h = await startHarness({ jobs: true });
  let ok = true;
  try {
    const built = await buildAudience(h, file);
    const audience = await call(h, 'GET', `/v1/audiences/${built.id}`);
    console.log(`audience ${built.id}: ${audience.size} members from ${file} (${o.lines} lines of ${ID_TYPE}), uploaded and ingested through the API in ${built.seconds.toFixed(1)} s`);
    if (audience.size !== o.lines) throw new Error(`the audience has ${audience.size} members, the file ${o.lines} lines`);
    const bytes = readFileSync(file);
    const { bitmap } = await h.app.reader.bitmapOf(h.account.id, built.id);
    const session = o.cpuProf ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }

    for (const size of BATCHES) {
      const calls = Math.max(3, Math.ceil(o.ids / size));
      // A handful of distinct batches, reused round-robin: building them is the client's work, not timed.
      const batches = Array.from({ length: Math.min(calls, 5) }, () => makeBatch(bytes, o.lines, size));
      await lookupOnce(h, built.id, batches[0], 'json'); // first call of the route: compiles and warms up, not timed

      // Baseline: the same lookups in process, no HTTP.
      const base: number[] = [];
      for (let c = 0; c < calls; c++) {
        const b = batches[c % batches.length];
        const ids = idsOf(b);
        const t = performance.now();
        const r = await resolveIds(h.app.dictionary, ID_TYPE, ids);
        let hits = 0;
        for (let i = 0; i < r.users.length; i++) if (r.users[i] !== NO_USER && bitmap.has(r.users[i])) hits++;
        base.push(size / seconds(t));
        if (hits !== b.expect.split('1').length - 1) throw new Error('in-process lookup: a wrong count');
      }
      const bs = stats(base);
      console.log(`\nbatches of ${size} ids, ${calls} calls per variant`);
      console.log(`  in process (resolveIds + has)  best ${rate(bs.best)}, median ${rate(bs.median)}`);

      for (const format of ['json', 'text'] as const) {
        const rates: number[] = [];
        let total = 0;
        for (let c = 0; c < calls; c++) {
          const s = await lookupOnce(h, built.id, batches[c % batches.length], format);
          rates.push(size / s);
          total += s;
        }
        const st = stats(rates);
        const label = `  HTTP ${format === 'json' ? 'JSON' : 'text/plain'}`.padEnd(32);
        console.log(
          `${label} best ${rate(st.best)}, median ${rate(st.median)} (${(st.median / TARGET_IDS_PER_S).toFixed(2)}x the 1 M ids/s target; ` +
            `${((st.median / bs.median) * 100).toFixed(0)}% of in process); ${(total / calls * 1000).toFixed(0)} ms per call`,
        );
        const pass = st.median >= TARGET_IDS_PER_S;
        console.log(`${pass ? 'PASS' : 'FAIL'} ${format} batches of ${size}: median ${rate(st.median)} (target ≥ 1 M ids/s)`);
        ok = pass && ok;
      }
    }
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(BENCH_DIR, { recursive: true });
      const out = join(BENCH_DIR, `lookup-${Date.now()}.cpuprofile`);
      writeFileSync(out, JSON.stringify(profile));
      session.disconnect();
      console.log(`\nprofile: ${out}`);
    }
  } finally {
    agent.destroy();
    await h.close();
  }
  return ok || !o.fail ? 0 : 1;
}
