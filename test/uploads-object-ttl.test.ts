// An upload created with an object TTL (Tencent Cloud keeps uploaded data two
// hours) has its object deleted by housekeeping once the TTL has passed
// since the upload completed, and shows EXPIRED; not a moment before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { startHarness, type Harness } from './support/harness.js';
import { getUpload, md5, objectFile, putUrl } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test('the object is deleted once objectTtlSeconds have passed since completion', async () => {
  const body = 'ttl-1\nttl-2\n';
  const up = await h.app.uploads.create({ accountId: h.account.id, clusterId: 1, dialect: 'native', fileName: 'ttl.txt', declaredMd5: md5(body), ttlSeconds: 3600, objectTtlSeconds: 120 });
  const url = await h.app.uploads.store(1).presignPut(up.storageKey, { expiresSeconds: 3600 });

  h.clock.offsetMs = 30_000; // completes 30 s after the credential was issued
  assert.equal((await putUrl(h, url, body)).status, 200);
  const ready = await getUpload(h, up.id);
  assert.equal(ready.status, 'READY');
  assert.equal(Date.parse(ready.object_expires_at) - Date.parse(ready.completed_at), 120_000);
  const file = objectFile(h, ready);

  h.clock.offsetMs = 30_000 + 119_000;
  assert.equal((await h.app.uploads.sweep()).objectsDeleted, 0);
  assert.equal(readFileSync(file, 'utf8'), body, 'kept until its TTL');
  assert.equal((await getUpload(h, up.id)).status, 'READY');

  h.clock.offsetMs = 30_000 + 121_000;
  assert.equal((await h.app.uploads.sweep()).objectsDeleted, 1);
  assert.equal(existsSync(file), false);
  const gone = await getUpload(h, up.id);
  assert.equal(gone.status, 'EXPIRED');
  // A second sweep finds nothing more to do.
  assert.equal((await h.app.uploads.sweep()).objectsDeleted, 0);
});

test('an upload without an object TTL keeps its object', async () => {
  const up = await h.app.uploads.create({ accountId: h.account.id, clusterId: 1, dialect: 'native', fileName: 'keep.txt', ttlSeconds: 3600 });
  const url = await h.app.uploads.store(1).presignPut(up.storageKey, { expiresSeconds: 3600 });
  assert.equal((await putUrl(h, url, 'k\n')).status, 200);
  h.clock.offsetMs += 30 * 86_400_000;
  await h.app.uploads.sweep();
  const u = await getUpload(h, up.id);
  assert.equal(u.status, 'READY');
  assert.equal(u.object_expires_at, null);
  assert.equal(existsSync(objectFile(h, u)), true);
});
