// GET /v1/uploads lists the account's uploads newest first, `limit` at a
// time; `next` is the cursor for `after`, and following it visits every
// upload exactly once. A cursor the service did not issue is refused naming
// `after`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { nativeApi, nativeCreate, putUrl } from './support/front-door.js';

let h: Harness;
const ids: string[] = [];
before(async () => {
  h = await startHarness();
  for (let i = 0; i < 7; i++) {
    // Some share a millisecond, some do not: the cursor must handle both.
    if (i % 3 === 0) h.clock.offsetMs += 5;
    ids.push((await nativeCreate(h, { file_name: `f${i}.txt` })).upload.id);
  }
});
after(() => h.close());

test('pages of 3 with after visit all 7 uploads once, newest first', async () => {
  const seen: any[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const r: any = await nativeApi(h, 'GET', `/v1/uploads?limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.items.length <= 3);
    seen.push(...r.body.items);
    after = r.body.next;
    pages++;
  } while (after);
  assert.equal(pages, 3);
  assert.deepEqual(seen.map((u) => u.id).sort(), [...ids].sort());
  assert.equal(new Set(seen.map((u) => u.id)).size, 7);
  // Newest first; uploads made in the same millisecond keep a stable order (by id).
  for (let i = 1; i < seen.length; i++) {
    const [a, b] = [seen[i - 1], seen[i]];
    assert.ok(a.created_at > b.created_at || (a.created_at === b.created_at && a.id > b.id), `${a.id} before ${b.id}`);
  }
  assert.ok(seen.slice(-3).some((u) => u.id === ids[0]), 'the first upload is among the oldest');
});

test('the last page has next: null', async () => {
  const r = await nativeApi(h, 'GET', '/v1/uploads?limit=7');
  assert.equal(r.body.items.length, 7);
  assert.equal(r.body.next, null);
});

test('status filters the list', async () => {
  const { upload, put } = await nativeCreate(h, { file_name: 'done.txt' });
  assert.equal((await putUrl(h, put.url, 'id\n')).status, 200);
  const ready = await nativeApi(h, 'GET', '/v1/uploads?status=READY');
  assert.deepEqual(ready.body.items.map((u: any) => u.id), [upload.id]);
  const pending = await nativeApi(h, 'GET', '/v1/uploads?status=PENDING&limit=500');
  assert.equal(pending.body.items.length, 7);
});

test('a cursor the service did not issue, or a bad limit, is refused naming the parameter', async () => {
  const bad = await nativeApi(h, 'GET', `/v1/uploads?after=${encodeURIComponent('not-a-cursor')}`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'after');
  const limit = await nativeApi(h, 'GET', '/v1/uploads?limit=0');
  assert.equal(limit.status, 400);
  assert.match(limit.body.error.message, /limit/);
});
