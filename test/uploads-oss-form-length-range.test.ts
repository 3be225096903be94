// An OSS PostObject form is bounded by its policy's content-length-range: a
// file outside it is refused (EntityTooLarge / EntityTooSmall) and nothing is
// kept. The Mintegral policy's range is 1 byte to config.uploads.maxBytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostPolicy } from '../src/protocols/oss-post-policy.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertNothingKept, closeHarness, mintegralUpload, rawExchange, seedCurlPost, sleep, uploadByDataPath, xmlCode } from './support/front-door.js';

const MAX = 4096;
let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness({ patch: (c) => void (c.uploads.maxBytes = MAX) });
  dir = mkdtempSync(join(tmpdir(), 'ah-range-'));
});
after(async () => {
  await closeHarness(h);
  rmSync(dir, { recursive: true, force: true });
});

const text = (n: number) => Buffer.alloc(n, 'z\n');

test("the seed's form refuses a file one byte over the policy's content-length-range", async () => {
  const body = text(MAX + 1);
  const d = await mintegralUpload(h, 2, 'over.txt', body);
  const policy = JSON.parse(Buffer.from(d.oss.policy, 'base64').toString());
  assert.deepEqual(policy.conditions.find((c: unknown) => Array.isArray(c) && c[0] === 'content-length-range'), ['content-length-range', 1, MAX]);
  const path = join(dir, 'over.txt');
  writeFileSync(path, body);
  const out = await seedCurlPost(d.oss, path);
  assert.equal(xmlCode(out.stdout), 'EntityTooLarge', out.stdout);
  assert.match(out.stdout, new RegExp(`larger than ${MAX} bytes`));
  await assertNothingKept(h, (await uploadByDataPath(h, d.oss.data_path)).id, { code: 'TooLarge' });
});

test('a narrower range signed into a policy is what the store enforces', async () => {
  const body = text(200);
  const d = await mintegralUpload(h, 2, 'narrow.txt', body);
  const cred = h.app.storeCredentials.forBucket('audiencehub-cn');
  const range = (minBytes: number, maxBytes: number) =>
    createPostPolicy({ accessKeyId: cred.accessKeyId, secret: cred.secret, bucket: 'audiencehub-cn', exactKey: d.oss.dir, minBytes, maxBytes, expiresAt: new Date(h.app.now() + 60_000) });
  const path = join(dir, 'narrow.txt');
  writeFileSync(path, body);

  const tooBig = await seedCurlPost({ ...d.oss, ...range(1, 100) }, path);
  assert.equal(xmlCode(tooBig.stdout), 'EntityTooLarge', tooBig.stdout);
  const tooSmall = await seedCurlPost({ ...d.oss, ...range(300, 1000) }, path);
  assert.equal(xmlCode(tooSmall.stdout), 'EntityTooSmall', tooSmall.stdout);
  await assertNothingKept(h, (await uploadByDataPath(h, d.oss.data_path)).id, { code: 'TooSmall' });

  const fits = await seedCurlPost({ ...d.oss, ...range(200, 200) }, path);
  assert.equal(fits.stdout, '');
  assert.equal((await uploadByDataPath(h, d.oss.data_path)).status, 'READY');
});

test('an empty file is refused (the range starts at 1 byte)', async () => {
  const d = await mintegralUpload(h, 2, 'empty.txt', '');
  const path = join(dir, 'empty.txt');
  writeFileSync(path, '');
  const out = await seedCurlPost(d.oss, path);
  assert.equal(xmlCode(out.stdout), 'EntityTooSmall', out.stdout);
  await assertNothingKept(h, (await uploadByDataPath(h, d.oss.data_path)).id, { code: 'TooSmall' });
});

test("a form whose Content-Length leaves room only for a file over the range is refused before the file is sent", async () => {
  const d = await mintegralUpload(h, 2, 'huge.txt', 'x\n');
  const boundary = '----AudienceHubBoundary7MA4YWxkTrZu0gW';
  const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    field('key', d.oss.dir) +
    field('OSSAccessKeyId', d.oss.accessid) +
    field('policy', d.oss.policy) +
    field('signature', d.oss.signature) +
    field('success_action_status', '200') +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\nContent-Type: text/plain\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const fileBytes = 100 * MAX;
  const x = await rawExchange(h, 'POST', d.oss.host, {
    'Content-Type': `multipart/form-data; boundary=${boundary}`,
    'Content-Length': Buffer.byteLength(head) + fileBytes + Buffer.byteLength(tail),
  });
  // The file's first bytes only (the form parser needs a little of the part
  // to see where its headers end), far below the range's maximum: the answer
  // must come from the lengths alone.
  await x.write(head + 'x\n'.repeat(50));
  for (let i = 0; i < 500 && !x.answered(); i++) await sleep(10);
  assert.ok(x.answered(), 'the server answered after 100 bytes of the file');
  const res = await x.response;
  x.socket.destroy();
  assert.equal(res.status, 400, res.text);
  assert.match(res.text, /<Code>EntityTooLarge<\/Code>/);
  const atLeast = Number(/at least (\d+) bytes; at most (\d+) are allowed/.exec(res.text)?.[1]);
  assert.ok(atLeast >= fileBytes - 100 && atLeast <= fileBytes, res.text);
  await assertNothingKept(h, (await uploadByDataPath(h, d.oss.data_path)).id, { code: 'TooLarge' });
});

test('a form with a file that fits is not refused by that estimate (fields after the policy, CRLF line ends)', async () => {
  const body = text(MAX);
  const d = await mintegralUpload(h, 2, 'fits.txt', body);
  const form = new FormData();
  form.append('key', d.oss.dir);
  form.append('OSSAccessKeyId', d.oss.accessid);
  form.append('policy', d.oss.policy);
  form.append('signature', d.oss.signature);
  form.append('file', new Blob([body]), 'fits.txt');
  const r = await fetch(d.oss.host, { method: 'POST', body: form });
  assert.equal(r.status, 204, await r.text());
  assert.equal((await uploadByDataPath(h, d.oss.data_path)).status, 'READY');
});
