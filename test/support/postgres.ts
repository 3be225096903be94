// A throwaway PostgreSQL server for tests that need the real thing: started
// once per test file (each file is its own process under `node --test`) with
// initdb into a temporary folder, on a free loopback port, with fsync off;
// every caller gets a database of its own. Stopped and removed by
// stopPostgres() and, failing that, by a process 'exit' hook.
//
// PostgreSQL refuses to run as root, and CI runs as root: then the server is
// run as the `postgres` system user (created with useradd when missing, else
// `nobody`) through runuser, or setpriv when runuser is absent. When the
// binaries cannot be found or started, callers skip their tests with the
// reason, loudly; they never pass silently.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgServer {
  port: number;
  /** Creates an empty database and answers its URL. */
  createDatabase(): Promise<string>;
}

export type PgStart = { ok: true; server: PgServer } | { ok: false; skip: string };

interface Running {
  dir: string;
  data: string;
  port: number;
  wrap: (cmd: string, args: string[]) => [string, string[]];
  stopped: boolean;
}

let starting: Promise<PgStart> | undefined;
let running: Running | undefined;
let dbCount = 0;

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() || (err ? err.message : '') });
    });
  });
}

const onPath = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).stdout.trim();

/** The server binaries: on PATH, else where Debian's postgresql packages put them (the newest version). */
function binaries(): ((name: string) => string) | string {
  const names = ['initdb', 'pg_ctl', 'postgres'];
  if (names.every((b) => onPath(b))) return (name) => name;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => join(root, v, 'bin')).find((d) => names.every((b) => existsSync(join(d, b))));
  if (dir) return (name) => join(dir, name);
  return `${names.filter((b) => !onPath(b)).join(', ')} not found on PATH nor in ${root}/*/bin (apt-get install postgresql)`;
}

function idOf(user: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Who runs the server: ourselves, or (as root) an unprivileged system user, and how to run a command as them. */
function runAs(): { user?: string; uid?: number; gid?: number; wrap: Running['wrap'] } | string {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  let user = 'postgres';
  let ids = idOf(user);
  if (!ids && onPath('useradd')) {
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { stdio: 'ignore' });
    ids = idOf(user);
  }
  if (!ids) {
    user = 'nobody';
    ids = idOf(user);
  }
  if (!ids) return 'running as root, and neither a postgres user (useradd failed) nor nobody exists to run the server as';
  if (onPath('runuser')) return { user, ...ids, wrap: (cmd, args) => ['runuser', ['-u', user, '--', cmd, ...args]] };
  if (onPath('setpriv')) return { user, ...ids, wrap: (cmd, args) => ['setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', cmd, ...args]] };
  return 'running as root, and neither runuser nor setpriv is available to run the server as another user';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function stopSync(r: Running): void {
  if (r.stopped) return;
  r.stopped = true;
  const [cmd, args] = r.wrap('pg_ctl', ['-D', r.data, '-m', 'immediate', '-w', '-t', '20', 'stop']);
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  rmSync(r.dir, { recursive: true, force: true });
}

async function start(): Promise<PgStart> {
  const bin = binaries();
  if (typeof bin === 'string') return { ok: false, skip: bin };
  const found = runAs();
  if (typeof found === 'string') return { ok: false, skip: found };
  const who = { ...found, wrap: (cmd: string, args: string[]) => found.wrap(bin(cmd), args) };
  const dir = mkdtempSync(join(tmpdir(), 'audiencehub-pg-'));
  const data = join(dir, 'data');
  if (who.uid !== undefined) chownSync(dir, who.uid, who.gid!);
  const r: Running = { dir, data, port: 0, wrap: who.wrap, stopped: false };
  // after() hooks do not run when the runner tears the process down; this does.
  process.once('exit', () => stopSync(r));
  const [icmd, iargs] = who.wrap('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--locale=C', '-E', 'UTF8', '--no-sync']);
  const init = await run(icmd, iargs, 120_000);
  if (init.code !== 0) {
    stopSync(r);
    return { ok: false, skip: `initdb failed${who.user ? ` (as ${who.user})` : ''}: ${init.out.split('\n').slice(-3).join(' ')}` };
  }
  let why = '';
  // The port is free when picked but may be taken before the server binds it; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    r.port = await freePort();
    const opts = `-p ${r.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    const [cmd, args] = who.wrap('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']);
    const res = await run(cmd, args, 90_000);
    if (res.code === 0) {
      running = r;
      return { ok: true, server: { port: r.port, createDatabase } };
    }
    let log = '';
    try {
      log = readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-2).join(' ');
    } catch {
      // no log written
    }
    why = `${res.out.split('\n').slice(-1)[0]} ${log}`.trim();
  }
  stopSync(r);
  return { ok: false, skip: `pg_ctl start failed${who.user ? ` (as ${who.user})` : ''}: ${why}` };
}

async function createDatabase(): Promise<string> {
  if (!running || running.stopped) throw new Error('the test PostgreSQL server is not running');
  const name = `ah_${process.pid}_${++dbCount}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: running.port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `postgres://postgres@127.0.0.1:${running.port}/${name}`;
}

/** The server of this test file, started on first use; a failure is printed once, as a line starting with SKIPPED. */
export function startPostgres(): Promise<PgStart> {
  starting ??= start().then((s) => {
    if (!s.ok) {
      s.skip = `SKIPPED: PostgreSQL could not be started: ${s.skip}`;
      console.log(s.skip);
    }
    return s;
  });
  return starting;
}

/** Stops the server and removes its folder (also done on exit). */
export async function stopPostgres(): Promise<void> {
  if (running) stopSync(running);
}
