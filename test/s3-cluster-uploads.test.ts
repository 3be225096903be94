// A data cluster on an S3-compatible store (a real radosgw): the service hands
// out the store's own pre-signed URLs, learns of completion by HEAD, compares
// the ETag with the declared MD5 and reads the object once through the same
// content check as the embedded store. A refused object is deleted.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintegralToken } from '../src/protocols/mintegral.js';
import { startHarness, type Harness } from './support/harness.js';
import { startRadosgw, type Rgw } from './support/radosgw.js';

let rgw: Rgw | undefined;
let skip = 'SKIPPED: radosgw was not started';
let h: Harness;
let work: string;
const bucket = `ah-intl-${randomBytes(3).toString('hex')}`;

before(async () => {
  const started = await startRadosgw();
  if (!started.ok) {
    skip = started.skip;
    return;
  }
  rgw = started.rgw;
  h = await startHarness({
    patch: (c) => {
      c.clusters[0] = {
        id: 1,
        name: 'intl',
        backend: 's3',
        bucket,
        region: rgw!.region,
        s3: { endpoint: rgw!.endpoint, region: rgw!.region, accessKeyId: rgw!.accessKey, secretAccessKey: rgw!.secretKey },
      };
      // Tencent Cloud uploads are served by the embedded store: keep them on the disk cluster.
      c.tencentCloud.clusterId = 2;
    },
  });
  work = mkdtempSync(join(tmpdir(), 'ah-s3-cluster-'));
});

after(async () => {
  await h?.close();
  if (work) rmSync(work, { recursive: true, force: true });
  await rgw?.stop();
});

function s3test(name: string, fn: (t: TestContext) => Promise<void>) {
  test(name, async (t) => {
    if (!rgw) return t.skip(skip);
    await fn(t);
  });
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function presign(fileName: string, fileMd5: string) {
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${h.url}/api/open/v1/audience/presigned-upload-data?area_type=1&file_name=${fileName}&file_md5=${fileMd5}`, {
    headers: { 'access-key': h.account.accessKeyId, timestamp: String(ts), token: mintegralToken(h.account.secret, ts) },
  });
  const body = (await res.json()) as { code: number; data: { s3: { url: string; data_path: string } } };
  assert.equal(body.code, 200, JSON.stringify(body));
  return body.data.s3;
}

function curlPut(file: string, url: string): Promise<number> {
  return new Promise((resolve, reject) =>
    execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-T', file, url], (e, out) => (e ? reject(e) : resolve(Number(out)))),
  );
}

async function uploadByPath(dataPath: string) {
  const rows = await h.app.db.selectFrom('uploads').select('id').where('data_path', '=', dataPath).execute();
  const res = await fetch(`${h.url}/v1/uploads/${rows[0].id}`, { headers: { authorization: `Bearer ${h.account.secret}` } });
  return (await res.json()) as { status: string; md5: string | null; size: number | null; error: { code: string } | null; storage_key: string };
}

s3test('the seed\'s curl PUT goes straight to the S3 store and the upload becomes READY with its MD5', async () => {
  const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => md5(Buffer.from(String(i)))).join('\n') + '\n');
  const file = join(work, 'ok.txt');
  writeFileSync(file, body);
  const s3 = await presign('ok.txt', md5(body));
  assert.ok(s3.url.startsWith(rgw!.endpoint), `the URL is the store's own: ${s3.url}`);
  assert.equal(s3.data_path.startsWith(`s3://${bucket}/`), true);
  assert.equal(await curlPut(file, s3.url), 200);
  const u = await uploadByPath(s3.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.md5, md5(body));
  assert.equal(u.size, body.length);
});

s3test('a body that does not match file_md5 is refused after the upload and the object is deleted', async () => {
  const file = join(work, 'wrong.txt');
  writeFileSync(file, 'aaaa\nbbbb\n');
  const s3 = await presign('wrong.txt', md5(Buffer.from('something else\n')));
  assert.equal(await curlPut(file, s3.url), 200, 'the store itself accepts it: no Content-MD5 was signed');
  const u = await uploadByPath(s3.data_path);
  assert.equal(u.status, 'FAILED');
  assert.equal(u.error?.code, 'Md5Mismatch');
  assert.equal(await h.app.uploads.store(1).head(u.storage_key), null);
});

s3test('binary content uploaded to the S3 store is refused and deleted, found by the housekeeping sweep', async () => {
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), randomBytes(200)]);
  const file = join(work, 'img.txt');
  writeFileSync(file, png);
  const s3 = await presign('img.txt', md5(png));
  assert.equal(await curlPut(file, s3.url), 200);
  const swept = await h.app.uploads.sweep();
  assert.ok(swept.remoteChecked >= 1);
  const row = await h.app.db.selectFrom('uploads').selectAll().where('data_path', '=', s3.data_path).executeTakeFirstOrThrow();
  assert.equal(row.status, 'FAILED');
  assert.equal(row.error_code, 'NotAudienceFile');
  assert.equal(await h.app.uploads.store(1).head(row.storage_key), null);
});

s3test('the native API signs Content-MD5 into an S3 URL, so the store itself refuses a wrong body', async () => {
  const good = Buffer.from('0123456789abcdef0123456789abcdef\n');
  const res = await fetch(`${h.url}/v1/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.account.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ file_name: 'n.txt', md5: md5(good), cluster_id: 1 }),
  });
  assert.equal(res.status, 201);
  const { put } = (await res.json()) as { put: { url: string; headers: Record<string, string> } };
  assert.match(put.url, /X-Amz-SignedHeaders=content-md5%3Bhost/);
  const bad = await fetch(put.url, { method: 'PUT', headers: put.headers, body: Buffer.from('not the same body!\n') });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /BadDigest/);
  const ok = await fetch(put.url, { method: 'PUT', headers: put.headers, body: good });
  assert.equal(ok.status, 200);
});
