import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fromIds } from '../bitmaps/index.js';
import { EXPORT_CHUNK, exportEmbeddedKeys } from './export.js';
import { DictionaryStore } from './store.js';
import { group, tempFolder } from './store.fixtures.js';

const keyAt = (keys: Uint8Array, width: number, i: number) => Buffer.from(keys.subarray(i * width, (i + 1) * width));

test('export yields the keys of the members, in key id order, in chunks of whole keys', async (t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  const n = 150_000;
  const md5 = randomBytes(16 * n);
  const sha = randomBytes(32 * n);
  // Users 0 .. n-1, one per line, each with an MD5 and a SHA-256 key.
  store.resolve([group('phone_md5', 16, md5), group('phone_sha256', 32, sha)], 'open');
  const memberIds = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 1);
  const members = fromIds(Uint32Array.from([...memberIds, n + 10]));

  for (const [type, width, keys] of [['phone_md5', 16, md5], ['phone_sha256', 32, sha]] as const) {
    const chunks: Uint8Array[] = [];
    for await (const c of store.exportKeys(type, width, members)) chunks.push(c);
    assert.ok(chunks.length >= 2);
    for (const c of chunks.slice(0, -1)) assert.equal(c.length, EXPORT_CHUNK * width, 'every chunk but the last is full');
    assert.ok(chunks[chunks.length - 1].length > 0);
    const all = Buffer.concat(chunks);
    assert.equal(all.length, memberIds.length * width);
    assert.ok(all.equals(Buffer.concat(memberIds.map((i) => keyAt(keys, width, i)))), `${type}: the members' keys in id order`);
  }
});

test('export of no members, an unknown type or another width yields nothing', async (t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  store.resolve([group('phone_md5', 16, randomBytes(16 * 10))], 'open');
  const count = async (it: AsyncIterable<Uint8Array>) => {
    let bytes = 0;
    for await (const c of it) bytes += c.length;
    return bytes;
  };
  assert.equal(await count(exportEmbeddedKeys(store, 'phone_md5', 16, fromIds(new Uint32Array(0)))), 0);
  assert.equal(await count(exportEmbeddedKeys(store, 'idfa_md5', 16, fromIds(Uint32Array.from([1, 2])))), 0);
  assert.equal(await count(exportEmbeddedKeys(store, 'phone_md5', 32, fromIds(Uint32Array.from([1, 2])))), 0);
  assert.equal(await count(exportEmbeddedKeys(store, 'phone_md5', 16, fromIds(Uint32Array.from([1, 2, 99])))), 32);
});

test('export yields to the event loop between spans, and keys added meanwhile are left out', async (t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  const n = 4 * EXPORT_CHUNK;
  const md5 = randomBytes(16 * n);
  store.resolve([group('phone_md5', 16, md5)], 'open');
  // Every user but the first; a key linked to user 5 arrives mid-export.
  const members = fromIds(Uint32Array.from({ length: n - 1 }, (_, i) => i + 1));
  let turns = 0;
  let spinning = true;
  const spin = () => {
    turns++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  const late = randomBytes(16);
  let bytes = 0;
  let first = true;
  for await (const c of store.exportKeys('phone_md5', 16, members)) {
    bytes += c.length;
    if (first) {
      first = false;
      store.resolve([group('phone_md5', 16, Buffer.concat([keyAt(md5, 16, 5), late]), [0, 0])], 'open');
      assert.equal(store.resolve([group('phone_md5', 16, late)], 'closed').users[0], 5);
    }
  }
  spinning = false;
  assert.equal(bytes, (n - 1) * 16, 'the late key is not exported');
  assert.ok(turns >= 3, `the loop turned ${turns} times during the export`);
});
