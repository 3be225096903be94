// Objects the service writes itself (audience bitmaps, inline id files,
// exports) and may stop needing: a row in object_trash says an object is to
// be deleted once its delete_after has passed, and housekeeping does it.
//
// Every such object goes through here twice, so that no crash leaves an
// object nobody will delete and no sweep deletes one still wanted:
// - intend(): before the object is put, a row holding it for `holdMs`; a
//   writer that dies leaves the row, and the object goes when the hold ends;
// - keep(): inside the transaction that starts referencing the object, the
//   row goes; it fails (so the transaction rolls back) when the hold already
//   ended and a sweep may have claimed the object;
// - discard(): inside the transaction that stops referencing an object, a
//   row that deletes it after a grace period (readers in flight finish).
// A sweep claims a due row (delete_after := 0) before deleting the object and
// removes the row after, so keep() and a sweep never both win.
import type { Db } from '../../infra/db/index.js';
import type { ObjectStore } from '../../infra/objects/types.js';

export class ObjectTrash {
  constructor(
    private readonly db: Db,
    private readonly stores: ReadonlyMap<number, ObjectStore>,
    private readonly now: () => number = Date.now,
  ) {}

  async intend(clusterId: number, key: string, reason: string, holdMs: number, tx: Db = this.db): Promise<void> {
    const at = this.now();
    await tx.insertInto('object_trash').values({ cluster_id: clusterId, object_key: key, delete_after: at + holdMs, reason, created_at: at }).execute();
  }

  /** The object is referenced from now on (call inside that transaction). Throws when its hold has run out. */
  async keep(tx: Db, clusterId: number, key: string): Promise<void> {
    const res = await tx.deleteFrom('object_trash').where('cluster_id', '=', clusterId).where('object_key', '=', key).where('delete_after', '>', this.now()).executeTakeFirst();
    if (Number(res.numDeletedRows) !== 1) throw new Error(`object ${key} is no longer held (its hold ran out before it was referenced)`);
  }

  /** The object is no longer referenced (call inside that transaction); deleted after `afterMs`. */
  async discard(tx: Db, clusterId: number, key: string, reason: string, afterMs = 0): Promise<void> {
    const at = this.now();
    const due = at + afterMs;
    const updated = await tx
      .updateTable('object_trash')
      .set({ delete_after: due, reason })
      .where('cluster_id', '=', clusterId)
      .where('object_key', '=', key)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) await tx.insertInto('object_trash').values({ cluster_id: clusterId, object_key: key, delete_after: due, reason, created_at: at }).execute();
  }

  /** Deletes the objects whose time has come; returns how many. */
  async sweep(limit = 500): Promise<number> {
    const at = this.now();
    const due = await this.db.selectFrom('object_trash').select(['id', 'cluster_id', 'object_key', 'delete_after']).where('delete_after', '<=', at).orderBy('delete_after').limit(limit).execute();
    let deleted = 0;
    for (const row of due) {
      const claimed = await this.db.updateTable('object_trash').set({ delete_after: 0 }).where('id', '=', row.id).where('delete_after', '=', row.delete_after).executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      const store = this.stores.get(Number(row.cluster_id));
      if (store) await store.delete(row.object_key);
      await this.db.deleteFrom('object_trash').where('id', '=', row.id).execute();
      deleted++;
    }
    return deleted;
  }
}
