// DELETE /v1/uploads/:id removes the object from the store and the upload
// from the account's view; its URL no longer writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startHarness, type Harness } from './support/harness.js';
import { getUpload, listAll, nativeApi, nativeCreate, objectFile, putUrl } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test('deleting a READY upload removes its object, and it is gone from GET and the list', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'del.txt' });
  assert.equal((await putUrl(h, put.url, 'id\n')).status, 200);
  const ready = await getUpload(h, upload.id);
  assert.equal(existsSync(objectFile(h, ready)), true);
  const get = await h.app.uploads.store(1).presignGet(ready.storage_key, 60);

  const del = await nativeApi(h, 'DELETE', `/v1/uploads/${upload.id}`);
  assert.equal(del.status, 204);
  assert.equal(existsSync(objectFile(h, ready)), false);
  const after = await nativeApi(h, 'GET', `/v1/uploads/${upload.id}`);
  assert.equal(after.status, 404);
  assert.equal(after.body.error.code, 'UploadNotFound');
  assert.ok(!(await listAll(h)).some((u) => u.id === upload.id));
  assert.equal((await fetch(get)).status, 404, 'the object cannot be downloaded any more');
});

test('deleting a PENDING upload closes its URL', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'never.txt' });
  assert.equal((await nativeApi(h, 'DELETE', `/v1/uploads/${upload.id}`)).status, 204);
  const r = await putUrl(h, put.url, 'id\n');
  assert.equal(r.status, 403, r.body);
  assert.equal(existsSync(objectFile(h, upload)), false);
});

test('deleting twice, or an id that never existed, answers 404 UploadNotFound', async () => {
  const { upload } = await nativeCreate(h, { file_name: 'twice.txt' });
  assert.equal((await nativeApi(h, 'DELETE', `/v1/uploads/${upload.id}`)).status, 204);
  const again = await nativeApi(h, 'DELETE', `/v1/uploads/${upload.id}`);
  assert.equal(again.status, 404);
  assert.equal(again.body.error.code, 'UploadNotFound');
  assert.equal((await nativeApi(h, 'DELETE', '/v1/uploads/up_nosuchupload000000')).status, 404);
});
