import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DictionaryStore } from './store.js';
import { group, tempFolder } from './store.fixtures.js';
import { NO_USER } from './users.js';

/** n fresh people, each with an MD5 and a SHA-256 key. */
function people(n: number): { md5: Buffer; sha: Buffer } {
  return { md5: randomBytes(16 * n), sha: randomBytes(32 * n) };
}

const md5Of = (p: { md5: Buffer }, i: number) => p.md5.subarray(16 * i, 16 * (i + 1));
const shaOf = (p: { sha: Buffer }, i: number) => p.sha.subarray(32 * i, 32 * (i + 1));

test('the keys of one line get one user, and each key alone finds it again', async (t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  const p = people(3);
  const r = store.resolve([group('phone_md5', 16, p.md5), group('phone_sha256', 32, p.sha)], 'open');
  assert.deepEqual(Array.from(r.users), [0, 1, 2]);
  assert.deepEqual({ matched: r.matched, added: r.added, unmatched: r.unmatched, conflicts: r.conflicts, newKeys: r.newKeys }, { matched: 0, added: 3, unmatched: 0, conflicts: 0, newKeys: 6 });
  assert.deepEqual(Array.from(store.resolve([group('phone_sha256', 32, p.sha)], 'closed').users), [0, 1, 2]);
  assert.deepEqual(Array.from(store.resolve([group('phone_md5', 16, p.md5)], 'closed').users), [0, 1, 2]);
});

test('closed mode counts matches and adds nothing; open mode adds the rest', async (t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  const known = people(4);
  store.resolve([group('phone_md5', 16, known.md5)], 'open');
  const fresh = people(3);
  // Lines: known 0, fresh 0, known 1, fresh 0 again, fresh 1, known 2 + fresh 2's key (a link).
  const batch = Buffer.concat([md5Of(known, 0), md5Of(fresh, 0), md5Of(known, 1), md5Of(fresh, 0), md5Of(fresh, 1), md5Of(known, 2)]);
  const sha = shaOf(fresh, 2);
  const input = [group('phone_md5', 16, batch), group('phone_sha256', 32, sha, [5])];

  const closed = store.resolve(input, 'closed');
  assert.deepEqual(Array.from(closed.users), [0, NO_USER, 1, NO_USER, NO_USER, 2]);
  assert.deepEqual([closed.matched, closed.added, closed.unmatched, closed.newKeys], [3, 0, 3, 0]);
  assert.equal(store.stats().users, 4);
  assert.equal(store.keysOf('phone_sha256', 32), undefined, 'closed mode creates no table');

  const open = store.resolve(input, 'open');
  // The repeated line matches the user its first occurrence created.
  assert.deepEqual(Array.from(open.users), [0, 4, 1, 4, 5, 2]);
  assert.deepEqual([open.matched, open.added, open.unmatched, open.newKeys], [4, 2, 0, 3]);
  assert.deepEqual(Array.from(store.resolve([group('phone_sha256', 32, sha)], 'closed').users), [2], 'the new key links to the known user');
});

test('a line whose keys are known under two users keeps the first and counts a conflict', async (t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  const p = people(3);
  store.resolve([group('phone_md5', 16, p.md5.subarray(0, 32))], 'open'); // users 0, 1
  store.resolve([group('phone_sha256', 32, shaOf(p, 1))], 'open'); // sha of person 1 → user 2 (no link yet)
  // One line: md5 of person 0 (user 0), sha of person 1 (user 2), md5 of person 2 (new).
  const r = store.resolve([group('phone_md5', 16, md5Of(p, 0), [0]), group('phone_sha256', 32, shaOf(p, 1), [0]), group('phone_md5', 16, md5Of(p, 2), [0])], 'open');
  assert.deepEqual(Array.from(r.users), [0]);
  assert.deepEqual([r.matched, r.conflicts, r.newKeys], [1, 1, 1]);
  assert.equal(store.resolve([group('phone_sha256', 32, shaOf(p, 1))], 'closed').users[0], 2, 'a known key is never relinked');
  assert.equal(store.resolve([group('phone_md5', 16, md5Of(p, 2))], 'closed').users[0], 0, 'an unknown key joins the kept user');
});

test('lines spread over groups with gaps: each key goes to its line, key-less lines stay unmatched', async (t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  const p = people(3);
  const r = store.resolve([group('phone_md5', 16, Buffer.concat([md5Of(p, 0), md5Of(p, 2)]), [0, 3]), group('phone_sha256', 32, Buffer.concat([shaOf(p, 0), shaOf(p, 1)]), [0, 1])], 'open', 5);
  assert.deepEqual(Array.from(r.users), [0, 1, NO_USER, 2, NO_USER]);
  assert.deepEqual([r.matched, r.added, r.unmatched], [0, 3, 2]);
  assert.throws(() => store.resolve([group('phone_md5', 16, p.md5.subarray(0, 32), [1, 0])], 'open'), /must not decrease/);
  assert.throws(() => store.resolve([group('../etc', 16, md5Of(p, 0))], 'open'), /must match/);
});
