// Upkeep of uploads the service does not receive itself, and of records past
// their time. For stores the service does not stand in front of (s3),
// completion is learned by looking; credentials that expired unused and
// objects past their TTL are retired by the periodic sweep.
import { Writable } from 'node:stream';
import { AppError, err } from '../../errors.js';
import type { Db } from '../../infra/db/index.js';
import type { UploadsTable } from '../../infra/db/schema.js';
import { DiskStore } from '../../infra/objects/disk.js';
import type { ObjectStore } from '../../infra/objects/types.js';
import type { UploadPublisher } from './publisher.js';
import { receiveStream } from './receive.js';
import { toUpload } from './types.js';

export class UploadUpkeep {
  constructor(
    private readonly db: Db,
    private readonly stores: ReadonlyMap<number, ObjectStore>,
    private readonly publisher: UploadPublisher,
    private readonly now: () => number,
  ) {}

  private storeOf(clusterId: number): ObjectStore {
    const s = this.stores.get(clusterId);
    if (!s) throw err('UnknownCluster', `data cluster ${clusterId} is not configured`);
    return s;
  }

  /**
   * For stores the service does not stand in front of (s3), completion is
   * learned by looking: HEAD the key, compare its ETag with the declared MD5,
   * then read it once through the same content check as the embedded store.
   * A refused object is deleted.
   */
  async refreshRemote(r: UploadsTable): Promise<UploadsTable> {
    const store = this.stores.get(Number(r.cluster_id));
    if (!store || store instanceof DiskStore || Number(r.write_open) !== 1 || r.status === 'DELETED') return r;
    const u = toUpload(r);
    const info = await store.head(u.storageKey);
    if (!info) return r;
    try {
      if (info.md5Hex && u.declaredMd5 && info.md5Hex !== u.declaredMd5) {
        throw err('Md5Mismatch', `the stored object's MD5 is ${info.md5Hex} but ${u.declaredMd5} was declared`);
      }
      const got = await receiveStream(await store.get(u.storageKey), nullSink(), this.publisher.limits(u, { expectedBytes: info.size }));
      this.publisher.checkDigest(u, got.size, got.md5Hex);
      await this.publisher.publish(u, got, async () => undefined);
    } catch (e) {
      if (e instanceof AppError && e.code !== 'UploadAlreadyCompleted') {
        await store.delete(u.storageKey);
        await this.publisher.fail(u, e);
      } else if (!(e instanceof AppError)) throw e;
    }
    return (await this.db.selectFrom('uploads').selectAll().where('id', '=', r.id).executeTakeFirst())!;
  }

  /**
   * Housekeeping, run periodically: credentials that expired unused become
   * EXPIRED; objects past their TTL are deleted. Returns how many rows changed.
   */
  async sweep(): Promise<{ expired: number; objectsDeleted: number; remoteChecked: number }> {
    const at = this.now();
    const remoteClusters = [...this.stores].filter(([, s]) => !(s instanceof DiskStore)).map(([id]) => id);
    const remoteChecked = await this.pollRemote(at, remoteClusters);
    const stale = await this.db
      .updateTable('uploads')
      .set({ status: 'EXPIRED', write_open: 0, updated_at: at })
      // A body still arriving keeps its record open: the credential is checked
      // when the request starts, as S3 does. One stuck for a day is abandoned.
      // A remote store's upload is invisible until it completes, so it gets hours, not a minute.
      .where((eb) =>
        eb.and([
          eb.or([eb('status', 'in', ['PENDING', 'FAILED']), eb.and([eb('status', '=', 'UPLOADING'), eb('updated_at', '<', at - 86_400_000)])]),
          eb.or([
            eb.and([eb('cluster_id', 'not in', remoteClusters.length ? remoteClusters : [-1]), eb('expires_at', '<', at - 60_000)]),
            eb('expires_at', '<', at - REMOTE_GRACE_MS),
          ]),
        ]),
      )
      .executeTakeFirst();
    const due = await this.db.selectFrom('uploads').selectAll().where('status', '=', 'READY').where('object_expires_at', '<=', at).limit(1000).execute();
    for (const r of due) {
      await this.storeOf(Number(r.cluster_id)).delete(r.storage_key);
      await this.db.updateTable('uploads').set({ status: 'EXPIRED', updated_at: at }).where('id', '=', r.id).where('status', '=', 'READY').execute();
    }
    return { expired: Number(stale.numUpdatedRows), objectsDeleted: due.length, remoteChecked };
  }

  /** Looks at open uploads of remote stores (HEAD, then the content check) so that completion is noticed without a client asking. */
  private async pollRemote(at: number, clusters: number[]): Promise<number> {
    if (!clusters.length) return 0;
    const open = await this.db
      .selectFrom('uploads')
      .selectAll()
      .where('cluster_id', 'in', clusters)
      .where('write_open', '=', 1)
      .where('status', 'in', ['PENDING', 'UPLOADING', 'FAILED'])
      .where('expires_at', '>', at - REMOTE_GRACE_MS)
      .orderBy('updated_at')
      .limit(200)
      .execute();
    for (const r of open) await this.refreshRemote(r);
    return open.length;
  }
}

/** How long after its URL expires an upload to a remote store may still complete (a 5 GB PUT started just in time). */
const REMOTE_GRACE_MS = 6 * 3600_000;

function nullSink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
