// The one upload lifecycle every protocol shares:
//   PENDING (credential issued) → UPLOADING (bytes arriving) → READY
//                                   ↘ FAILED (refused; the credential may retry until it expires)
//   PENDING/FAILED past expiry → EXPIRED; READY past its object TTL → EXPIRED (object deleted);
//   any → DELETED on request (object deleted).
// A credential accepts one file: the first complete, valid body wins and is
// published atomically; later writes get UploadAlreadyCompleted until a
// refresh (RefreshUploadMedia) opens the record for an overwrite.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import type { Config } from '../../config.js';
import { AppError, err } from '../../errors.js';
import type { Db } from '../../infra/db/index.js';
import type { UploadsTable } from '../../infra/db/schema.js';
import { newId } from '../../infra/crypto/ids.js';
import { DiskStore } from '../../infra/objects/disk.js';
import type { ObjectStore } from '../../infra/objects/types.js';
import { storageKeyFor, validateFileName } from './keys.js';
import { receiveStream, type ReceiveLimits } from './receive.js';
import { toUpload, type Dialect, type Upload, type UploadEvent, type UploadListener, type UploadStatus } from './types.js';

export interface CreateUploadInput {
  accountId: string;
  /** The access key the credential is issued to: revoking it stops the credential working. */
  keyId?: string;
  clusterId: number;
  dialect: Dialect;
  fileName: string;
  declaredMd5?: string;
  declaredSize?: number;
  ttlSeconds: number;
  /** Delete the object this long after it is uploaded (Tencent Cloud keeps data 2 hours). */
  objectTtlSeconds?: number;
  /** Scheme of the data_path handed back (`s3`, `oss`, `cos`). */
  scheme?: string;
  withMediaId?: boolean;
  metadata?: Record<string, unknown>;
}

export interface ReceiveOptions {
  expectedBytes?: number;
  /** Content-MD5 the request itself declared (hex), checked like the upload's declared MD5. */
  contentMd5Hex?: string;
  minBytes?: number;
  maxBytes?: number;
  /** The body is known to hold at least this many bytes of file (an OSS form's Content-Length tells): refused at once when over the limit. */
  atLeastBytes?: number;
  /** Called when the body is about to be read (the store sends `100 Continue` then). */
  beforeRead?: () => void;
}

export interface ListUploadsQuery {
  status?: UploadStatus;
  limit?: number;
  /** Opaque cursor from the previous page. */
  after?: string;
}

const MD5_RE = /^[0-9a-fA-F]{32}$/;

export class UploadService {
  private listeners: UploadListener[] = [];

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly stores: ReadonlyMap<number, ObjectStore>,
    private readonly now: () => number = Date.now,
  ) {}

  onEvent(l: UploadListener): void {
    this.listeners.push(l);
  }

  store(clusterId: number): ObjectStore {
    const s = this.stores.get(clusterId);
    if (!s) throw err('UnknownCluster', `data cluster ${clusterId} is not configured`, 'area_type');
    return s;
  }

  clusterOfBucket(bucket: string): number | undefined {
    for (const [id, s] of this.stores) if (s.bucket === bucket) return id;
    return undefined;
  }

  async create(input: CreateUploadInput): Promise<Upload> {
    const store = this.store(input.clusterId);
    const fileName = validateFileName(input.fileName);
    if (input.declaredMd5 !== undefined && !MD5_RE.test(input.declaredMd5)) {
      throw err('InvalidParameter', 'file_md5 must be 32 hexadecimal characters', 'file_md5');
    }
    if (input.declaredSize !== undefined) {
      if (!Number.isSafeInteger(input.declaredSize) || input.declaredSize < 0) throw err('InvalidParameter', 'size must be a non-negative integer', 'size');
      if (input.declaredSize > this.config.uploads.maxBytes) {
        throw err('TooLarge', `the file is ${input.declaredSize} bytes; at most ${this.config.uploads.maxBytes} are allowed`, 'size');
      }
    }
    const at = this.now();
    const id = newId('up');
    const key = storageKeyFor(input.accountId, id, fileName, new Date(at));
    const row: UploadsTable = {
      id,
      account_id: input.accountId,
      key_id: input.keyId ?? null,
      cluster_id: input.clusterId,
      dialect: input.dialect,
      file_name: fileName,
      declared_md5: input.declaredMd5?.toLowerCase() ?? null,
      declared_size: input.declaredSize ?? null,
      md5: null,
      size: null,
      content_type: null,
      status: 'PENDING',
      write_open: 1,
      storage_key: key,
      data_path: `${input.scheme ?? 's3'}://${store.bucket}/${key}`,
      resource_url: null,
      media_id: input.withMediaId ? randomBytes(16).toString('hex') : null,
      error_code: null,
      error_message: null,
      metadata: input.metadata ? JSON.stringify(input.metadata) : null,
      expires_at: at + input.ttlSeconds * 1000,
      object_expires_at: null,
      created_at: at,
      updated_at: at,
      completed_at: null,
    };
    if (input.objectTtlSeconds !== undefined) row.metadata = JSON.stringify({ ...(input.metadata ?? {}), objectTtlSeconds: input.objectTtlSeconds });
    await this.db.insertInto('uploads').values(row).execute();
    return toUpload(row);
  }

  async setResourceUrl(id: string, url: string): Promise<void> {
    await this.db.updateTable('uploads').set({ resource_url: url }).where('id', '=', id).execute();
  }

  private async row(accountId: string, id: string): Promise<UploadsTable> {
    const r = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
    if (!r || r.status === 'DELETED') throw err('UploadNotFound', `upload ${id} does not exist`, 'upload_id');
    return r;
  }

  async get(accountId: string, id: string): Promise<Upload> {
    return toUpload(await this.refreshRemote(await this.row(accountId, id)));
  }

  async getByMediaId(accountId: string, mediaId: string): Promise<Upload> {
    const r = await this.db.selectFrom('uploads').selectAll().where('media_id', '=', mediaId).where('account_id', '=', accountId).executeTakeFirst();
    if (!r || r.status === 'DELETED') throw err('UploadNotFound', `media ${mediaId} does not exist`, 'MediaId');
    return toUpload(await this.refreshRemote(r));
  }

  /** The account's upload stored at this key (RegisterMediaInfo, GetMediaInfo by InputURL). */
  async getByKey(accountId: string, clusterId: number, key: string, field = 'InputURL'): Promise<Upload> {
    const r = await this.db.selectFrom('uploads').selectAll().where('cluster_id', '=', clusterId).where('storage_key', '=', key).where('account_id', '=', accountId).executeTakeFirst();
    if (!r || r.status === 'DELETED') throw err('UploadNotFound', `no object of this account is stored at ${key}`, field);
    return toUpload(await this.refreshRemote(r));
  }

  /**
   * Gives a completed upload a media id (RegisterMediaInfo) unless it has one;
   * registering twice answers the same id. Only READY uploads can be registered.
   */
  async registerMedia(accountId: string, clusterId: number, key: string): Promise<Upload> {
    const u = await this.getByKey(accountId, clusterId, key);
    if (u.status !== 'READY') throw err('UploadNotReady', `the object at ${key} has not completed uploading (status ${u.status})`, 'InputURL');
    if (u.mediaId) return u;
    // Conditional on media_id still being empty, so two concurrent registrations agree on one id.
    await this.db.updateTable('uploads').set({ media_id: randomBytes(16).toString('hex'), updated_at: this.now() }).where('id', '=', u.id).where('media_id', 'is', null).execute();
    return toUpload((await this.db.selectFrom('uploads').selectAll().where('id', '=', u.id).executeTakeFirst())!);
  }

  /** Internal: the record an embedded-store request addresses (no account check: the signature scopes it). */
  async findByKey(clusterId: number, key: string): Promise<Upload | undefined> {
    const r = await this.db.selectFrom('uploads').selectAll().where('cluster_id', '=', clusterId).where('storage_key', '=', key).executeTakeFirst();
    return r ? toUpload(r) : undefined;
  }

  /** Internal lookup by id, without the account scope (callers authorize otherwise). */
  async byId(id: string): Promise<Upload | undefined> {
    const r = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toUpload(r) : undefined;
  }

  async list(accountId: string, q: ListUploadsQuery = {}): Promise<{ items: Upload[]; next: string | null }> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    let query = this.db.selectFrom('uploads').selectAll().where('account_id', '=', accountId).where('status', '!=', 'DELETED');
    if (q.status) query = query.where('status', '=', q.status);
    if (q.after) {
      const [at, id] = Buffer.from(q.after, 'base64url').toString().split('|');
      if (!at || !id || !/^\d+$/.test(at)) throw err('InvalidParameter', 'after is not a cursor this service issued', 'after');
      query = query.where((eb) => eb.or([eb('created_at', '<', Number(at)), eb.and([eb('created_at', '=', Number(at)), eb('id', '<', id)])]));
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next = rows.length > limit && last ? Buffer.from(`${last.created_at}|${last.id}`).toString('base64url') : null;
    return { items: page.map(toUpload), next };
  }

  async delete(accountId: string, id: string): Promise<void> {
    const r = await this.row(accountId, id);
    await this.store(Number(r.cluster_id)).delete(r.storage_key);
    await this.db.updateTable('uploads').set({ status: 'DELETED', write_open: 0, updated_at: this.now() }).where('id', '=', id).execute();
  }

  /** Opens a record for one more write (RefreshUploadMedia): the current object stays readable until a new one replaces it. */
  async reopen(accountId: string, id: string, ttlSeconds: number): Promise<Upload> {
    const r = await this.row(accountId, id);
    const at = this.now();
    // An expired record becomes PENDING again: it has a live credential now.
    const status = r.status === 'EXPIRED' ? 'PENDING' : r.status;
    await this.db.updateTable('uploads').set({ write_open: 1, status, expires_at: at + ttlSeconds * 1000, updated_at: at }).where('id', '=', r.id).execute();
    return toUpload((await this.db.selectFrom('uploads').selectAll().where('id', '=', r.id).executeTakeFirst())!);
  }

  /** Checks that a credential may still write to this upload: open, unexpired, and its key not revoked. */
  async assertWritable(u: Upload): Promise<void> {
    if (u.status === 'DELETED') throw err('UploadNotFound', `upload ${u.id} was deleted`);
    if (!u.acceptsWrites) throw err('UploadAlreadyCompleted', `upload ${u.id} has already received its file; ask for new upload credentials to send another`);
    if (Date.parse(u.expiresAt) <= this.now()) throw err('CredentialExpired', `the upload credential expired at ${u.expiresAt}`);
    if (u.keyId) {
      const key = await this.db.selectFrom('api_keys').select('status').where('id', '=', u.keyId).executeTakeFirst();
      if (key?.status !== 'active') throw err('CredentialExpired', `the access key ${u.keyId} that this upload credential was issued to has been revoked`);
    }
  }

  private limits(u: Upload, o: ReceiveOptions): ReceiveLimits {
    return {
      maxBytes: Math.min(o.maxBytes ?? Infinity, this.config.uploads.maxBytes),
      minBytes: o.minBytes,
      expectedBytes: o.expectedBytes,
      atLeastBytes: o.atLeastBytes,
      beforeRead: o.beforeRead,
      gzipMaxRatio: this.config.uploads.gzipMaxRatio,
      gzipRatioFloorBytes: this.config.uploads.gzipRatioFloorBytes,
    };
  }

  /**
   * Receives a file into the embedded (disk) store: stream to a temporary file
   * while checking, then publish atomically under the upload's key. On any
   * failure nothing of the body is kept.
   */
  async receive(u: Upload, source: AsyncIterable<Buffer> & Readable, o: ReceiveOptions = {}): Promise<Upload> {
    await this.assertWritable(u);
    const store = this.store(u.clusterId);
    if (!(store instanceof DiskStore)) throw err('InternalError', 'this cluster is not served by the embedded store');
    if (u.declaredSize !== null && o.expectedBytes !== undefined && o.expectedBytes !== u.declaredSize) {
      throw await this.fail(u, err('SizeMismatch', `the body is ${o.expectedBytes} bytes but the declared size is ${u.declaredSize}`, 'size'));
    }
    if (u.status !== 'READY') await this.setStatus(u.id, 'UPLOADING');
    const tmp = await store.tempFile();
    try {
      const got = await receiveStream(source, tmp.stream, this.limits(u, o));
      this.checkDigest(u, got.size, got.md5Hex, o.contentMd5Hex);
      await store.fsyncTemp(tmp.path);
      return await this.publish(u, got, () => store.publishTemp(tmp.path, u.storageKey));
    } catch (e) {
      tmp.stream.destroy();
      await store.discardTemp(tmp.path);
      throw await this.fail(u, e);
    }
  }

  private checkDigest(u: Upload, size: number, md5Hex: string, contentMd5Hex?: string): void {
    if (u.declaredSize !== null && size !== u.declaredSize) throw err('SizeMismatch', `the file is ${size} bytes but ${u.declaredSize} were declared`);
    if (u.declaredMd5 && md5Hex !== u.declaredMd5) throw err('Md5Mismatch', `the file's MD5 is ${md5Hex} but ${u.declaredMd5} was declared`);
    if (contentMd5Hex && md5Hex !== contentMd5Hex.toLowerCase()) throw err('Md5Mismatch', `the body's MD5 is ${md5Hex} but Content-MD5 says ${contentMd5Hex}`);
  }

  /**
   * The compare-and-set that makes one writer win: inside one transaction the
   * record is claimed (write_open 1 → 0) and only then is the object moved
   * into place. A crash before COMMIT leaves the record open (and any renamed
   * file unreferenced until the next write replaces it).
   */
  private async publish(u: Upload, got: { size: number; md5Hex: string; format: 'text' | 'gzip' }, place: () => Promise<void>): Promise<Upload> {
    const at = this.now();
    const ttl = u.metadata.objectTtlSeconds;
    const row = await this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('uploads')
        .set({
          status: 'READY',
          write_open: 0,
          md5: got.md5Hex,
          size: got.size,
          content_type: got.format,
          error_code: null,
          error_message: null,
          completed_at: at,
          updated_at: at,
          object_expires_at: typeof ttl === 'number' ? at + ttl * 1000 : null,
        })
        .where('id', '=', u.id)
        .where('write_open', '=', 1)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw err('UploadAlreadyCompleted', `upload ${u.id} has already received its file`);
      await place();
      const done = toUpload(await tx.selectFrom('uploads').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow());
      await this.emit(tx, done, 'completed');
      return done;
    });
    return row;
  }

  private async setStatus(id: string, status: UploadStatus): Promise<void> {
    await this.db.updateTable('uploads').set({ status, updated_at: this.now() }).where('id', '=', id).where('status', '!=', 'READY').execute();
  }

  /**
   * Records a refused body on the upload and hands the error back. A record
   * that already holds a file (a refused replacement after a refresh) keeps
   * READY and its object; the refusal is still recorded and announced.
   */
  private async fail(u: Upload, e: unknown): Promise<unknown> {
    if (!(e instanceof AppError) || e.code === 'UploadAlreadyCompleted') return e;
    const at = this.now();
    await this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('uploads')
        .set((eb) => ({
          status: eb.case().when('status', '=', 'READY').then('READY').else('FAILED').end(),
          error_code: e.code,
          error_message: e.message,
          updated_at: at,
        }))
        .where('id', '=', u.id)
        .where('write_open', '=', 1)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return;
      const r = await tx.selectFrom('uploads').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow();
      await this.emit(tx, toUpload(r), 'failed');
    });
    return e;
  }

  /**
   * Listeners run inside the transaction that records the event, so what they
   * write (a callback job) commits with it or not at all.
   */
  private async emit(tx: Db, u: Upload, ev: UploadEvent): Promise<void> {
    for (const l of this.listeners) await l(u, ev, tx);
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
      const got = await receiveStream(await store.get(u.storageKey), nullSink(), this.limits(u, { expectedBytes: info.size }));
      this.checkDigest(u, got.size, got.md5Hex);
      await this.publish(u, got, async () => undefined);
    } catch (e) {
      if (e instanceof AppError && e.code !== 'UploadAlreadyCompleted') {
        await store.delete(u.storageKey);
        await this.fail(u, e);
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
      await this.store(Number(r.cluster_id)).delete(r.storage_key);
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
