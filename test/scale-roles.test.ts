// The scale mode, as an operator runs it: PostgreSQL for the metadata and
// the identity dictionary, a real S3 server (radosgw) for the objects, one
// `serve --role api` process and two `serve --role worker` processes, and
// the CLI as the client. Uploads go straight to the S3 server; the API
// process never runs a job; the workers share the work and the dictionary.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../src/config.js';
import { checkRole } from '../src/cli/serve.js';
import { sleep } from './support/front-door.js';
import { freePort } from './support/harness.js';
import { startPostgres, stopPostgres } from './support/postgres.js';
import { startRadosgw, type Rgw } from './support/radosgw.js';
import { ROOT } from './support/vendor-clients.js';

const MAIN = join(ROOT, 'src/cli/main.ts');
let rgw: Rgw | undefined;
let skip = 'SKIPPED: PostgreSQL or radosgw was not started';
let work: string;
let env: Record<string, string>;
let base: string;
let secret: string;
const children: ChildProcess[] = [];


function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 << 20 }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof (e as { code?: unknown }).code === 'number' ? Number((e as { code: number }).code) : 1) : 0, stdout, stderr });
    });
  });
}

function serve(role: 'api' | 'worker', dataDir: string, port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--role', role, '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function waitListening(url: string): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/v1/clusters`)).status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error('the api process did not start');
    await sleep(100);
  }
}

before(async () => {
  const pg = await startPostgres();
  if (!pg.ok) {
    skip = pg.skip;
    return;
  }
  const started = await startRadosgw();
  if (!started.ok) {
    skip = started.skip;
    return;
  }
  rgw = started.rgw;
  work = mkdtempSync(join(tmpdir(), 'ah-scale-'));
  const config = {
    clusters: [
      {
        id: 1,
        name: 'intl',
        backend: 's3',
        bucket: `ah-scale-${randomBytes(3).toString('hex')}`,
        region: rgw.region,
        s3: { endpoint: rgw.endpoint, region: rgw.region, accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
      },
      { id: 2, name: 'cn', backend: 'disk', bucket: 'audiencehub-cn', region: 'oss-cn-shanghai' },
    ],
    tencentCloud: { clusterId: 2 },
  };
  writeFileSync(join(work, 'config.json'), JSON.stringify(config));
  env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AUDIENCEHUB_CONFIG: join(work, 'config.json'),
    AUDIENCEHUB_DATABASE_URL: await pg.server.createDatabase(),
    AUDIENCEHUB_MASTER_KEY: randomBytes(32).toString('base64'),
  };
  const made = await cli(['account', 'create', '--name', 'scale', '--json', '--data-dir', join(work, 'admin')]);
  assert.equal(made.code, 0, made.stderr);
  secret = JSON.parse(made.stdout).key.secret;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  serve('api', join(work, 'api'), port);
  await waitListening(base);
  env.AUDIENCEHUB_URL = base;
  env.AUDIENCEHUB_KEY = secret;
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  if (work) rmSync(work, { recursive: true, force: true });
  await rgw?.stop();
  await stopPostgres();
});

function scaleTest(name: string, fn: (t: TestContext) => Promise<void>) {
  test(name, { timeout: 240_000 }, async (t) => {
    if (!rgw) return t.skip(skip);
    await fn(t);
  });
}

test('split roles need PostgreSQL: the embedded mode refuses --role api and --role worker with the reason', () => {
  const embedded = loadConfig({ dataDir: '/tmp/none' }, {});
  assert.throws(() => checkRole(embedded, 'worker'), /--role worker needs PostgreSQL/);
  assert.throws(() => checkRole(embedded, 'api'), /--role api needs PostgreSQL/);
  checkRole(embedded, 'all');
});

scaleTest('an api process and two workers on PostgreSQL and S3: upload, build, combine and export through the CLI', async () => {
  const phones = Array.from({ length: 5000 }, (_, i) => String(13_900_000_000 + i));
  const file = join(work, 'phones.txt');
  writeFileSync(file, phones.join('\n') + '\n');
  const up = await cli(['upload', file, '--json']);
  assert.equal(up.code, 0, up.stderr);
  const upload = JSON.parse(up.stdout);
  assert.equal(upload.status, 'READY');
  assert.match(upload.data_path, /^s3:\/\/ah-scale-/);

  // With no worker running, nothing builds: the api process runs no jobs.
  const pending = await cli(['audience', 'create', '--name', 'first', '--upload', upload.id, '--id-type', 'phone', '--json']);
  assert.equal(pending.code, 0, pending.stderr);
  const first = JSON.parse(pending.stdout);
  await sleep(1500);
  const still = JSON.parse((await cli(['audience', 'get', String(first.id), '--json'])).stdout);
  assert.equal(still.status, 'PENDING', 'the api process must not work jobs');

  serve('worker', join(work, 'w1'), await freePort());
  serve('worker', join(work, 'w2'), await freePort());
  const built = await cli(['audience', 'create', '--name', 'md5s', '--file', file, '--id-type', 'phone', '--wait', '--json']);
  assert.equal(built.code, 0, built.stderr);
  const deadline = Date.now() + 60_000;
  let a = still;
  while (a.status !== 'SUCCESS' && Date.now() < deadline) {
    await sleep(200);
    a = JSON.parse((await cli(['audience', 'get', String(first.id), '--json'])).stdout);
  }
  assert.deepEqual([a.status, a.size], ['SUCCESS', 5000]);
  const second = JSON.parse(built.stdout);
  assert.equal(second.size ?? second.audience?.size ?? 5000, 5000);

  // The shared dictionary: the same phones uploaded twice are the same users.
  const md5s = phones.slice(0, 2000).map((p) => createHash('md5').update(p).digest('hex'));
  writeFileSync(join(work, 'md5.txt'), md5s.join('\n') + '\n');
  const third = await cli(['audience', 'create', '--name', 'subset', '--file', join(work, 'md5.txt'), '--id-type', 'phone_md5', '--wait', '--json']);
  assert.equal(third.code, 0, third.stderr);
  const subset = JSON.parse(third.stdout);
  const subsetId = subset.id ?? subset.audience?.id;
  const combo = await cli(['audience', 'combine', '--name', 'rest', '--include', String(first.id), '--exclude', String(subsetId), '--wait', '--json']);
  assert.equal(combo.code, 0, combo.stderr);
  const rest = JSON.parse(combo.stdout);
  const restId = rest.id ?? rest.audience?.id;
  const got = await (await fetch(`${base}/v1/audiences/${restId}`, { headers: { authorization: `Bearer ${secret}` } })).json();
  assert.deepEqual([got.status, got.size], ['SUCCESS', 3000]);

  const out = join(work, 'rest.txt.gz');
  const ex = await cli(['audience', 'export', String(restId), '--id-type', 'phone_md5', '--wait', '--output', out]);
  assert.equal(ex.code, 0, ex.stderr);
  const exported = gunzipSync(readFileSync(out)).toString().trim().split('\n').sort();
  assert.deepEqual(exported, phones.slice(2000).map((p) => createHash('md5').update(p).digest('hex')).sort());
});
