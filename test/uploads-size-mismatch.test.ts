// The native API's declared `size` is enforced: a body of another length is
// refused (up front when Content-Length already says so, at the end when the
// body is chunked), nothing is kept, and the upload says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startHarness, type Harness } from './support/harness.js';
import { assertNothingKept, nativeCreate, putUrl, xmlCode, xmlMessage, type RawResponse } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test('a Content-Length other than the declared size is refused before the body is read', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'a.txt', size: 10 });
  const r = await putUrl(h, put.url, 'abcdefghijkl\n');
  assert.equal(r.status, 400, r.body);
  assert.equal(xmlCode(r.body), 'BadRequest');
  assert.match(xmlMessage(r.body)!, /13 bytes.*declared size is 10/);
  await assertNothingKept(h, upload.id, { code: 'SizeMismatch', messageMatches: /declared size/ });
});

test('a shorter body is refused as well', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'b.txt', size: 100 });
  const r = await putUrl(h, put.url, 'abc\n');
  assert.equal(r.status, 400, r.body);
  await assertNothingKept(h, upload.id, { code: 'SizeMismatch' });
});

test('a chunked body (no Content-Length) of another size is refused once it ends', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'c.txt', size: 4 });
  const u = new URL(put.url);
  const r = await new Promise<RawResponse>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.config.port, method: 'PUT', path: u.pathname + u.search, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.write('abc\n');
    req.end('def\n');
  });
  assert.equal(r.status, 400, r.body);
  assert.match(xmlMessage(r.body)!, /8 bytes.*4 were declared/);
  await assertNothingKept(h, upload.id, { code: 'SizeMismatch' });
});

test('a body of exactly the declared size is accepted', async () => {
  const { put } = await nativeCreate(h, { file_name: 'd.txt', size: 4 });
  assert.equal((await putUrl(h, put.url, 'abc\n')).status, 200);
});
