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
import type { Config } from '../../config.js';
import { err } from '../../errors.js';
import type { Db } from '../../infra/db/index.js';
import type { UploadsTable } from '../../infra/db/schema.js';
import { newId } from '../../infra/crypto/ids.js';
import { DiskStore } from '../../infra/objects/disk.js';
import type { ObjectStore } from '../../infra/objects/types.js';
import { storageKeyFor, validateFileName } from './keys.js';
import { UploadPublisher } from './publisher.js';
import { checkEventFileName, checkPurpose, type UploadPurpose } from './purpose.js';
import { UploadUpkeep } from './upkeep.js';
import { receiveStream } from './receive.js';
import { toUpload, type Dialect, type Upload, type UploadListener, type UploadStatus } from './types.js';

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
  /** What the file is for (purpose.ts); an audience file unless said otherwise. */
  purpose?: UploadPurpose;
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
  private readonly publisher: UploadPublisher;
  private readonly upkeep: UploadUpkeep;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly stores: ReadonlyMap<number, ObjectStore>,
    private readonly now: () => number = Date.now,
  ) {
    this.publisher = new UploadPublisher(db, config, now);
    this.upkeep = new UploadUpkeep(db, stores, this.publisher, now);
  }

  /** Listens for completed and refused uploads (inside the transaction that records them). */
  onEvent(l: UploadListener): void {
    this.publisher.onEvent(l);
  }

  /** Housekeeping, run periodically: see UploadUpkeep.sweep. */
  sweep() {
    return this.upkeep.sweep();
  }

  private refreshRemote(r: UploadsTable): Promise<UploadsTable> {
    return this.upkeep.refreshRemote(r);
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
    const purpose = checkPurpose(input.purpose);
    if (purpose === 'events') checkEventFileName(fileName);
    if (input.declaredMd5 !== undefined && !MD5_RE.test(input.declaredMd5)) {
      throw err('InvalidParameter', 'file_md5 must be 32 hexadecimal characters', 'file_md5');
    }
    if (input.declaredSize !== undefined) {
      if (!Number.isSafeInteger(input.declaredSize) || input.declaredSize < 0) throw err('InvalidParameter', 'size must be a non-negative integer', 'size');
      if (input.declaredSize > this.config.uploads.maxBytes) {
        throw err('TooLarge', `the file is ${input.declaredSize} bytes; at most ${this.config.uploads.maxBytes} are allowed`, 'size');
      }
    }
    // The object TTL travels in the metadata; publish reads it to set object_expires_at.
    const metadata = input.objectTtlSeconds === undefined ? input.metadata : { ...input.metadata, objectTtlSeconds: input.objectTtlSeconds };
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
      purpose,
      status: 'PENDING',
      write_open: 1,
      storage_key: key,
      data_path: `${input.scheme ?? 's3'}://${store.bucket}/${key}`,
      resource_url: null,
      media_id: input.withMediaId ? randomBytes(16).toString('hex') : null,
      error_code: null,
      error_message: null,
      metadata: metadata ? JSON.stringify(metadata) : null,
      expires_at: at + input.ttlSeconds * 1000,
      object_expires_at: null,
      created_at: at,
      updated_at: at,
      completed_at: null,
    };
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

  /** The account's upload stored at this key (RegisterMediaInfo, GetMediaInfo by InputURL, PAI's Uri). */
  async getByKey(accountId: string, clusterId: number, key: string): Promise<Upload> {
    const r = await this.db.selectFrom('uploads').selectAll().where('cluster_id', '=', clusterId).where('storage_key', '=', key).where('account_id', '=', accountId).executeTakeFirst();
    if (!r || r.status === 'DELETED') throw err('UploadNotFound', `no object of this account is stored at ${key}`, 'InputURL');
    return toUpload(await this.refreshRemote(r));
  }

  /** The account's upload handed out with this data_path (the Mintegral audience calls name their files so), or undefined. */
  async findByDataPath(accountId: string, dataPath: string): Promise<Upload | undefined> {
    const r = await this.db.selectFrom('uploads').selectAll().where('account_id', '=', accountId).where('data_path', '=', dataPath).where('status', '!=', 'DELETED').executeTakeFirst();
    return r ? toUpload(await this.refreshRemote(r)) : undefined;
  }

  /** The account's upload with this ResourceUrl (CreateUploadUrl), or undefined. */
  async findByResourceUrl(accountId: string, url: string): Promise<Upload | undefined> {
    const r = await this.db.selectFrom('uploads').selectAll().where('account_id', '=', accountId).where('resource_url', '=', url).where('status', '!=', 'DELETED').executeTakeFirst();
    return r ? toUpload(await this.refreshRemote(r)) : undefined;
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
    return (await this.byId(u.id))!;
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
    return toUpload(await this.db.updateTable('uploads').set({ write_open: 1, status, expires_at: at + ttlSeconds * 1000, updated_at: at }).where('id', '=', r.id).returningAll().executeTakeFirstOrThrow());
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
      throw await this.publisher.fail(u, err('SizeMismatch', `the body is ${o.expectedBytes} bytes but the declared size is ${u.declaredSize}`, 'size'));
    }
    if (u.status !== 'READY') await this.setStatus(u.id, 'UPLOADING');
    const tmp = await store.tempFile();
    try {
      // A refusal stops reading without destroying the request: destroying it
      // would reset the connection under the client's writes, and a client
      // still sending may then never read the refusal.
      const got = await receiveStream(source.iterator({ destroyOnReturn: false }), tmp.stream, this.publisher.limits(u, o));
      this.publisher.checkDigest(u, got.size, got.md5Hex, o.contentMd5Hex);
      await store.fsyncTemp(tmp.path);
      return await this.publisher.publish(u, got, () => store.publishTemp(tmp.path, u.storageKey));
    } catch (e) {
      tmp.stream.destroy();
      await store.discardTemp(tmp.path);
      throw await this.publisher.fail(u, e);
    }
  }

  private async setStatus(id: string, status: UploadStatus): Promise<void> {
    await this.db.updateTable('uploads').set({ status, updated_at: this.now() }).where('id', '=', id).where('status', '!=', 'READY').execute();
  }
}

