// The write side of the upload lifecycle, shared by the embedded store (which
// receives bodies) and the remote-store upkeep (which finds them): the limits
// a body is checked against, the digest comparison, the atomic publish and
// the recording of a refusal, with the events both announce.
import type { Config } from '../../config.js';
import { AppError, err } from '../../errors.js';
import type { Db } from '../../infra/db/index.js';
import { transaction } from '../../infra/db/transaction.js';
import { contentRuleOf } from './purpose.js';
import type { ReceiveLimits, Received } from './receive.js';
import type { ReceiveOptions } from './service.js';
import { toUpload, type Upload, type UploadEvent, type UploadListener } from './types.js';

export class UploadPublisher {
  private listeners: UploadListener[] = [];

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly now: () => number,
  ) {}

  onEvent(l: UploadListener): void {
    this.listeners.push(l);
  }

  limits(u: Upload, o: ReceiveOptions): ReceiveLimits {
    return {
      maxBytes: Math.min(o.maxBytes ?? Infinity, this.config.uploads.maxBytes),
      minBytes: o.minBytes,
      expectedBytes: o.expectedBytes,
      atLeastBytes: o.atLeastBytes,
      beforeRead: o.beforeRead,
      gzipMaxRatio: this.config.uploads.gzipMaxRatio,
      gzipRatioFloorBytes: this.config.uploads.gzipRatioFloorBytes,
      content: contentRuleOf(u.purpose, u.fileName),
    };
  }

  checkDigest(u: Upload, size: number, md5Hex: string, contentMd5Hex?: string): void {
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
  async publish(u: Upload, got: { size: number; md5Hex: string; format: Received['format'] }, place: () => Promise<void>): Promise<Upload> {
    const at = this.now();
    const ttl = u.metadata.objectTtlSeconds;
    return transaction(this.db, async (tx) => {
      const row = await tx
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
        .returningAll()
        .executeTakeFirst();
      if (!row) throw err('UploadAlreadyCompleted', `upload ${u.id} has already received its file`);
      await place();
      const done = toUpload(row);
      await this.emit(tx, done, 'completed');
      return done;
    });
  }

  /**
   * Records a refused body on the upload and hands the error back. A record
   * that already holds a file (a refused replacement after a refresh) keeps
   * READY and its object; the refusal is still recorded and announced.
   */
  async fail(u: Upload, e: unknown): Promise<unknown> {
    if (!(e instanceof AppError) || e.code === 'UploadAlreadyCompleted') return e;
    const at = this.now();
    await transaction(this.db, async (tx) => {
      const r = await tx
        .updateTable('uploads')
        .set((eb) => ({
          status: eb.case().when('status', '=', 'READY').then('READY').else('FAILED').end(),
          error_code: e.code,
          error_message: e.message,
          updated_at: at,
        }))
        .where('id', '=', u.id)
        .where('write_open', '=', 1)
        .returningAll()
        .executeTakeFirst();
      if (!r) return;
      await this.emit(tx, toUpload(r), 'failed');
    });
    return e;
  }

  /**
   * Listeners run inside the transaction that records the event, so what they
   * write (a callback job) commits with it or not at all; the transaction is
   * opened through transaction() so that an enqueue wakes the runners once
   * it has committed.
   */
  private async emit(tx: Db, u: Upload, ev: UploadEvent): Promise<void> {
    for (const l of this.listeners) await l(u, ev, tx);
  }
}
