// `audiencehub audience …` and `audiencehub jobs`, run for real as child
// processes against a running service, checked against the contract in
// docs/audiences.md: sizes after each change, overlap counts, the exported
// ids, --wait's exit codes (0 on SUCCESS, 1 on ERROR) and its progress lines.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startHarness, type Harness } from './support/harness.js';
import { cli, type CliResult } from './support/vendor-clients.js';

let h: Harness;
let dir: string;

/** phone_md5 ids: the MD5 of 11-digit phone numbers 138…, for i in [from, to). */
const phones = (from: number, to: number) => {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(createHash('md5').update(`138${String(i).padStart(8, '0')}`).digest('hex'));
  return out;
};
const files: Record<string, string> = {};
const write = (name: string, lines: string[]) => {
  files[name] = join(dir, name);
  writeFileSync(files[name], lines.join('\n') + '\n');
};

const run = (args: string[]): Promise<CliResult> => cli(args, { env: { AUDIENCEHUB_URL: h.url, AUDIENCEHUB_KEY: h.account.secret } });
async function json(args: string[]): Promise<any> {
  const r = await run([...args, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Made once: a = ids 0..999 (from a file given with --file), b = ids 500..1499
// (from an upload made first, created with --wait in text mode).
let a: any;
let b: { id: number; created: CliResult };

before(async () => {
  // The job runner works the changes and exports, as `serve` does.
  h = await startHarness({ jobs: true });
  dir = mkdtempSync(join(tmpdir(), 'ah-cli-audience-'));
  write('a.txt', phones(0, 1000));
  write('b.txt', phones(500, 1500));
  write('c.txt', phones(0, 100));
  write('d.txt', phones(1500, 1600));
  write('words.txt', ['hello', 'world']);

  a = await json(['audience', 'create', '--name', 'cli-a', '--file', files['a.txt'], '--id-type', 'phone_md5', '--wait']);
  const up = await json(['upload', files['b.txt']]);
  const created = await run(['audience', 'create', '--name', 'cli-b', '--upload', up.id, '--id-type', 'phone_md5', '--wait']);
  assert.equal(created.code, 0, created.stderr);
  b = { id: Number(/^audience (\d+) cli-b$/m.exec(created.stdout)?.[1]), created };
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test('create --file --wait --json: the file is uploaded, the audience is SUCCESS with one member per distinct id', () => {
  assert.equal(a.name, 'cli-a');
  assert.equal(a.status, 'SUCCESS');
  assert.equal(a.type, 'CUSTOMER_FILE');
  assert.equal(a.size, 1000);
  assert.equal(a.version, 1);
});

test('create --upload --wait (text): progress lines on stderr, the audience on stdout', () => {
  const { created } = b;
  assert.ok(b.id > 0, created.stdout);
  assert.match(created.stdout, /^ +status +SUCCESS$/m);
  assert.match(created.stdout, /^ +size +1,000$/m);
  const lines = created.stderr.trim().split('\n');
  assert.ok(lines.length >= 1, created.stderr);
  assert.ok(lines.every((l) => /^change \d+ of audience \d+: (PENDING|PROCESSING|SUCCESS)\b/.test(l)), created.stderr);
  assert.match(lines.at(-1)!, /: SUCCESS$/);
});

describe('with two audiences', { concurrency: true }, () => {
  test('create without --wait answers at once; get shows it SUCCESS once its job is done', async () => {
    const up = await json(['upload', files['c.txt']]);
    const r = await run(['audience', 'create', '--name', 'cli-nowait', '--upload', up.id, '--id-type', 'phone_md5']);
    assert.equal(r.code, 0, r.stderr);
    const id = Number(/^audience (\d+) cli-nowait$/m.exec(r.stdout)?.[1]);
    assert.ok(id > 0, r.stdout);
    let got: any;
    for (let i = 0; i < 50; i++) {
      got = await json(['audience', 'get', String(id)]);
      if (got.status === 'SUCCESS' || got.status === 'ERROR') break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(got.status, 'SUCCESS');
    assert.equal(got.size, 100);
  });

  test('append, remove and replace --wait: each makes a new version of the right size', async () => {
    const made = await json(['audience', 'create', '--name', 'cli-changes', '--file', files['c.txt'], '--id-type', 'phone_md5', '--wait']);
    assert.equal(made.size, 100);
    const id = String(made.id);
    const appended = await json(['audience', 'append', id, '--file', files['d.txt'], '--id-type', 'phone_md5', '--wait']);
    assert.deepEqual([appended.size, appended.version], [200, 2]);
    const removed = await json(['audience', 'remove', id, '--file', files['c.txt'], '--id-type', 'phone_md5', '--wait']);
    assert.deepEqual([removed.size, removed.version], [100, 3]);
    const replaced = await json(['audience', 'replace', id, '--file', files['a.txt'], '--id-type', 'phone_md5', '--wait']);
    assert.deepEqual([replaced.size, replaced.version], [1000, 4]);
    const changes = await json(['audience', 'changes', id]);
    assert.deepEqual(
      changes.items.map((c: any) => [c.operation, c.status]),
      [
        ['replace', 'SUCCESS'],
        ['remove', 'SUCCESS'],
        ['append', 'SUCCESS'],
        ['create', 'SUCCESS'],
      ],
    );
  });

  test('combine --include --include: the intersection; --include a,b --exclude: the union minus', async () => {
    const both = await json(['audience', 'combine', '--name', 'cli-a-and-b', '--include', String(a.id), '--include', String(b.id), '--wait']);
    assert.equal(both.type, 'COMBINE');
    assert.equal(both.status, 'SUCCESS');
    assert.equal(both.size, 500);
    const c = await json(['audience', 'create', '--name', 'cli-c', '--file', files['c.txt'], '--id-type', 'phone_md5', '--wait']);
    const minus = await json(['audience', 'combine', '--name', 'cli-a-or-b-not-c', '--include', `${a.id},${b.id}`, '--exclude', String(c.id), '--wait']);
    assert.equal(minus.size, 1400);
  });

  test('overlap: sizes, intersections and regions (JSON), and a readable table', async () => {
    const o = await json(['audience', 'overlap', String(a.id), String(b.id)]);
    assert.deepEqual(
      o.audiences.map((x: any) => [x.id, x.size]),
      [
        [a.id, 1000],
        [b.id, 1000],
      ],
    );
    const key = (ids: number[]) => [...ids].sort((x, y) => x - y).join(',');
    const inter = new Map(o.intersections.map((x: any) => [key(x.audience_ids), x.count]));
    assert.equal(inter.get(key([a.id, b.id])), 500);
    const regions = new Map(o.regions.map((x: any) => [key(x.audience_ids), x.count]));
    assert.equal(regions.get(key([a.id])), 500);
    assert.equal(regions.get(key([b.id])), 500);
    assert.equal(regions.get(key([a.id, b.id])), 500);

    const text = await run(['audience', 'overlap', String(a.id), String(b.id)]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^ *${a.id} +cli-a +1,000$`, 'm'));
    assert.match(text.stdout, new RegExp(`^ *${b.id} +cli-b +1,000$`, 'm'));
    assert.match(text.stdout, new RegExp(`^${a.id} & ${b.id} +500 +50\\.0%$`, 'm'));
    assert.match(text.stdout, new RegExp(`^only ${a.id} +500 +33\\.3%$`, 'm'));
  });

  test('export --wait --output: the gzip file holds every id of the audience, lowercase hex, one per line', async () => {
    const out = join(dir, 'a-export.txt.gz');
    const r = await run(['audience', 'export', String(a.id), '--id-type', 'phone_md5', '--wait', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^export \S+ SUCCESS$/m);
    assert.match(r.stdout, new RegExp(`file +${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const ids = gunzipSync(readFileSync(out)).toString().trim().split('\n');
    assert.deepEqual(ids.sort(), phones(0, 1000).sort());
  });

  test('a change that ends in ERROR: --wait exits 1 and prints the error', async () => {
    const r = await run(['audience', 'create', '--name', 'cli-words', '--file', files['words.txt'], '--id-type', 'phone_md5', '--wait']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^ +status +ERROR$/m);
    assert.match(r.stderr, /^error: \w+: change \d+ of audience \d+ failed: .+$/m);
  });

  test('list: JSON items and a table with names', async () => {
    const listed = await json(['audience', 'list', '--name', 'cli-']);
    const names = listed.items.map((x: any) => x.name);
    assert.ok(names.includes('cli-a') && names.includes('cli-b'), names.join(','));
    const text = await run(['audience', 'list']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ID +NAME +TYPE +STATUS +SIZE/);
    assert.match(text.stdout, new RegExp(`^ *${a.id} +cli-a +CUSTOMER_FILE +SUCCESS +1,000`, 'm'));
  });

  test('delete: the audience goes; get then says AudienceNotFound (exit 2)', async () => {
    const made = await json(['audience', 'create', '--name', 'cli-doomed', '--file', files['c.txt'], '--id-type', 'phone_md5', '--wait']);
    const del = await run(['audience', 'delete', String(made.id)]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, `audience ${made.id} deleted\n`);
    const got = await run(['audience', 'get', String(made.id)]);
    assert.equal(got.code, 2);
    assert.match(got.stderr, /^error: AudienceNotFound: /);
  });

  test('jobs: the account\'s jobs, with the audience each worked on', async () => {
    const r = await json(['jobs']);
    assert.ok(Array.isArray(r.items) && r.items.length > 0);
    assert.ok(r.items.some((j: any) => j.subject === `audience:${a.id}`), JSON.stringify(r.items.map((j: any) => j.subject)));
    const text = await run(['jobs']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ID +KIND +STATUS +ATTEMPTS +SUBJECT/);
  });

  test('refusals: an unknown upload is the service\'s error (exit 2); a missing --id-type is caught before any upload (exit 1)', async () => {
    const r = await run(['audience', 'create', '--name', 'cli-nothing', '--upload', 'up_doesnotexist', '--id-type', 'phone_md5']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: UploadNotFound: /);
    const noType = await run(['audience', 'create', '--name', 'cli-notype', '--file', files['c.txt']]);
    assert.equal(noType.code, 1);
    assert.match(noType.stderr, /^error: --id-type is required/);
    assert.doesNotMatch(noType.stderr, /uploaded/);
  });
});
