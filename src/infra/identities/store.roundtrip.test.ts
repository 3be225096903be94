import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DictionaryStore } from './store.js';
import { contentsOf, group, tempFolder } from './store.fixtures.js';

const BATCH = 65_536;

/** Resolves person [from, to) of `md5`/`sha` in batches, one line per person with both keys. */
function ingest(store: DictionaryStore, md5: Buffer, sha: Buffer, from: number, to: number): Uint32Array {
  const users = new Uint32Array(to - from);
  for (let i = from; i < to; i += BATCH) {
    const c = Math.min(BATCH, to - i);
    const r = store.resolve([group('phone_md5', 16, md5.subarray(16 * i, 16 * (i + c))), group('phone_sha256', 32, sha.subarray(32 * i, 32 * (i + c)))], 'open');
    users.set(r.users, i - from);
  }
  return users;
}

function lookup(store: DictionaryStore, type: string, width: 16 | 32, keys: Buffer): Uint32Array {
  const n = keys.length / width;
  const users = new Uint32Array(n);
  for (let i = 0; i < n; i += BATCH) {
    const c = Math.min(BATCH, n - i);
    users.set(store.resolve([group(type, width, keys.subarray(width * i, width * (i + c)))], 'closed').users, i);
  }
  return users;
}

test('1 M keys of two linked types survive commit and reopen, and a second commit appends', async (t) => {
  const folder = await tempFolder(t);
  const people = 555_556; // 500,001 distinct people, 1,000,002 keys
  const md5 = randomBytes(16 * people);
  const sha = randomBytes(32 * people);
  // One line in ten repeats an earlier person, as files do.
  for (let i = 10; i < people; i += 10) {
    md5.copy(md5, 16 * i, 16 * (i >>> 1), 16 * ((i >>> 1) + 1));
    sha.copy(sha, 32 * i, 32 * (i >>> 1), 32 * ((i >>> 1) + 1));
  }
  const first = 400_000;
  const store = await DictionaryStore.open(folder);
  const users = ingest(store, md5, sha, 0, first);
  const distinct = first - Math.floor((first - 1) / 10);
  assert.equal(store.stats().users, distinct);
  const c1 = await store.commit();
  assert.equal(c1.keys, 2 * distinct);
  assert.equal((await stat(join(folder, 'phone_sha256.32.keys'))).size, 32 * distinct);
  assert.equal((await stat(join(folder, 'phone_sha256.32.users'))).size, 4 * distinct);

  const again = await DictionaryStore.open(folder);
  assert.deepEqual(contentsOf(again), contentsOf(store));
  assert.deepEqual(lookup(again, 'phone_md5', 16, md5.subarray(0, 16 * first)), users);
  assert.deepEqual(lookup(again, 'phone_sha256', 32, sha.subarray(0, 32 * first)), users, 'the SHA-256 keys point at the same users');

  // The rest on the reopened store: only the new entries are written.
  const rest = ingest(again, md5, sha, first, people);
  const c2 = await again.commit();
  assert.equal(c2.keys, 2 * (again.stats().users - distinct));
  const third = await DictionaryStore.open(folder);
  assert.deepEqual(contentsOf(third), contentsOf(again));
  assert.equal(third.stats().tables.reduce((s, x) => s + x.keys, 0), 2 * third.stats().users);
  const all = new Uint32Array(people);
  all.set(users);
  all.set(rest, first);
  assert.deepEqual(lookup(third, 'phone_sha256', 32, sha), all);
  assert.deepEqual(lookup(third, 'phone_md5', 16, md5), all);
});

test('a commit with nothing new rewrites only the manifest', async (t) => {
  const folder = await tempFolder(t);
  const store = await DictionaryStore.open(folder);
  store.resolve([group('idfa_md5', 16, randomBytes(16 * 10))], 'open');
  await store.commit();
  assert.deepEqual(await store.commit(), { keys: 0, bytes: 0 });
  assert.deepEqual(contentsOf(await DictionaryStore.open(folder)), contentsOf(store));
});
