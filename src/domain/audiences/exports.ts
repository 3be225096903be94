// Export of an audience version as a gzip file of hashed ids, one lowercase
// hex id per line, in a chosen hashed id type, written to the audience's
// object store and handed out through a time-limited download link. Only
// hashed types can be exported: raw ids are never stored. A user whose ids
// were never seen in that type has no line (an audience uploaded as IMEI MD5
// exports nothing as phone MD5); a user with several keys of the type has
// one line per key.
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { err, isAppError } from '../../errors.js';
import { newId } from '../../infra/crypto/ids.js';
import { transaction } from '../../infra/db/transaction.js';
import type { KeyWidth } from '../../infra/identities/index.js';
import type { JobContext } from '../../worker/jobs.js';
import { JOB_KINDS } from '../../worker/catalog.js';
import { ID_TYPE_NAMES, lookupIdType } from '../identities/index.js';
import type { BuilderDeps } from './build.js';
import type { AudienceService } from './service.js';
import { toExport, type AudienceExport } from './types.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The builder's collaborators, with the audience service in place of the uploads. */
export type ExportDeps = Omit<BuilderDeps, 'uploads'> & { audiences: AudienceService };

export function exportableTypes(): string[] {
  return ID_TYPE_NAMES.filter((n) => lookupIdType(n)!.kind === 'hashed');
}

function widthOf(idType: string): KeyWidth {
  const entry = lookupIdType(idType);
  if (!entry || entry.kind !== 'hashed') {
    throw err('InvalidParameter', `${idType} cannot be exported: raw ids are never stored; choose a hashed type (${exportableTypes().slice(0, 6).join(', ')}, …)`, 'id_type');
  }
  return (entry.hexLengths[0] / 2) as KeyWidth;
}

export class AudienceExports {
  constructor(private readonly d: ExportDeps) {}

  async create(accountId: string, audienceId: number, idType: string, atVersion?: number): Promise<AudienceExport> {
    widthOf(idType);
    const { audience, version } = await this.d.audiences.version(accountId, audienceId, atVersion);
    const at = this.d.now();
    const id = newId('ex');
    const row = {
      id,
      account_id: accountId,
      audience_id: audience.id,
      version: version.version,
      cluster_id: audience.clusterId,
      id_type: idType,
      status: 'PENDING',
      error_code: null,
      error_message: null,
      object_key: `exports/${accountId}/${id}.txt.gz`,
      lines: null,
      bytes: null,
      job_id: null as number | null,
      created_at: at,
      finished_at: null,
      expires_at: at + this.d.config.audiences.exportTtlSeconds * 1000,
    };
    await transaction(this.d.db, async (tx) => {
      await tx.insertInto('audience_exports').values(row).execute();
      row.job_id = await this.d.jobs.enqueue('audience-export', { exportId: id }, { maxAttempts: 3, tx, accountId, subject: `audience:${audience.id}` });
      await tx.updateTable('audience_exports').set({ job_id: row.job_id }).where('id', '=', id).execute();
    });
    return toExport(row);
  }

  async get(accountId: string, id: string): Promise<AudienceExport & { url: string | null }> {
    const r = await this.d.db.selectFrom('audience_exports').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
    if (!r) throw err('ExportNotFound', `export ${id} does not exist in this account`, 'export_id');
    const e = toExport(r);
    const left = Math.floor((Number(r.expires_at) - this.d.now()) / 1000);
    if (e.status === 'SUCCESS' && left <= 0) return { ...e, status: 'EXPIRED' as never, url: null };
    const url = e.status === 'SUCCESS' ? await this.d.stores.get(e.clusterId)!.presignGet(e.objectKey, Math.min(left, 3600)) : null;
    return { ...e, url };
  }

  async run(exportId: string, ctx: JobContext): Promise<void> {
    const { db } = this.d;
    const r = await db.selectFrom('audience_exports').selectAll().where('id', '=', exportId).executeTakeFirst();
    if (!r || r.status === 'SUCCESS' || r.status === 'ERROR') return;
    await db.updateTable('audience_exports').set({ status: 'PROCESSING' }).where('id', '=', exportId).execute();
    const clusterId = Number(r.cluster_id);
    let bitmapKey: string;
    try {
      const v = await this.d.audiences.version(r.account_id, Number(r.audience_id), Number(r.version));
      bitmapKey = v.version.bitmapKey;
    } catch (e) {
      if (!isAppError(e)) throw e;
      await this.finish(exportId, { status: 'ERROR', error_code: e.code, error_message: `the audience version to export is gone: ${e.message}` }, ctx);
      return;
    }
    const bitmap = await this.d.bitmaps.load(clusterId, bitmapKey);
    const width = widthOf(r.id_type);
    const store = this.d.stores.get(clusterId)!;
    await this.d.trash.intend(clusterId, r.object_key, `export ${exportId} being written`, JOB_KINDS['audience-export'].timeoutMs + 3_600_000);
    let lines = 0;
    const text = new PassThrough({ highWaterMark: 1 << 20 });
    const gzip = createGzip({ chunkSize: 1 << 20 });
    const produce = (async () => {
      for await (const chunk of this.d.dictionary.exportKeys(r.id_type, width, bitmap)) {
        const n = chunk.length / width;
        const out = Buffer.allocUnsafe(n * (width * 2 + 1));
        let o = 0;
        for (let k = 0; k < n; k++) {
          for (let b = k * width, e = b + width; b < e; b++) {
            const h = HEX[chunk[b]];
            out[o++] = h.charCodeAt(0);
            out[o++] = h.charCodeAt(1);
          }
          out[o++] = 0x0a;
        }
        lines += n;
        ctx.progress({ stage: 'export', lines });
        if (!text.write(out)) await new Promise((res) => text.once('drain', res));
      }
      text.end();
    })();
    const compressed = new PassThrough();
    const put = store.put(r.object_key, compressed, { contentType: 'application/gzip' });
    await Promise.all([produce, pipeline(text, gzip, compressed), put]);
    const info = await put;
    await this.finish(exportId, { status: 'SUCCESS', lines, bytes: info.size, error_code: null, error_message: null }, ctx, { clusterId, key: r.object_key, expiresAt: Number(r.expires_at) });
  }

  async giveUp(exportId: string, error: string): Promise<void> {
    await this.finish(exportId, { status: 'ERROR', error_code: 'InternalError', error_message: `the export failed after every retry; last error: ${error}` }, undefined);
  }

  private async finish(
    exportId: string,
    set: { status: string; lines?: number; bytes?: number; error_code: string | null; error_message: string | null },
    ctx: JobContext | undefined,
    object?: { clusterId: number; key: string; expiresAt: number },
  ): Promise<void> {
    await transaction(this.d.db, async (tx) => {
      if (ctx) await ctx.assertHeld(tx);
      await tx.updateTable('audience_exports').set({ ...set, finished_at: this.d.now() }).where('id', '=', exportId).execute();
      // The file lives until the export expires; the trash row deletes it then.
      if (object) await this.d.trash.discard(tx, object.clusterId, object.key, `export ${exportId} expired`, Math.max(0, object.expiresAt - this.d.now()));
    });
  }
}
