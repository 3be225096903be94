// `kill -9` of the whole service while an audience change is being worked:
// at every moment tried, the audience reads at its old version or its new
// one, never a half; when the service starts again the change resumes and
// finishes; every audience object in the store is either a version's bitmap
// or listed for deletion (no orphan nobody would delete).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { cli, ROOT } from './support/vendor-clients.js';
import { md5, sleep } from './support/front-door.js';
import { freePort } from './support/harness.js';

const MAIN = join(ROOT, 'src/cli/main.ts');


function startService(dataDir: string, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    const until = Date.now() + 30_000;
    const poll = async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v1/clusters`);
        if (r.status === 200) return resolve(child);
      } catch {
        /* not listening yet */
      }
      if (child.exitCode !== null) return reject(new Error(`the service exited (${child.exitCode})`));
      if (Date.now() > until) return reject(new Error('the service did not start'));
      setTimeout(poll, 50);
    };
    void poll();
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function walk(dir: string, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

test('kill -9 at any moment of a change leaves the old or the new version; the change resumes on restart and leaves no orphan', { timeout: 300_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'audiencehub-kill-'));
  try {
    const made = await cli(['account', 'create', '--name', 'kill-test', '--json', '--data-dir', dataDir]);
    assert.equal(made.code, 0, made.stderr);
    const secret = JSON.parse(made.stdout).key.secret as string;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    let service = await startService(dataDir, port);

    // Files of 400,000 random MD5s each: long enough that a kill lands inside the work.
    const files: string[] = [];
    const fileKeys: string[][] = [];
    for (let f = 0; f < 4; f++) {
      const keys = Array.from({ length: 400_000 }, () => randomBytes(16).toString('hex'));
      fileKeys.push(keys);
      const body = Buffer.from(keys.join('\n') + '\n');
      const created = await call('POST', '/v1/uploads', { file_name: `f${f}.txt`, md5: md5(body), size: body.length });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const put = await fetch(created.body.put.url, { method: 'PUT', body, headers: created.body.put.headers });
      assert.equal(put.status, 200, await put.text());
      files.push(created.body.upload.id);
    }
    const a = await call('POST', '/v1/audiences', { name: 'survivor', ids: { id_type: 'gaid_md5', values: Array.from({ length: 10 }, () => randomBytes(16).toString('hex')) } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    const id = a.body.id as number;
    const settled = async () => {
      for (;;) {
        const got = await call('GET', `/v1/audiences/${id}`);
        if (got.body.last_change && ['SUCCESS', 'ERROR'].includes(got.body.last_change.status)) return got.body;
        await sleep(20);
      }
    };
    let state = await settled();
    assert.deepEqual([state.version, state.size], [1, 10]);
    const sizes = new Map<number, number>([[1, 10]]);
    let expected = 10;

    // Kill at growing delays: before the job starts, while reading, around the commit, after it.
    for (const [round, delayMs] of [20, 150, 400, 800, 1500].entries()) {
      const file = round % files.length;
      const before = state.version;
      const change = await call('POST', `/v1/audiences/${id}/changes`, { operation: 'append', files: [{ upload_id: files[file], id_type: 'gaid_md5' }] });
      assert.equal(change.status, 202, JSON.stringify(change.body));
      await sleep(delayMs);
      await kill9(service);
      service = await startService(dataDir, port);
      const seen = (await call('GET', `/v1/audiences/${id}`)).body;
      assert.ok(seen.version === before || seen.version === before + 1, `round ${round}: version ${seen.version} after a kill at ${delayMs} ms (was ${before})`);
      if (seen.version === before) assert.equal(seen.size, sizes.get(before), 'the old version is whole');
      state = await settled();
      assert.equal(state.last_change.status, 'SUCCESS', JSON.stringify(state.last_change));
      assert.equal(state.version, before + 1, `round ${round}: the change made exactly one version`);
      if (round < files.length) expected += fileKeys[file].length;
      assert.equal(state.size, expected, `round ${round}: the audience holds exactly the ids appended`);
      sizes.set(state.version, state.size);
      // A sample of the appended ids resolves to members after the restart.
      const sample = fileKeys[file].slice(0, 1000);
      const m = await call('POST', `/v1/audiences/${id}/members`, { id_type: 'gaid_md5', ids: sample });
      assert.equal(m.body.members, '1'.repeat(1000));
    }

    // Every audience object is a version's bitmap or awaits deletion.
    const db = new SQLite(join(dataDir, 'metadata.sqlite'), { readonly: true });
    const referenced = new Set(db.prepare('SELECT bitmap_key FROM audience_versions').all().map((r) => (r as { bitmap_key: string }).bitmap_key));
    const trashed = new Set(db.prepare('SELECT object_key FROM object_trash').all().map((r) => (r as { object_key: string }).object_key));
    db.close();
    const root = join(dataDir, 'objects', 'audiencehub-intl');
    const objects = walk(join(root, 'audiences')).map((p) => p.slice(root.length + 1));
    assert.ok(objects.length >= 6);
    for (const key of objects) assert.ok(referenced.has(key) || trashed.has(key), `${key} is neither a version nor in the trash`);
    await kill9(service);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
