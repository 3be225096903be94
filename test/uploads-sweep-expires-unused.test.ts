// Housekeeping (app.uploads.sweep) marks a credential that expired unused as
// EXPIRED, and leaves uploads that completed, or are still valid, alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startHarness, type Harness } from './support/harness.js';
import { getUpload, nativeCreate, objectFile, putUrl } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test('an unused credential past its expiry becomes EXPIRED; a READY upload and a live credential are untouched', async () => {
  const unused = await nativeCreate(h, { file_name: 'unused.txt', ttl_seconds: 60 });
  const failed = await nativeCreate(h, { file_name: 'failed.txt', ttl_seconds: 60, size: 3 });
  assert.equal((await putUrl(h, failed.put.url, 'toolong\n')).status, 400);
  const done = await nativeCreate(h, { file_name: 'done.txt', ttl_seconds: 60 });
  assert.equal((await putUrl(h, done.put.url, 'id\n')).status, 200);
  const live = await nativeCreate(h, { file_name: 'live.txt', ttl_seconds: 3600 });

  // Not yet: housekeeping leaves a minute's grace after expiry.
  h.clock.offsetMs = 61_000;
  await h.app.uploads.sweep();
  assert.equal((await getUpload(h, unused.upload.id)).status, 'PENDING');

  h.clock.offsetMs = 125_000;
  const swept = await h.app.uploads.sweep();
  assert.equal(swept.expired, 2);
  const u = await getUpload(h, unused.upload.id);
  assert.equal(u.status, 'EXPIRED');
  assert.equal(u.accepts_writes, false);
  const f = await getUpload(h, failed.upload.id);
  assert.equal(f.status, 'EXPIRED');
  assert.equal(f.error.code, 'SizeMismatch', 'the last refusal stays visible');

  const d = await getUpload(h, done.upload.id);
  assert.equal(d.status, 'READY');
  assert.equal(existsSync(objectFile(h, d)), true);
  assert.equal((await getUpload(h, live.upload.id)).status, 'PENDING');
  // The live credential still works after the sweep.
  assert.equal((await putUrl(h, live.put.url, 'id\n')).status, 200);
});
