// Revoking a key stops every upload credential issued to it, at once: a URL
// handed out before the revocation no longer accepts a file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { mintegralUpload, putUrl, xmlCode, getUpload } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h.close());

test('a pre-signed URL of a revoked key is refused and nothing is stored', async () => {
  const acct = await h.newAccount('revokes-mid-upload');
  const body = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n';
  const data = await mintegralUpload(h, 1, 'ids.txt', body, acct);
  await h.app.accounts.revokeKey(acct.id, acct.accessKeyId);
  const res = await putUrl(h, data.s3.url, body);
  assert.equal(res.status, 403);
  assert.equal(xmlCode(res.body), 'AccessDenied');
  assert.match(res.body, /revoked/);
  const row = await h.app.db.selectFrom('uploads').selectAll().where('data_path', '=', data.s3.data_path).executeTakeFirstOrThrow();
  assert.notEqual(row.status, 'READY');
  assert.equal(await h.app.uploads.store(1).head(row.storage_key), null);
});

test("another key's URLs of the same account keep working", async () => {
  const acct = await h.newAccount('two-keys');
  const second = await h.app.accounts.createKey(acct.id);
  const body = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n';
  const data = await mintegralUpload(h, 1, 'ids.txt', body, { accessKeyId: second.accessKeyId, secret: second.secret });
  await h.app.accounts.revokeKey(acct.id, acct.accessKeyId);
  const res = await putUrl(h, data.s3.url, body);
  assert.equal(res.status, 200, res.body);
  const row = await h.app.db.selectFrom('uploads').select('id').where('data_path', '=', data.s3.data_path).executeTakeFirstOrThrow();
  assert.equal((await getUpload(h, row.id, second.secret)).status, 'READY');
});
