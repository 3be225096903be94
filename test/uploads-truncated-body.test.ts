// A client that announces a Content-Length, sends less and closes the
// connection leaves nothing behind: no object, no temporary file, and the
// upload records the incomplete body. The URL still takes a complete file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { closeHarness, assertNothingKept, getUpload, md5, mintegralUpload, nativeCreate, putUrl, rawExchange, tempFiles, uploadByDataPath, waitFor } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => closeHarness(h));

const content = Buffer.from('a1\n'.repeat(40_000)); // 120,000 bytes

test('a PUT whose connection closes before Content-Length bytes arrived is refused as IncompleteBody and nothing is kept', async () => {
  const d = await mintegralUpload(h, 1, 'cut.txt', content);
  const id = (await uploadByDataPath(h, d.s3.data_path)).id;
  const x = await rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': content.length });
  assert.ok(await x.write(content.subarray(0, 50_000)));
  // The body is streaming into a temporary file...
  await waitFor('the upload to start', async () => (await getUpload(h, id)).status === 'UPLOADING' && tempFiles(h).length === 1);
  // ...when the client goes away.
  x.socket.destroy();
  const u = await waitFor('the refusal to be recorded', async () => {
    const cur = await getUpload(h, id);
    return cur.status === 'FAILED' ? cur : undefined;
  });
  assert.match(u.error.message, /50000 bytes/);
  await assertNothingKept(h, id, { code: 'IncompleteBody', messageMatches: /closed/ });
});

test('a connection closed after the headers alone leaves nothing either', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'empty-cut.txt' });
  const x = await rawExchange(h, 'PUT', put.url, { 'Content-Length': 1000 });
  await waitFor('the upload to start', async () => (await getUpload(h, upload.id)).status === 'UPLOADING');
  x.socket.end();
  await waitFor('the refusal to be recorded', async () => (await getUpload(h, upload.id)).status === 'FAILED');
  await assertNothingKept(h, upload.id, { code: 'IncompleteBody' });
});

test('after a cut-off upload the same URL accepts the whole file', async () => {
  const d = await mintegralUpload(h, 1, 'again.txt', content);
  const id = (await uploadByDataPath(h, d.s3.data_path)).id;
  const x = await rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': content.length });
  await x.write(content.subarray(0, 10));
  await waitFor('the upload to start', async () => (await getUpload(h, id)).status === 'UPLOADING');
  x.socket.destroy();
  await waitFor('the refusal to be recorded', async () => (await getUpload(h, id)).status === 'FAILED');
  const r = await putUrl(h, d.s3.url, content);
  assert.equal(r.status, 200, r.body);
  const u = await getUpload(h, id);
  assert.equal(u.status, 'READY');
  assert.equal(u.md5, md5(content));
  assert.equal(u.error, null);
});
