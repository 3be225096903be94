import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { md5Hasher, OFFLOAD_MIN_BYTES } from './md5.js';

async function hashInChunks(data: Buffer, chunk: number, expected: number): Promise<string> {
  const h = md5Hasher(expected);
  for (let i = 0; i < data.length; i += chunk) if (!h.update(data.subarray(i, i + chunk))) await h.drain();
  return h.digest();
}

test('the worker hash equals the inline hash for any chunking, and a worker is reused', async () => {
  const data = randomBytes(OFFLOAD_MIN_BYTES + 12345);
  const want = createHash('md5').update(data).digest('hex');
  for (const chunk of [1000, 65536, 3 << 20]) {
    assert.equal(await hashInChunks(data, chunk, data.length), want, `chunk ${chunk}`);
  }
  assert.equal(await hashInChunks(data, 65536, 0), want, 'inline');
  assert.equal(await hashInChunks(Buffer.alloc(0), 1, OFFLOAD_MIN_BYTES), createHash('md5').digest('hex'), 'empty through a worker');
});

test('an abandoned hash does not leak into the next one', async () => {
  const data = randomBytes(OFFLOAD_MIN_BYTES);
  const h = md5Hasher(data.length);
  h.update(data.subarray(0, 5 << 20));
  h.abandon();
  assert.equal(await hashInChunks(data, 1 << 16, data.length), createHash('md5').update(data).digest('hex'));
});
