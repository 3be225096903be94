// `npm run bench -- upload`: one pre-signed PUT of a 1 GiB audience file into
// the embedded store over loopback, timed from the start of `curl -X PUT -T`
// until its 200 arrives (after the service has checked the MD5, fsynced the
// file and published it), and compared with `md5sum` on the same file in the
// same run. Targets: upload throughput at least 0.8x md5sum's, and the
// service's peak RSS (VmHWM) at most 200 MB.
//
// Options:
//   --size-mib N   file size in MiB (default 1024)
//   --no-fail      exit 0 even when a target is missed
//   --keep         keep the service's data folder and log under .bench/
//   --cpu-prof     run the service with --cpu-prof; the profile is kept under .bench/
//   --runs N       upload N times (N credentials) and compare the fastest (default 3:
//                  the first upload of a fresh service is the slowest)
//
// Figures are in MB = 10^6 bytes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH_DIR = join(ROOT, '.bench');
const LINE = 33; // 32 hex characters and a newline
const LINES_PER_BLOCK = Math.floor((1 << 20) / LINE); // one block is just under 1 MiB
const BLOCK = LINES_PER_BLOCK * LINE;
const TARGET_RATIO = 0.8;
const TARGET_RSS_MB = 200;

interface Options {
  sizeMib: number;
  fail: boolean;
  keep: boolean;
  cpuProf: boolean;
  runs: number;
}

function parseArgs(args: string[]): Options {
  const o: Options = { sizeMib: 1024, fail: true, keep: false, cpuProf: false, runs: 3 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--no-fail') o.fail = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '--size-mib' && /^\d+$/.test(args[i + 1] ?? '')) o.sizeMib = Number(args[++i]);
    else if (a === '--runs' && /^\d+$/.test(args[i + 1] ?? '')) o.runs = Number(args[++i]);
    else throw new Error(`unknown option ${a} (options: --size-mib N, --runs N, --no-fail, --keep, --cpu-prof)`);
  }
  if (o.sizeMib < 1) throw new Error('--size-mib must be at least 1');
  if (o.runs < 1) throw new Error('--runs must be at least 1');
  return o;
}

const mb = (bytes: number) => bytes / 1e6;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

/**
 * The test file: `sizeMib` blocks of 31,775 distinct 32-hex-character lines.
 * One block is built once; each copy gets its own 8-character prefix (the
 * block number), so every line of the file is distinct. Kept between runs.
 */
function ensureFile(sizeMib: number): string {
  const path = join(BENCH_DIR, `upload-${sizeMib}MiB.txt`);
  const want = sizeMib * BLOCK;
  if (existsSync(path) && statSync(path).size === want) return path;
  mkdirSync(BENCH_DIR, { recursive: true });
  const t = performance.now();
  const hex = Buffer.from('0123456789abcdef');
  const block = Buffer.alloc(BLOCK);
  const tail = createHash('sha256').update('audiencehub bench').digest('hex');
  for (let i = 0; i < LINES_PER_BLOCK; i++) {
    const at = i * LINE;
    // Characters 0-7: the block number (set per copy below); 8-15: the line
    // number in the block; 16-31: filler.
    block.write(i.toString(16).padStart(8, '0') + tail.slice(i % 48, (i % 48) + 16), at + 8, 'latin1');
    block[at + 32] = 0x0a;
  }
  const fd = openSync(`${path}.part`, 'w');
  try {
    for (let b = 0; b < sizeMib; b++) {
      for (let d = 0; d < 8; d++) {
        const digit = hex[(b >>> ((7 - d) * 4)) & 15];
        for (let at = d; at < BLOCK; at += LINE) block[at] = digit;
      }
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.part`, path);
  console.log(`generated ${path} in ${fmt((performance.now() - t) / 1000, 2)} s`);
  return path;
}

/** Reads the whole file once so that md5sum and the upload both start from a hot page cache. */
function warmUp(path: string): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(16 << 20);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

function timeMd5sum(path: string): { seconds: number; md5: string } {
  let best = Infinity;
  let md5 = '';
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    const r = spawnSync('md5sum', [path], { encoding: 'utf8' });
    const s = (performance.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`md5sum failed: ${r.stderr || r.error}`);
    md5 = r.stdout.split(/\s/)[0];
    best = Math.min(best, s);
  }
  return { seconds: best, md5 };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** The command that runs the CLI: the built one when dist/ exists, else the TypeScript sources through tsx. */
function cliCommand(): { argv: string[]; label: string } {
  if (existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) return { argv: [join(ROOT, 'bin', 'audiencehub.js')], label: 'node bin/audiencehub.js (dist/)' };
  return { argv: ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')], label: 'node --import tsx src/cli/main.ts' };
}

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [...cliCommand().argv, ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`audiencehub ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode} before it answered`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the service did not answer /health within 30 s');
}

function vmHwmBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

const md5Hex = (s: string) => createHash('md5').update(s).digest('hex');

async function getJson(url: string, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** `curl -sS -X PUT -T FILE URL`, as the Mintegral document shows; resolves to the status code and the wall time. */
async function curlPut(file: string, url: string): Promise<{ status: string; seconds: number; curlSeconds: number }> {
  const t = performance.now();
  const child = spawn('curl', ['-sS', '-X', 'PUT', '-T', file, url, '-o', '/dev/null', '-w', '%{http_code} %{time_total}'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - t) / 1000;
  if (code !== 0) throw new Error(`curl exited with ${code}`);
  const [status, total] = out.trim().split(' ');
  return { status, seconds, curlSeconds: Number(total) };
}

export async function run(args: string[]): Promise<number> {
  const o = parseArgs(args);
  console.log(`upload benchmark: Node ${process.version}, ${o.sizeMib} MiB file, load average ${loadavg()[0].toFixed(2)}`);
  const file = ensureFile(o.sizeMib);
  const size = statSync(file).size;

  warmUp(file);
  const sum = timeMd5sum(file);

  const dataDir = join(BENCH_DIR, `run-${process.pid}-${Date.now()}`);
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const command = cliCommand();
  const nodeFlags = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(dataDir, 'profile')] : [];
  const log = createWriteStream(join(dataDir, 'service.log'));
  const service = spawn(process.execPath, [...nodeFlags, ...command.argv, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--public-url', url, '--log-level', 'warn'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.stdout!.pipe(log);
  service.stderr!.pipe(log);
  const serviceExited = once(service, 'exit');
  let failed = false;
  try {
    await waitHealthy(url, service);
    const created = JSON.parse(cli(['account', 'create', '--name', 'bench', '--json', '--data-dir', dataDir]));
    const { access_key_id: accessKey, secret } = created.key as { access_key_id: string; secret: string };

    const rssBefore = vmHwmBytes(service.pid!);
    const puts: Array<{ seconds: number; curlSeconds: number; upload: any }> = [];
    for (let run = 0; run < o.runs; run++) {
      const ts = String(Math.floor(Date.now() / 1000));
      const presigned = await getJson(`${url}/api/open/v1/audience/presigned-upload-data?area_type=1&file_name=audience.txt&file_md5=${sum.md5}`, {
        'access-key': accessKey,
        timestamp: ts,
        token: md5Hex(secret + md5Hex(ts)),
      });
      const s3 = presigned.data.s3 as { url: string; data_path: string };
      const uploadId = s3.data_path.split('/').at(-2)!;
      const put = await curlPut(file, s3.url);
      if (put.status !== '200') throw new Error(`the PUT answered ${put.status}; see ${join(dataDir, 'service.log')}`);
      const upload = await getJson(`${url}/v1/uploads/${uploadId}`, { authorization: `Bearer ${secret}` });
      puts.push({ ...put, upload });
      // Each run leaves a 1 GiB object; only its record is needed from here on.
      await fetch(`${url}/v1/uploads/${uploadId}`, { method: 'DELETE', headers: { authorization: `Bearer ${secret}` } });
    }
    const rss = vmHwmBytes(service.pid!);
    const put = puts.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const upload = put.upload;
    const verified = puts.every((p) => p.upload.status === 'READY' && p.upload.md5 === sum.md5 && p.upload.size === size);

    const sumRate = mb(size) / sum.seconds;
    const putRate = mb(size) / put.seconds;
    const ratio = putRate / sumRate;
    const rssMb = mb(rss);
    console.log('');
    console.log(`service          ${command.label}`);
    console.log(`file             ${file}`);
    console.log(`file size        ${size} bytes (${fmt(mb(size))} MB)`);
    console.log(`md5sum           ${fmt(sum.seconds, 3)} s   ${fmt(sumRate)} MB/s   (best of 2, page cache hot)`);
    const each = puts.length > 1 ? `; fastest of ${puts.length}: ${puts.map((p) => fmt(p.seconds, 3)).join(' ')} s` : '';
    console.log(`upload           ${fmt(put.seconds, 3)} s   ${fmt(putRate)} MB/s   (curl time_total ${fmt(put.curlSeconds, 3)} s${each})`);
    const sorted = puts.map((p) => p.seconds).sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    console.log(`ratio            ${fmt(ratio, 3)}   (upload / md5sum, fastest upload against best md5sum${puts.length > 2 ? `; median upload ${fmt(median, 3)} s gives ${fmt(sum.seconds / median, 3)}` : ''})`);
    console.log(`peak RSS         ${fmt(rssMb)} MB   (VmHWM; ${fmt(mb(rssBefore))} MB before the upload)`);
    console.log(`upload record    ${upload.id} ${upload.status} md5 ${upload.md5} size ${upload.size}`);
    console.log(`load average     ${loadavg().map((l) => fmt(l, 2)).join(' ')}   (other work on the machine lowers the upload figure)`);
    console.log('');
    const checks: Array<[boolean, string]> = [
      [verified, `upload${puts.length > 1 ? 's' : ''} READY with md5 ${sum.md5} and size ${size}`],
      [ratio >= TARGET_RATIO, `throughput ratio ${fmt(ratio, 3)} >= ${TARGET_RATIO}`],
      [rssMb <= TARGET_RSS_MB, `peak RSS ${fmt(rssMb)} MB <= ${TARGET_RSS_MB} MB`],
    ];
    for (const [ok, what] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}`);
    failed = checks.some(([ok]) => !ok);
  } finally {
    service.kill('SIGTERM');
    await serviceExited;
    log.end();
    if (o.keep) console.log(`kept ${dataDir}`);
    else if (o.cpuProf) {
      rmSync(join(dataDir, 'objects'), { recursive: true, force: true });
      console.log(`CPU profile and service log kept in ${dataDir}`);
    } else rmSync(dataDir, { recursive: true, force: true });
  }
  return failed && o.fail ? 1 : 0;
}
