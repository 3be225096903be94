// Two clients uploading through the same URL at the same time: both bodies
// stream in side by side, exactly one is published (200), the other is
// refused (409), one object with the right MD5 remains and no temporary
// file is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startHarness, type Harness } from './support/harness.js';
import { closeHarness, allObjectFiles, md5, mintegralUpload, objectFile, rawExchange, tempFiles, uploadByDataPath, waitFor } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => closeHarness(h));

const body = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `id-${i}`).join('\n') + '\n');

for (let round = 1; round <= 3; round++) {
  test(`round ${round}: two concurrent PUTs of the same file: one 200, one 409, one object, no temp files`, async () => {
    const d = await mintegralUpload(h, 1, `race-${round}.txt`, body);
    const a = await rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': body.length });
    const b = await rawExchange(h, 'PUT', d.s3.url, { 'Content-Length': body.length });
    const half = body.length >> 1;
    await Promise.all([a.write(body.subarray(0, half)), b.write(body.subarray(0, half))]);
    // Both are streaming to their own temporary file before either finishes.
    await waitFor('both bodies to be in flight', () => tempFiles(h).length === 2);
    await Promise.all([a.write(body.subarray(half)), b.write(body.subarray(half))]);
    const [ra, rb] = await Promise.all([a.response, b.response]);
    a.socket.destroy();
    b.socket.destroy();

    assert.deepEqual([ra.status, rb.status].sort(), [200, 409], `${ra.text}\n${rb.text}`);
    const loser = ra.status === 409 ? ra : rb;
    assert.match(loser.text, /<Code>UploadAlreadyCompleted<\/Code>/);

    const u = await uploadByDataPath(h, d.s3.data_path);
    assert.equal(u.status, 'READY');
    assert.equal(u.md5, md5(body));
    assert.equal(u.size, body.length);
    assert.deepEqual(readFileSync(objectFile(h, u)), body);
    assert.equal(allObjectFiles(h).filter((f) => f.includes(u.id)).length, 1, 'exactly one object');
    assert.deepEqual(tempFiles(h), [], 'no temporary file is left');
  });
}
