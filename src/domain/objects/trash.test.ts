// The trash's promises: an object held for a writer is deleted only once its
// hold has run out; a writer whose hold ran out cannot start referencing it;
// a discarded object goes after its grace period and not before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { openSqlite } from '../../infra/db/index.js';
import type { ObjectInfo, ObjectStore } from '../../infra/objects/types.js';
import { ObjectTrash } from './trash.js';

class MemoryStore implements ObjectStore {
  readonly kind = 'disk' as const;
  readonly bucket = 'mem';
  readonly objects = new Set<string>();
  async put(key: string): Promise<ObjectInfo> {
    this.objects.add(key);
    return { size: 0, lastModified: new Date() };
  }
  async get(): Promise<Readable> {
    throw new Error('unused');
  }
  async head(): Promise<ObjectInfo | null> {
    return null;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async presignPut(): Promise<string> {
    return '';
  }
  async presignGet(): Promise<string> {
    return '';
  }
}

test('held, kept, discarded: the trash deletes exactly what nobody references, when its time comes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ah-trash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = await openSqlite(dir);
  t.after(() => db.destroy());
  let clock = 1_000_000;
  const store = new MemoryStore();
  const trash = new ObjectTrash(db, new Map([[1, store]]), () => clock);

  // A writer that dies after putting: the object goes when the hold ends, not before.
  await trash.intend(1, 'orphan', 'test', 1000);
  await store.put('orphan');
  clock += 999;
  assert.equal(await trash.sweep(), 0);
  assert.ok(store.objects.has('orphan'));
  clock += 2;
  assert.equal(await trash.sweep(), 1);
  assert.ok(!store.objects.has('orphan'));

  // A writer that commits in time keeps its object for good.
  await trash.intend(1, 'kept', 'test', 1000);
  await store.put('kept');
  await db.transaction().execute((tx) => trash.keep(tx, 1, 'kept'));
  clock += 10_000;
  assert.equal(await trash.sweep(), 0);
  assert.ok(store.objects.has('kept'));

  // A writer too late cannot reference its object: its transaction fails.
  await trash.intend(1, 'late', 'test', 1000);
  clock += 1001;
  await assert.rejects(db.transaction().execute((tx) => trash.keep(tx, 1, 'late')), /no longer held/);

  // A discarded object lives through its grace period.
  await db.transaction().execute((tx) => trash.discard(tx, 1, 'kept', 'retired', 500));
  clock += 499;
  await trash.sweep();
  assert.ok(store.objects.has('kept'));
  clock += 2;
  await trash.sweep();
  assert.ok(!store.objects.has('kept'));
  assert.equal((await db.selectFrom('object_trash').selectAll().execute()).length, 0);
});
