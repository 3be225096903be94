// Housekeeping on PostgreSQL: an unused credential past its expiry (and one
// whose only body was refused) becomes EXPIRED; a READY upload and a live
// credential are left alone.
import assert from 'node:assert/strict';
import { getUpload, nativeCreate, putUrl } from './support/front-door.js';
import { onPostgres } from './support/pg-harness.js';

const pg = onPostgres();

pg.test('the sweep expires an unused credential and a refused one, and leaves READY and live uploads alone', async (h) => {
  const unused = await nativeCreate(h, { file_name: 'unused.txt', ttl_seconds: 60 });
  const failed = await nativeCreate(h, { file_name: 'failed.txt', ttl_seconds: 60, size: 3 });
  assert.equal((await putUrl(h, failed.put.url, 'toolong\n')).status, 400);
  const f0 = await getUpload(h, failed.upload.id);
  assert.deepEqual([f0.status, f0.error.code], ['FAILED', 'SizeMismatch']);
  const done = await nativeCreate(h, { file_name: 'done.txt', ttl_seconds: 60 });
  assert.equal((await putUrl(h, done.put.url, 'id\n')).status, 200);
  const live = await nativeCreate(h, { file_name: 'live.txt', ttl_seconds: 3600 });

  h.clock.offsetMs = 61_000;
  assert.equal((await h.app.uploads.sweep()).expired, 0, 'a minute of grace after expiry');
  h.clock.offsetMs = 125_000;
  const swept = await h.app.uploads.sweep();
  assert.deepEqual(swept, { expired: 2, objectsDeleted: 0, remoteChecked: 0 });
  const u = await getUpload(h, unused.upload.id);
  assert.deepEqual([u.status, u.accepts_writes], ['EXPIRED', false]);
  const f = await getUpload(h, failed.upload.id);
  assert.deepEqual([f.status, f.error.code], ['EXPIRED', 'SizeMismatch']);
  assert.equal((await getUpload(h, done.upload.id)).status, 'READY');
  assert.equal((await getUpload(h, live.upload.id)).status, 'PENDING');
  assert.equal((await putUrl(h, live.put.url, 'id\n')).status, 200);
});
