// Seed 002: "The data will be stored … for two hours." An object uploaded
// through CreateUploadUrl is deleted two hours after its upload
// (tencentCloud.objectTtlSeconds) by housekeeping (app.uploads.sweep()):
// the file leaves the data folder and the store answers NoSuchKey.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import COS from 'cos-nodejs-sdk-v5';
import { startHarness, type Harness } from './support/harness.js';
import { createUploadUrl, native } from './support/vendor-clients.js';

const BUCKET = 'audiencehub-intl';
const CONTENT = 'id\n2c010ed96aef2fc34983e1e7e9176b7e\n';
let h: Harness;
let u: { UploadUrl: string; ResourceUrl: string; ExpiredTimestamp: number };
let upload: { id: string; storage_key: string; object_expires_at: string };

before(async () => {
  h = await startHarness();
  const r = await createUploadUrl(h, h.account);
  assert.ok(r.ok, JSON.stringify(r));
  u = r.response as typeof u;
  const put = await fetch(u.UploadUrl, { method: 'PUT', body: CONTENT });
  assert.equal(put.status, 200, await put.text());
  upload = (await native(h, 'GET', '/v1/uploads', h.account.secret)).body.items[0];
});
after(() => h.close());

const file = () => join(h.config.dataDir, 'objects', BUCKET, upload.storage_key);

/** A GET of the object signed now (service clock) by the COS SDK with the store credential. */
function freshGet(): Promise<Response> {
  const cred = h.app.storeCredentials.forBucket(BUCKET);
  const path = new URL(u.ResourceUrl).pathname;
  const authorization = COS.getAuthorization({
    SecretId: cred.accessKeyId,
    SecretKey: cred.secret,
    Method: 'GET',
    Pathname: decodeURIComponent(path),
    Headers: { Host: new URL(h.url).host },
    SystemClockOffset: h.clock.offsetMs,
  });
  return fetch(`${h.url}${path}`, { headers: { authorization } });
}

test('the upload records when its object will be deleted: two hours after the upload', async () => {
  assert.equal(readFileSync(file(), 'utf8'), CONTENT);
  const u2 = await native(h, 'GET', `/v1/uploads/${upload.id}`, h.account.secret);
  assert.equal(u2.body.status, 'READY');
  assert.equal(u2.body.dialect, 'tencent-cloud');
  const ttl = Date.parse(u2.body.object_expires_at) - Date.parse(u2.body.completed_at);
  assert.equal(ttl, 7200_000);
});

test('just before the two hours, housekeeping keeps the object and ResourceUrl still downloads it', async () => {
  h.clock.offsetMs = 7190_000;
  try {
    const swept = await h.app.uploads.sweep();
    assert.equal(swept.objectsDeleted, 0);
    assert.ok(existsSync(file()));
    const got = await fetch(u.ResourceUrl);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), CONTENT);
  } finally {
    h.clock.offsetMs = 0;
  }
});

test('2 h + 1 s after the upload, housekeeping deletes it: the file is gone from the data folder and the store answers 404 NoSuchKey', async () => {
  const completedAt = Date.parse((await native(h, 'GET', `/v1/uploads/${upload.id}`, h.account.secret)).body.completed_at);
  h.clock.offsetMs = completedAt + 7201_000 - Date.now();
  try {
    const swept = await h.app.uploads.sweep();
    assert.equal(swept.objectsDeleted, 1);
    assert.equal(existsSync(file()), false);

    // A correctly signed, unexpired read of the object finds nothing.
    const res = await freshGet();
    assert.equal(res.status, 404);
    assert.match(await res.text(), /<Code>NoSuchKey<\/Code>/);
    // The ResourceUrl lapsed at ExpiredTimestamp, two hours after it was issued,
    // which is no later than the data: COS refuses it as expired first.
    const viaResourceUrl = await fetch(u.ResourceUrl);
    assert.equal(viaResourceUrl.status, 403);
    assert.match(await viaResourceUrl.text(), /<Message>Request has expired<\/Message>/);

    const rec = await native(h, 'GET', `/v1/uploads/${upload.id}`, h.account.secret);
    assert.equal(rec.body.status, 'EXPIRED');
  } finally {
    h.clock.offsetMs = 0;
  }
});

test('a second sweep finds nothing more to delete', async () => {
  h.clock.offsetMs = 3 * 3600_000;
  try {
    assert.equal((await h.app.uploads.sweep()).objectsDeleted, 0);
  } finally {
    h.clock.offsetMs = 0;
  }
});
