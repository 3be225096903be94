// A crash is simulated by stopping a commit between its steps (appendPending
// writes and fsyncs the data, publish replaces the manifest) and reopening
// the folder, or by damaging the files as a crash or a disk would.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeManifest } from './files.js';
import { DictionaryStore } from './store.js';
import { committedOf, contentsOf, group, tempFolder } from './store.fixtures.js';

/** A committed dictionary, then more resolved on it (including a new table) and not committed. */
async function committedThenMore(t: TestContext): Promise<{ folder: string; store: DictionaryStore; later: Buffer }> {
  const folder = await tempFolder(t);
  const store = await DictionaryStore.open(folder);
  store.resolve([group('imei_md5', 16, randomBytes(16 * 1000)), group('imei_sha256', 32, randomBytes(32 * 1000))], 'open');
  await store.commit();
  const later = randomBytes(16 * 500);
  store.resolve([group('imei_md5', 16, later), group('oaid_md5', 16, randomBytes(16 * 500))], 'open');
  return { folder, store, later };
}

test('data appended but never published is cut off at open: the previous commit', async (t) => {
  const { folder, store, later } = await committedThenMore(t);
  const before = committedOf(store);
  await store.appendPending();
  assert.equal((await stat(join(folder, 'imei_md5.16.keys'))).size, 16 * 1500, 'the data did reach the file');

  const reopened = await DictionaryStore.open(folder);
  assert.deepEqual(contentsOf(reopened), before);
  assert.equal((await stat(join(folder, 'imei_md5.16.keys'))).size, 16 * 1000, 'cut back to the manifest');
  assert.equal((await stat(join(folder, 'imei_md5.16.users'))).size, 4 * 1000);
  assert.ok(!(await readdir(folder)).some((f) => f.startsWith('oaid_md5')), 'an unpublished table is removed');
  assert.equal(reopened.resolve([group('imei_md5', 16, later)], 'closed').unmatched, 500);

  // The reopened dictionary carries on: the same keys again, committed, reopened.
  reopened.resolve([group('imei_md5', 16, later)], 'open');
  await reopened.commit();
  assert.deepEqual(contentsOf(await DictionaryStore.open(folder)), contentsOf(reopened));
});

test('a torn manifest temp file is ignored and removed: the previous commit', async (t) => {
  const { folder, store } = await committedThenMore(t);
  const before = committedOf(store);
  const snapshot = await store.appendPending();
  const text = encodeManifest(snapshot);
  await writeFile(join(folder, 'manifest.json.tmp'), text.slice(0, text.length >> 1));

  const reopened = await DictionaryStore.open(folder);
  assert.deepEqual(contentsOf(reopened), before);
  assert.ok(!(await readdir(folder)).includes('manifest.json.tmp'));
});

test('once the manifest is renamed the new commit is what opens', async (t) => {
  const { folder, store } = await committedThenMore(t);
  const after = contentsOf(store);
  await store.publish(await store.appendPending());
  assert.deepEqual(contentsOf(await DictionaryStore.open(folder)), after);
});

test('a data file shorter than the manifest says is refused, naming the file', async (t) => {
  for (const name of ['imei_sha256.32.keys', 'imei_md5.16.users']) {
    const { folder, store } = await committedThenMore(t);
    await store.commit();
    const path = join(folder, name);
    await truncate(path, (await stat(path)).size - 1);
    await assert.rejects(DictionaryStore.open(folder), (e: Error) => e.name === 'DictionaryCorruptError' && e.message.includes(path) && /holds \d+ bytes, the manifest commits \d+/.test(e.message));
  }
});

test('a missing data file, a garbled manifest and an impossible user id are refused', async (t) => {
  const { folder } = await committedThenMore(t);
  const manifest = join(folder, 'manifest.json');
  const good = await readFile(manifest, 'utf8');

  await writeFile(manifest, good.replace('imei_sha256', 'gaid_md5'));
  await assert.rejects(DictionaryStore.open(folder), /gaid_md5\.32\.keys: missing, the manifest commits 32000 bytes/);

  await writeFile(manifest, good.slice(0, 20));
  await assert.rejects(DictionaryStore.open(folder), /manifest\.json: not valid JSON/);

  await writeFile(manifest, good.replace(/"users":\d+/, '"users":10'));
  await assert.rejects(DictionaryStore.open(folder), /imei_md5\.16\.users: holds user \d+, the manifest has handed out 10/);
});
