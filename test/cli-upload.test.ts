// `audiencehub upload FILE`, run for real as a child process against a
// running service: the file is hashed locally, declared, streamed in one PUT,
// and the upload ends READY with the file's own MD5. Refusals and an
// unreachable service are said in words, with a non-zero exit code.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { cli, native, ROOT } from './support/vendor-clients.js';

let h: Harness;
let dir: string;
let small: string;
let big: string;

const md5 = (path: string) => createHash('md5').update(readFileSync(path)).digest('hex');
/** Hex ids, one per line: n lines of 33 bytes. */
const hexLines = (n: number, seed: string) => {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(createHash('md5').update(`${seed}${i}`).digest('hex'));
  return lines.join('\n') + '\n';
};

before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-cli-upload-'));
  small = join(dir, 'ids.txt');
  writeFileSync(small, hexLines(1000, 'small'));
  // Over 64 MiB, so that hashing reports progress too; one line repeated keeps it cheap to make.
  big = join(dir, 'big.txt');
  writeFileSync(big, Buffer.from(hexLines(1, 'big')).toString().repeat(2_100_000));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const as = (key = h.account.secret) => ({ env: { AUDIENCEHUB_URL: h.url, AUDIENCEHUB_KEY: key } });

describe('upload', { concurrency: true }, () => {
  test('a file goes up and its upload is READY with the MD5 and size of the file (--json prints the record)', async () => {
    const r = await cli(['upload', small, '--json'], as());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', '--json writes no progress');
    const up = JSON.parse(r.stdout);
    assert.match(up.id, /^up_/);
    assert.equal(up.status, 'READY');
    assert.equal(up.md5, md5(small));
    assert.equal(up.declared_md5, md5(small));
    assert.equal(up.size, readFileSync(small).length);
    assert.equal(up.file_name, 'ids.txt');
    const seen = await native(h, 'GET', `/v1/uploads/${up.id}`, h.account.secret);
    assert.equal(seen.body.status, 'READY');
    assert.equal(seen.body.md5, md5(small));
  });

  test('without --json: the upload id and status on stdout, progress lines on stderr (not a terminal)', async () => {
    const r = await cli(['upload', big, '--url', h.url, '--key', h.account.secret]);
    assert.equal(r.code, 0, r.stderr);
    const id = /^upload (up_\w+) READY$/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.match(r.stdout, new RegExp(`md5 +${md5(big)}`));
    const lines = r.stderr.trim().split('\n');
    const hashing = lines.filter((l) => l.startsWith('hashing big.txt: '));
    const uploading = lines.filter((l) => l.startsWith('uploading big.txt: '));
    assert.ok(hashing.length >= 2, r.stderr);
    assert.ok(uploading.length >= 2 && uploading.length <= 10, r.stderr);
    assert.match(uploading.at(-1)!, /^uploading big\.txt: 100% \(69\.\d+ MB in [\d.]+ s, [\d.]+ MB\/s\)$/);
    const pcts = uploading.map((l) => Number(/: (\d+)%/.exec(l)![1]));
    assert.deepEqual(pcts, [...pcts].sort((a, b) => a - b), 'percentages only go up');
    assert.ok(uploading.slice(0, -1).every((l) => /^uploading big\.txt: \d+% \([\d.]+ MB of 69\.\d+ MB, [\d.]+ MB\/s\)$/.test(l)), r.stderr);
    assert.equal((await h.app.uploads.get(h.account.id, id)).md5, md5(big));
  });

  test('--purpose events uploads a file of behaviour events; an unknown purpose is refused before anything is sent', async () => {
    const events = join(dir, 'actions.ndjson');
    writeFileSync(events, '{"action_type": "PURCHASE", "user_id": {"phone": "13800000000"}, "action_time": 1763600000}\n');
    const r = await cli(['upload', events, '--purpose', 'events', '--json'], as());
    assert.equal(r.code, 0, r.stderr);
    const up = JSON.parse(r.stdout);
    assert.equal(up.status, 'READY');
    assert.equal(up.purpose, 'events');
    const bad = await cli(['upload', events, '--purpose', 'tags'], as());
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /purpose/);
  });

  test('the key may be ACCESS_KEY_ID:SECRET', async () => {
    const r = await cli(['upload', small, '--json'], as(`${h.account.accessKeyId}:${h.account.secret}`));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, 'READY');
  });

  test('a wrong key: the service\'s code and message, exit 2, nothing on stdout', async () => {
    const r = await cli(['upload', small], as('not-a-key-of-anyone'));
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'error: UnknownKey: no key matches this bearer token\n');
  });

  test('a revoked key says so', async () => {
    const revoked = await h.newRevokedKey('cli-revoked');
    const r = await cli(['upload', small], as(revoked.secret));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: RevokedKey: key AHK\w+ has been revoked\n$/);
  });

  test('no key: which flag or variable to set', async () => {
    const r = await cli(['upload', small, '--url', h.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: no key given: pass --key .* or set AUDIENCEHUB_KEY/);
  });

  test('an unreachable service: the URL that could not be reached, and `audiencehub serve`', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const r = await cli(['upload', small, '--url', url, '--key', h.account.secret]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith(`error: could not reach the service at ${url} (connection refused)`), r.stderr);
    assert.match(r.stderr, /`audiencehub serve`/);
  });

  test('a file the store refuses (binary content): the store\'s code and message, exit 2', async () => {
    const bin = join(dir, 'photo.jpg');
    writeFileSync(bin, Buffer.concat([Buffer.from('abc\n'), Buffer.alloc(5_000_000, 0)]));
    const r = await cli(['upload', bin], as());
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: NotAudienceFile: the file holds binary data/m);
  });

  test('an unknown data cluster is refused before anything is sent', async () => {
    const r = await cli(['upload', small, '--cluster', '9'], as());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: UnknownCluster: /);
  });

  test('a missing file says so', async () => {
    const r = await cli(['upload', join(dir, 'nope.txt')], as());
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error: cannot read ${join(dir, 'nope.txt')}: no such file\n`);
  });

  const built = existsSync(join(ROOT, 'dist', 'cli', 'upload.js'));
  test('the built bin/audiencehub.js does the same (needs `npm run build`)', { skip: !built && 'dist/ is not built' }, async () => {
    const r = await cli(['upload', small, '--json'], { built: true, ...as() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).md5, md5(small));
  });
});
