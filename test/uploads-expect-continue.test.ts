// A client that asks `Expect: 100-continue` (curl does for large PUTs) is
// refused before it sends its file when the refusal does not depend on the
// body: a used credential, a bad signature, a declared size over the limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { mintegralUpload, run } from './support/front-door.js';

let h: Harness;
let file: string;
const body = Buffer.from('0123456789abcdef0123456789abcdef\n'.repeat(200_000));

before(async () => {
  h = await startHarness({ patch: (c) => void (c.uploads.maxBytes = 4 << 20) });
  file = join(mkdtempSync(join(tmpdir(), 'ah-continue-')), 'ids.txt');
  writeFileSync(file, body);
});
after(async () => h.close());

/** curl's own report of what it sent: status and bytes uploaded. */
async function curlPut(url: string): Promise<{ status: number; uploaded: number }> {
  const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}', '-H', 'Expect: 100-continue', '-X', 'PUT', '-T', file, url]);
  const [status, uploaded] = r.stdout.trim().split(' ').map(Number);
  return { status, uploaded };
}

test('the file is sent only once the store is ready to take it', async () => {
  const small = await startHarness();
  try {
    const data = await mintegralUpload(small, 1, 'ids.txt', body);
    const first = await curlPut(data.s3.url);
    assert.deepEqual(first, { status: 200, uploaded: body.length });
    const second = await curlPut(data.s3.url);
    assert.equal(second.status, 409);
    assert.equal(second.uploaded, 0, 'a used credential is refused before the file is sent');
  } finally {
    await small.close();
  }
});

test('a body over the size limit is refused from its Content-Length, before it is sent', async () => {
  const data = await mintegralUpload(h, 1, 'ids.txt', body);
  const r = await curlPut(data.s3.url);
  assert.equal(r.status, 400);
  assert.equal(r.uploaded, 0);
});

test('a tampered signature is refused before the file is sent', async () => {
  const data = await mintegralUpload(h, 1, 'ids.txt', body.subarray(0, 1000));
  const r = await curlPut(data.s3.url.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'));
  assert.equal(r.status, 403);
  assert.equal(r.uploaded, 0);
});
