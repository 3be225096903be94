// The upload lifecycle on PostgreSQL: the seed's curl PUT to a Mintegral
// pre-signed URL reaches READY, a second PUT is refused with 409, and of
// concurrent PUTs through one URL exactly one wins. The publish
// compare-and-set is a conditional UPDATE inside a transaction, with the
// rename done while the row lock is held; these tests check it holds at
// PostgreSQL's READ COMMITTED with a pool of connections.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { allObjectFiles, md5, mintegralPresign, mintegralUpload, objectFile, putUrl, rawExchange, seedCurlPut, tempFiles, uploadByDataPath, waitFor, xmlCode } from './support/front-door.js';
import { onPostgres } from './support/pg-harness.js';

const pg = onPostgres();
const dir = mkdtempSync(join(tmpdir(), 'ah-pg-uploads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

pg.test("the seed's curl PUT to a Mintegral pre-signed URL stores the file; the upload is READY with its MD5 and size", async (h) => {
  const content = Array.from({ length: 2000 }, (_, i) => `a1b2c3d4-0000-4000-8000-${String(i).padStart(12, '0')}`).join('\n') + '\n';
  const path = join(dir, 'audience.txt');
  writeFileSync(path, content);
  const res = await mintegralPresign(h, { area_type: '1', file_name: 'audience.txt', file_md5: md5(content) });
  assert.equal(res.body.code, 200, JSON.stringify(res.body));
  const d = res.body.data;
  assert.equal((await uploadByDataPath(h, d.s3.data_path)).status, 'PENDING');

  const out = await seedCurlPut(d.s3.method, path, d.s3.url);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '');
  const u = await uploadByDataPath(h, d.s3.data_path);
  assert.deepEqual([u.status, u.md5, u.size, u.format, u.error], ['READY', md5(content), Buffer.byteLength(content), 'text', null]);
  assert.equal(typeof u.size, 'number', 'int8 columns come back as numbers');
  assert.ok(Date.parse(u.completed_at) > 0);
  assert.equal(readFileSync(objectFile(h, u), 'utf8'), content);
});

pg.test('a second PUT to a used URL is refused with 409 UploadAlreadyCompleted; the first object is intact', async (h) => {
  const first = 'first-1\nfirst-2\n';
  const d = await mintegralUpload(h, 1, 'once.txt', first);
  assert.equal((await putUrl(h, d.s3.url, first)).status, 200);
  const u1 = await uploadByDataPath(h, d.s3.data_path);
  const again = await putUrl(h, d.s3.url, 'second\n');
  assert.equal(again.status, 409, again.body);
  assert.equal(xmlCode(again.body), 'UploadAlreadyCompleted');
  const u2 = await uploadByDataPath(h, d.s3.data_path);
  assert.deepEqual([u2.status, u2.md5, u2.completed_at], ['READY', md5(first), u1.completed_at]);
  assert.equal(readFileSync(objectFile(h, u2), 'utf8'), first);
});

const body = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `id-${i}`).join('\n') + '\n');

for (const writers of [2, 6]) {
  pg.test(`${writers} concurrent PUTs through one URL: one 200, the rest 409, one object, no temporary file`, async (h) => {
    const d = await mintegralUpload(h, 1, `race-${writers}.txt`, body);
    const xs = await Promise.all(Array.from({ length: writers }, () => rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': body.length })));
    const half = body.length >> 1;
    await Promise.all(xs.map((x) => x.write(body.subarray(0, half))));
    // Every body is streaming to its own temporary file before any finishes.
    await waitFor('all bodies to be in flight', () => tempFiles(h).length === writers);
    await Promise.all(xs.map((x) => x.write(body.subarray(half))));
    const rs = await Promise.all(xs.map((x) => x.response));
    for (const x of xs) x.socket.destroy();

    const statuses = rs.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array(writers - 1).fill(409)], rs.map((r) => r.text).join('\n'));
    for (const r of rs.filter((x) => x.status === 409)) assert.match(r.text, /<Code>UploadAlreadyCompleted<\/Code>/);
    const u = await uploadByDataPath(h, d.s3.data_path);
    assert.deepEqual([u.status, u.md5, u.size], ['READY', md5(body), body.length]);
    assert.deepEqual(readFileSync(objectFile(h, u)), body);
    assert.equal(allObjectFiles(h).filter((f) => f.includes(u.id)).length, 1, 'exactly one object');
    assert.deepEqual(tempFiles(h), [], 'no temporary file is left');
  });
}
