// The store writes only keys the service issued: even a correctly signed URL
// (made here with the bucket's own store credential, which no client holds)
// for a key no upload owns is refused and nothing is written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { presignS3Url } from '../src/protocols/s3-sigv4.js';
import { startHarness, type Harness } from './support/harness.js';
import { allObjectFiles, nativeApi, postSignedOssForm, putUrl, tempFiles, xmlCode } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

function signedPut(key: string, bucket = 'audiencehub-intl') {
  const cred = h.app.storeCredentials.forBucket(bucket);
  return presignS3Url({ method: 'PUT', endpoint: h.url, bucket, key, region: 'us-east-1', accessKeyId: cred.accessKeyId, secretAccessKey: cred.secret, expiresSeconds: 300, now: new Date(h.app.now()) });
}

test('a validly signed PUT to a made-up key is refused with AccessDenied and nothing is written', async () => {
  for (const key of [`${h.account.id}/20240101/up_madeupmadeupmadeup00/audience.txt`, 'audience.txt', 'some/other/path.csv']) {
    const r = await putUrl(h, signedPut(key), 'id\n');
    assert.equal(r.status, 403, r.body);
    assert.equal(xmlCode(r.body), 'AccessDenied');
    assert.match(r.body, /not issued/);
  }
  assert.deepEqual(allObjectFiles(h), []);
  assert.deepEqual(tempFiles(h), []);
  assert.deepEqual((await nativeApi(h, 'GET', '/v1/uploads')).body.items, []);
});

test('the key of a deleted upload is no longer writable', async () => {
  const created = await nativeApi(h, 'POST', '/v1/uploads', { body: { file_name: 'gone.txt' } });
  assert.equal((await nativeApi(h, 'DELETE', `/v1/uploads/${created.body.upload.id}`)).status, 204);
  const r = await putUrl(h, created.body.put.url, 'id\n');
  assert.equal(r.status, 403, r.body);
  assert.deepEqual(allObjectFiles(h), []);
});

test('a validly signed OSS form for a made-up key is refused with AccessDenied and nothing is written', async () => {
  const key = `${h.account.id}/20240101/up_madeupmadeupmadeup00/audience.txt`;
  assert.deepEqual(await postSignedOssForm(h, key, 'id\n'), { status: 403, code: 'AccessDenied' });
  assert.deepEqual(allObjectFiles(h), []);
});

test("one bucket's store credential is worthless in the other bucket", async () => {
  const created = await nativeApi(h, 'POST', '/v1/uploads', { body: { file_name: 'x.txt' } });
  const key = created.body.upload.storage_key;
  // Signed for audiencehub-cn's credential but sent to audiencehub-intl.
  const cn = h.app.storeCredentials.forBucket('audiencehub-cn');
  const url = presignS3Url({ method: 'PUT', endpoint: h.url, bucket: 'audiencehub-intl', key, region: 'us-east-1', accessKeyId: cn.accessKeyId, secretAccessKey: cn.secret, expiresSeconds: 300, now: new Date(h.app.now()) });
  const r = await putUrl(h, url, 'id\n');
  assert.equal(r.status, 403, r.body);
  assert.equal(xmlCode(r.body), 'InvalidAccessKeyId');
  assert.deepEqual(allObjectFiles(h), []);
});
