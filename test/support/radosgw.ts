// A throwaway one-node Ceph radosgw for tests that need a real S3 server,
// started through scripts/radosgw.sh (which installs it from Debian's packages
// when missing). When it cannot be started, callers skip their tests with the
// reason, loudly; they never pass silently.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/radosgw.sh', import.meta.url));

export interface Rgw {
  dir: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  stop(): Promise<void>;
}

export type RgwStart = { ok: true; rgw: Rgw } | { ok: false; skip: string };

function run(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stdout ? String(err.message) : '') });
    });
  });
}

function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export async function startRadosgw(): Promise<RgwStart> {
  // up to ~15 s to install from Debian's packages, ~2 s to start
  const res = await run([SCRIPT], 300_000);
  const envPath = res.stdout.trim().split('\n').pop() ?? '';
  if (res.code !== 0 || !envPath) {
    const lines = res.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
    const why = (lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `exit status ${res.code}`).replace(/^radosgw\.sh: (error: )?/, '');
    const skip = `SKIPPED: radosgw could not be started: ${why}`;
    console.log(`${skip}\n${res.stderr}`);
    return { ok: false, skip };
  }
  const env = parseEnv(readFileSync(envPath, 'utf8'));
  const dir = dirname(envPath);
  let stopped = false;
  // after() hooks do not run when the runner is torn down; this does.
  process.once('exit', () => {
    if (!stopped) spawnSync('bash', [SCRIPT, 'stop', dir], { timeout: 20_000, stdio: 'ignore' });
  });
  return {
    ok: true,
    rgw: {
      dir,
      endpoint: env.S3_ENDPOINT,
      accessKey: env.S3_ACCESS_KEY,
      secretKey: env.S3_SECRET_KEY,
      region: env.S3_REGION,
      stop: async () => {
        stopped = true;
        await run([SCRIPT, 'stop', dir], 60_000);
      },
    },
  };
}
