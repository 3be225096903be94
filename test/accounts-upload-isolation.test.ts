// Accounts are tenants: through the native API no account can read, list or
// delete another account's uploads, whichever dialect made them. A foreign id
// answers exactly as an id that does not exist (404 UploadNotFound), so ids
// cannot be probed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { createUploadUrl, native, type Key } from './support/vendor-clients.js';

let h: Harness;
let alice: Key & { id: string };
let bob: Key & { id: string };
let aliceUpload: { id: string; storage_key: string };
let aliceTcUpload: { id: string };
const CONTENT = 'id\nFF1999CD-7177-4937-A474-74937A102630\n';

const objectPath = (storageKey: string) => join(h.config.dataDir, 'objects', 'audiencehub-intl', storageKey);

before(async () => {
  h = await startHarness();
  alice = await h.newAccount('alice');
  bob = await h.newAccount('bob');
  const made = await native(h, 'POST', '/v1/uploads', alice.secret, { file_name: 'alice.txt' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const put = await fetch(made.body.put.url, { method: 'PUT', body: CONTENT, headers: made.body.put.headers });
  assert.equal(put.status, 200, await put.text());
  aliceUpload = made.body.upload;
  const tc = await createUploadUrl(h, alice);
  assert.ok(tc.ok);
  aliceTcUpload = (await native(h, 'GET', '/v1/uploads', alice.secret)).body.items.find((u: { dialect: string }) => u.dialect === 'tencent-cloud');
  assert.ok(aliceTcUpload);
  // Bob has an upload of his own, so that his list is not trivially empty.
  assert.equal((await native(h, 'POST', '/v1/uploads', bob.secret, { file_name: 'bob.txt' })).status, 201);
});
after(() => h.close());

test("another account gets 404 UploadNotFound for an upload's id, the same answer as for an id that does not exist", async () => {
  for (const id of [aliceUpload.id, aliceTcUpload.id]) {
    const foreign = await native(h, 'GET', `/v1/uploads/${id}`, bob.secret);
    const missing = await native(h, 'GET', `/v1/uploads/up_${'0'.repeat(20)}`, bob.secret);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, 'UploadNotFound');
    assert.equal(missing.body.error.code, foreign.body.error.code);
    assert.ok(!JSON.stringify(foreign.body).includes(aliceUpload.storage_key));
  }
});

test("another account's list never contains the upload, whatever the filter", async () => {
  for (const q of ['', '?status=READY', '?status=PENDING', '?limit=500']) {
    const r = await native(h, 'GET', `/v1/uploads${q}`, bob.secret);
    assert.equal(r.status, 200);
    for (const u of r.body.items) assert.equal(u.account_id, bob.id);
    const ids = r.body.items.map((u: { id: string }) => u.id);
    assert.ok(!ids.includes(aliceUpload.id) && !ids.includes(aliceTcUpload.id), q);
  }
});

test("another account's DELETE is 404 and leaves the upload and its object in place", async () => {
  const r = await native(h, 'DELETE', `/v1/uploads/${aliceUpload.id}`, bob.secret);
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'UploadNotFound');
  const still = await native(h, 'GET', `/v1/uploads/${aliceUpload.id}`, alice.secret);
  assert.equal(still.status, 200);
  assert.equal(still.body.status, 'READY');
  assert.equal(readFileSync(objectPath(aliceUpload.storage_key), 'utf8'), CONTENT);
});

test('the owner reads, lists and deletes its upload; the object is then gone', async () => {
  const list = await native(h, 'GET', '/v1/uploads', alice.secret);
  assert.ok(list.body.items.some((u: { id: string }) => u.id === aliceUpload.id));
  const del = await native(h, 'DELETE', `/v1/uploads/${aliceUpload.id}`, alice.secret);
  assert.equal(del.status, 204);
  assert.equal((await native(h, 'GET', `/v1/uploads/${aliceUpload.id}`, alice.secret)).status, 404);
  assert.equal(existsSync(objectPath(aliceUpload.storage_key)), false);
});
