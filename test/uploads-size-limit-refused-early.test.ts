// A file over the size limit (config.uploads.maxBytes, 5 GB shipped; 1 MiB
// here) is refused as soon as its size is known: at the credential call when
// the native API declares it, on the Content-Length before the body has been
// sent, or the moment a chunked body passes the limit. Nothing is kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHarness, assertNothingKept, getUpload, nativeApi, nativeCreate, rawExchange, run, sleep, xmlCode } from './support/front-door.js';

const LIMIT = 1 << 20;
let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness({ patch: (c) => void (c.uploads.maxBytes = LIMIT) });
  dir = mkdtempSync(join(tmpdir(), 'ah-limit-'));
});
after(async () => {
  await closeHarness(h);
  rmSync(dir, { recursive: true, force: true });
});

test('the native API refuses a declared size over the limit, naming size', async () => {
  const r = await nativeApi(h, 'POST', '/v1/uploads', { body: { file_name: 'big.txt', size: LIMIT + 1 } });
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'TooLarge');
  assert.equal(r.body.error.field, 'size');
  assert.match(r.body.error.message, new RegExp(`at most ${LIMIT}`));
});

test('curl sending a 10 MiB file at 200 KB/s is answered EntityTooLarge at once, not after the ~50 s the upload would take', async () => {
  const path = join(dir, 'big.txt');
  writeFileSync(path, Buffer.alloc(10 * LIMIT, 'a\n'));
  const { upload, put } = await nativeCreate(h, { file_name: 'slow.txt' });
  const started = Date.now();
  const out = await run('curl', ['--limit-rate', '200K', '-X', 'PUT', '-T', path, put.url]);
  const took = Date.now() - started;
  assert.equal(xmlCode(out.stdout), 'EntityTooLarge', out.stdout + out.stderr);
  assert.match(out.stdout, new RegExp(`${10 * LIMIT} bytes; at most ${LIMIT}`));
  assert.ok(took < 20_000, `answered after ${took} ms`);
  await assertNothingKept(h, upload.id, { code: 'TooLarge' });
});

test('a client that has sent only the headers announcing 10 MiB is answered at once', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'headers-only.txt' });
  const x = await rawExchange(h, 'PUT', put.url, { 'Content-Length': 10 * LIMIT });
  // No body byte is sent: the answer can only come from the Content-Length.
  const res = await x.response;
  x.socket.destroy();
  assert.equal(res.status, 400, res.text);
  assert.match(res.text, /<Code>EntityTooLarge<\/Code>/);
  await assertNothingKept(h, upload.id, { code: 'TooLarge' });
});

test('a chunked body is refused the moment it passes the limit', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'chunked.txt' });
  const x = await rawExchange(h, 'PUT', put.url, { 'Transfer-Encoding': 'chunked' });
  const piece = Buffer.alloc(32 * 1024, 'b\n');
  const whole = 16 * LIMIT;
  let sent = 0;
  // A 16 MiB body in 32 KiB chunks, stopping as soon as the server answers.
  while (!x.answered() && sent < whole) {
    if (!(await x.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])))) break;
    sent += piece.length;
    await sleep(5);
  }
  const res = await x.response;
  x.socket.destroy();
  assert.equal(res.status, 400, res.text);
  assert.match(res.text, /<Code>EntityTooLarge<\/Code>/);
  assert.match(res.text, new RegExp(`larger than ${LIMIT} bytes`));
  // What the client has handed to its socket includes what sits in the
  // loopback buffers (a few MiB), so the bound is loose; the point is that
  // the answer came long before the whole body.
  assert.ok(sent < whole / 2, `answered after ${sent} bytes`);
  await assertNothingKept(h, upload.id, { code: 'TooLarge' });
});

test('a file of exactly the limit is accepted', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'max.txt', size: LIMIT });
  const x = await rawExchange(h, 'PUT', put.url, { 'Content-Length': LIMIT });
  await x.write(Buffer.alloc(LIMIT, 'c\n'));
  const res = await x.response;
  x.socket.destroy();
  assert.equal(res.status, 200, res.text);
  assert.equal((await getUpload(h, upload.id)).status, 'READY');
});
