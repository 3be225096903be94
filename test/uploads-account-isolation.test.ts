// One account's credentials never reach another account's uploads: a URL
// edited to another upload's key fails its signature, and the native API
// never shows, lists or deletes another account's upload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { startHarness, type Harness } from './support/harness.js';
import { getUpload, listAll, md5, mintegralUpload, nativeApi, nativeCreate, objectFile, putUrl, uploadByDataPath, xmlCode, type Key } from './support/front-door.js';

let h: Harness;
let alice: Key & { id: string };
let bob: Key & { id: string };
before(async () => {
  h = await startHarness();
  alice = h.account;
  bob = await h.newAccount('bob');
});
after(() => h.close());

const body = 'x1\nx2\n';

test("a URL edited to point at another account's upload key is refused and that upload is untouched", async () => {
  const mine = await mintegralUpload(h, 1, 'audience.txt', body, alice);
  const theirs = await mintegralUpload(h, 1, 'audience.txt', body, bob);
  const myKey = mine.s3.data_path.replace('s3://audiencehub-intl/', '');
  const theirKey = theirs.s3.data_path.replace('s3://audiencehub-intl/', '');
  assert.ok(mine.s3.url.includes(myKey));
  const forged = mine.s3.url.replace(myKey, theirKey);
  const r = await putUrl(h, forged, 'forged\n');
  assert.equal(r.status, 403, r.body);
  assert.equal(xmlCode(r.body), 'SignatureDoesNotMatch');
  const t = await uploadByDataPath(h, theirs.s3.data_path, bob.secret);
  assert.equal(t.status, 'PENDING');
  assert.equal(existsSync(objectFile(h, t)), false);
  // Bob's own URL still works and stores Bob's file.
  assert.equal((await putUrl(h, theirs.s3.url, body)).status, 200);
  assert.equal(readFileSync(objectFile(h, await getUpload(h, t.id, bob.secret)), 'utf8'), body);
});

test("GET, list and DELETE of /v1/uploads never show or touch another account's upload", async () => {
  const b = await nativeCreate(h, { file_name: 'bob-only.txt', md5: md5(body) }, bob.secret);
  assert.equal((await putUrl(h, b.put.url, body)).status, 200);
  const a = await nativeCreate(h, { file_name: 'alice-only.txt' }, alice.secret);

  const get = await nativeApi(h, 'GET', `/v1/uploads/${b.upload.id}`, { secret: alice.secret });
  assert.equal(get.status, 404);
  assert.equal(get.body.error.code, 'UploadNotFound');
  assert.equal(get.body.error.field, 'upload_id');

  const aliceIds = (await listAll(h, alice.secret)).map((u) => u.id);
  const bobIds = (await listAll(h, bob.secret)).map((u) => u.id);
  assert.ok(aliceIds.includes(a.upload.id));
  assert.ok(!aliceIds.includes(b.upload.id));
  assert.ok(bobIds.includes(b.upload.id));
  assert.ok(!bobIds.includes(a.upload.id));
  for (const u of await listAll(h, alice.secret)) assert.equal(u.account_id, alice.id);
  for (const u of await listAll(h, bob.secret)) assert.equal(u.account_id, bob.id);
  // Filtering by status does not widen the view either.
  assert.ok(!(await nativeApi(h, 'GET', '/v1/uploads?status=READY', { secret: alice.secret })).body.items.some((u: any) => u.account_id !== alice.id));

  const del = await nativeApi(h, 'DELETE', `/v1/uploads/${b.upload.id}`, { secret: alice.secret });
  assert.equal(del.status, 404);
  const still = await getUpload(h, b.upload.id, bob.secret);
  assert.equal(still.status, 'READY');
  assert.equal(readFileSync(objectFile(h, still), 'utf8'), body);
});

test("a cursor from one account's list does not page into another's", async () => {
  for (let i = 0; i < 3; i++) await nativeCreate(h, { file_name: `b${i}.txt` }, bob.secret);
  const page = await nativeApi(h, 'GET', '/v1/uploads?limit=1', { secret: bob.secret });
  assert.ok(page.body.next);
  const other = await nativeApi(h, 'GET', `/v1/uploads?limit=500&after=${encodeURIComponent(page.body.next)}`, { secret: alice.secret });
  assert.equal(other.status, 200);
  for (const u of other.body.items) assert.equal(u.account_id, alice.id);
});

test('an unknown or missing bearer secret sees nothing', async () => {
  const none = await fetch(`${h.url}/v1/uploads`);
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as any).error.field, 'Authorization');
  const wrong = await nativeApi(h, 'GET', '/v1/uploads', { secret: 'not-a-secret' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'UnknownKey');
});
