// An upload moves PENDING → UPLOADING → READY, and its object appears only
// complete: while the body streams in, nothing exists under the key (the
// bytes go to a temporary file); when it is accepted the whole file is there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { startHarness, type Harness } from './support/harness.js';
import { closeHarness, getUpload, md5, mintegralUpload, objectFile, rawExchange, tempFiles, uploadByDataPath, waitFor } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => closeHarness(h));

const body = Buffer.from(Array.from({ length: 100_000 }, (_, i) => `device-${i}`).join('\n') + '\n');

test('status goes PENDING → UPLOADING → READY and the object appears only once complete', async () => {
  const d = await mintegralUpload(h, 1, 'atomic.txt', body);
  const pending = await uploadByDataPath(h, d.s3.data_path);
  assert.equal(pending.status, 'PENDING');
  assert.equal(pending.accepts_writes, true);
  assert.equal(pending.completed_at, null);
  const target = objectFile(h, pending);

  const x = await rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': body.length });
  const cuts = [0, 2, body.length >> 2, body.length >> 1, body.length - 1];
  for (let i = 0; i < cuts.length - 1; i++) {
    await x.write(body.subarray(cuts[i], cuts[i + 1]));
    const tmp = await waitFor('the bytes to reach the temporary file', () => {
      const t = tempFiles(h);
      return t.length === 1 && statSync(t[0]).size === cuts[i + 1] ? t : undefined;
    });
    assert.equal(existsSync(target), false, `no object under the key after ${cuts[i + 1]} bytes`);
    assert.ok(tmp && !tmp[0].startsWith(objectFile(h, { ...pending, storage_key: '' })), 'the temporary file is outside the bucket tree');
    const mid = await getUpload(h, pending.id);
    assert.equal(mid.status, 'UPLOADING');
    assert.equal(mid.md5, null);
  }
  // Everything but the last byte is in: still nothing published.
  assert.equal(existsSync(target), false);
  await x.write(body.subarray(body.length - 1));
  const res = await x.response;
  x.socket.destroy();
  assert.equal(res.status, 200, res.text);
  assert.match(res.text, new RegExp(`etag: "${md5(body)}"`, 'i'));

  const ready = await getUpload(h, pending.id);
  assert.equal(ready.status, 'READY');
  assert.equal(ready.accepts_writes, false);
  assert.equal(ready.md5, md5(body));
  assert.equal(ready.size, body.length);
  assert.ok(ready.completed_at);
  assert.deepEqual(readFileSync(target), body);
  assert.deepEqual(tempFiles(h), []);
});

test('a READY object can be read back through a pre-signed GET of the store', async () => {
  const d = await mintegralUpload(h, 1, 'readback.txt', body);
  const x = await rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': body.length });
  await x.write(body);
  assert.equal((await x.response).status, 200);
  x.socket.destroy();
  const u = await uploadByDataPath(h, d.s3.data_path);
  const get = await h.app.uploads.store(1).presignGet(u.storage_key, 60);
  const r = await fetch(get);
  assert.equal(r.status, 200);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), body);
});
