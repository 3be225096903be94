// The job that works one audience change: read the inputs (files through the
// ingest pipeline, or other audiences for a COMBINE), compute the new set,
// and publish it as the audience's next version.
//
// Publishing follows DESIGN.md's rule, new object first and then one
// transaction, so a crash at any point leaves the old version or the new one:
//   1. the dictionary commits, so the user ids in the bitmap are durable;
//   2. a trash row holds the new object's key (a crash after this leaves a
//      row that deletes the orphan when its hold runs out);
//   3. the bitmap object is put under a key never used before;
//   4. one transaction checks that this attempt still holds the job's lease
//      and that the audience still exists, adds the version, points the
//      audience at it, releases the trash row, retires versions past the
//      number kept, finishes the change and enqueues the next one.
// A failure that retrying cannot fix (a file with no valid line, an input
// audience deleted meanwhile) finishes the change as ERROR at once; anything
// else (the store unreachable) throws, and the job retries with backoff until
// its attempts run out, when giveUp records the last error on the change.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { resolveModeOf, type Config } from '../../config.js';
import { err, isAppError, type AppError } from '../../errors.js';
import { andNot, empty, or, orMany, type Bitmap, type ReadonlyBitmap } from '../../infra/bitmaps/index.js';
import type { Db } from '../../infra/db/index.js';
import { transaction } from '../../infra/db/transaction.js';
import type { IdentityDictionary } from '../../infra/identities/index.js';
import type { ObjectStore } from '../../infra/objects/types.js';
import type { JobQueue, JobContext } from '../../worker/jobs.js';
import { JOB_KINDS } from '../../worker/catalog.js';
import { IngestError, ingestFile } from '../ingest/ingest-file.js';
import type { CsvOptions } from '../ingest/csv.js';
import type { DetectHint } from '../identities/index.js';
import type { RuleSpec } from '../rules/types.js';
import type { ObjectTrash } from '../objects/trash.js';
import type { UploadService } from '../uploads/service.js';
import type { EventStore } from '../../infra/events/types.js';
import { compileRule } from '../rules/compile.js';
import type { BitmapCache } from './bitmaps.js';
import { evaluateCurrent, validateCombine } from './combine.js';
import { enqueueChange } from './service.js';
import { ownsObject, toAudience, toChange, type AudienceError, type Change, type ChangeInputs, type CsvSpec, type FileInput, type FileReport } from './types.js';

export interface BuilderDeps {
  db: Db;
  config: Config;
  stores: ReadonlyMap<number, ObjectStore>;
  uploads: UploadService;
  jobs: JobQueue;
  trash: ObjectTrash;
  bitmaps: BitmapCache;
  dictionary: IdentityDictionary;
  /** Where rule audiences read behaviour data; absent in a process that has none. */
  events?: EventStore;
  now: () => number;
}

type Outcome = { ok: true; bitmap: Bitmap; reports: FileReport[] } | { ok: false; error: AudienceError; reports: FileReport[] };

export class AudienceBuilder {
  constructor(private readonly d: BuilderDeps) {}

  async run(changeId: number, ctx: JobContext): Promise<void> {
    const { db } = this.d;
    const row = await db.selectFrom('audience_changes').selectAll().where('id', '=', changeId).executeTakeFirst();
    if (!row || row.status === 'SUCCESS' || row.status === 'ERROR') return;
    const audRow = await db.selectFrom('audiences').selectAll().where('id', '=', row.audience_id).executeTakeFirst();
    if (!audRow) return;
    const change = toChange(row);
    const audience = toAudience(audRow);
    const at = this.d.now();
    await transaction(db, async (tx) => {
      await ctx.assertHeld(tx);
      await tx.updateTable('audience_changes').set({ status: 'PROCESSING', started_at: row.started_at ?? at }).where('id', '=', changeId).execute();
      if (audience.version === 0) await tx.updateTable('audiences').set({ status: 'PROCESSING', updated_at: at }).where('id', '=', audience.id).execute();
    });

    const outcome = await this.compute(change, audience.accountId, audience.id, audience.clusterId, ctx);
    if (!outcome.ok) {
      await this.finishWithError(change, outcome.error, outcome.reports, ctx);
      return;
    }
    ctx.progress({ stage: 'commit' });
    await this.d.dictionary.commit();
    const key = `audiences/${audience.accountId}/${audience.id}/v-${changeId}-${ctx.attempt}-${randomBytes(6).toString('hex')}.roaring`;
    await this.d.trash.intend(audience.clusterId, key, `bitmap of change ${changeId} being written`, JOB_KINDS['audience-change'].timeoutMs + 3_600_000);
    await this.d.bitmaps.save(audience.clusterId, key, outcome.bitmap);
    const size = outcome.bitmap.size;
    await transaction(db, async (tx) => {
      await ctx.assertHeld(tx);
      const current = await tx.selectFrom('audiences').select(['version']).where('id', '=', audience.id).executeTakeFirst();
      if (!current) {
        // Deleted while this change ran: the new object goes with it.
        await this.d.trash.discard(tx, audience.clusterId, key, `audience ${audience.id} deleted while change ${changeId} ran`);
        return;
      }
      const version = Number(current.version) + 1;
      const now = this.d.now();
      await tx.insertInto('audience_versions').values({ audience_id: audience.id, version, cluster_id: audience.clusterId, bitmap_key: key, size, change_id: changeId, created_at: now, retired_at: null }).execute();
      await tx
        .updateTable('audiences')
        .set({ version, size, bitmap_key: key, status: 'SUCCESS', error_code: null, error_message: null, updated_at: now })
        .where('id', '=', audience.id)
        .execute();
      await this.d.trash.keep(tx, audience.clusterId, key);
      await this.retire(tx, audience.id, version);
      await tx
        .updateTable('audience_changes')
        .set({ status: 'SUCCESS', version, size, reports: JSON.stringify(outcome.reports), finished_at: now })
        .where('id', '=', changeId)
        .execute();
      await this.afterChange(tx, change, audience.accountId, audience.clusterId);
    });
  }

  /** The job ran out of attempts: the change ends in ERROR with the last error, and the next change may start. */
  async giveUp(changeId: number, error: string): Promise<void> {
    const row = await this.d.db.selectFrom('audience_changes').selectAll().where('id', '=', changeId).executeTakeFirst();
    if (!row || row.status === 'SUCCESS' || row.status === 'ERROR') return;
    const message = `processing failed after every retry; last error: ${error}. The service's log has the details; make the change again once the cause is fixed.`;
    await this.finishWithError(toChange(row), { code: 'InternalError', message }, row.reports ? JSON.parse(row.reports) : [], undefined);
  }

  private async compute(change: Change, accountId: string, audienceId: number, clusterId: number, ctx: JobContext): Promise<Outcome> {
    const inputs: ChangeInputs = change.inputs;
    if ('combine' in inputs) {
      try {
        const checked = await validateCombine(this.d.db, accountId, inputs.combine, { self: audienceId, clusterId });
        ctx.progress({ stage: 'combine', inputs: checked.ids.length });
        return { ok: true, bitmap: await evaluateCurrent(checked, this.d.bitmaps), reports: [] };
      } catch (e) {
        if (isAppError(e)) return { ok: false, error: errorOf(e), reports: [] };
        throw e;
      }
    }
    if ('rule' in inputs) return this.computeRule(inputs.rule, accountId, ctx);
    const reports: FileReport[] = [];
    const parts: Bitmap[] = [];
    const files = inputs.files;
    for (let i = 0; i < files.length; i++) {
      ctx.signal.throwIfAborted();
      const f = files[i];
      const base = { index: i, uploadId: f.kind === 'upload' ? f.uploadId : null, idType: f.idType };
      try {
        const result = await this.ingestOne(f, accountId, clusterId, (bytes) => ctx.progress({ stage: 'ingest', file: i + 1, files: files.length, bytes }));
        reports.push({ ...base, status: 'SUCCESS', error: null, report: result.report });
        parts.push(result.set);
      } catch (e) {
        if (!isAppError(e)) throw e;
        const error = errorOf(e, `files[${i}]`);
        reports.push({ ...base, status: 'ERROR', error, report: e instanceof IngestError ? e.report : null });
        const which = files.length > 1 ? `file ${i + 1} of ${files.length} (${describeInput(f)}): ` : '';
        return { ok: false, error: { ...error, message: which + error.message }, reports };
      }
    }
    const incoming = parts.length === 1 ? parts[0] : orMany(parts);
    ctx.progress({ stage: 'apply', operation: change.operation });
    const op = change.operation;
    if (op === 'create' || op === 'replace') return { ok: true, bitmap: incoming, reports };
    const current = await this.currentBitmap(audienceId, clusterId);
    return { ok: true, bitmap: op === 'append' ? or(current, incoming) : andNot(current, incoming), reports };
  }

  /**
   * A rule audience: its rule compiled for the event store in use, relative
   * to now, and run; the users it returns are the new version. A rule that
   * cannot be compiled is the audience's error, not a reason to retry.
   */
  private async computeRule(rule: RuleSpec, accountId: string, ctx: JobContext): Promise<Outcome> {
    ctx.progress({ stage: 'rule', type: rule.type });
    try {
      return { ok: true, bitmap: await runRule(this.d.events, this.d.config, accountId, rule, this.d.now()), reports: [] };
    } catch (e) {
      // A rule that cannot be compiled or run here is the audience's error, not a reason to retry.
      if (isAppError(e)) return { ok: false, error: errorOf(e, 'rule'), reports: [] };
      throw e;
    }
  }

  private async currentBitmap(audienceId: number, clusterId: number): Promise<ReadonlyBitmap> {
    const a = await this.d.db.selectFrom('audiences').select(['bitmap_key']).where('id', '=', audienceId).executeTakeFirst();
    return a?.bitmap_key ? this.d.bitmaps.load(clusterId, a.bitmap_key) : empty();
  }

  private async ingestOne(f: FileInput, accountId: string, clusterId: number, progress: (bytes: number) => void) {
    const store = this.d.stores.get(clusterId)!;
    let key: string;
    if (f.kind === 'upload') {
      const up = await this.d.uploads.get(accountId, f.uploadId);
      if (up.status !== 'READY') throw err('UploadNotReady', `upload ${up.id} is ${up.status} now (deleted or expired since the change was made); upload the file again`, 'upload_id');
      key = up.storageKey;
    } else key = f.objectKey;
    const csv = csvOptions(f.kind === 'inline' ? undefined : f.csv);
    const dictionary = this.d.dictionary;
    const body = await openForIngest(store, key, () => err('UploadNotReady', `the file of ${describeInput(f)} is no longer in the store (deleted or expired); upload it again`, 'upload_id'));
    let bytes = 0;
    let last = 0;
    const counted = (async function* () {
      for await (const chunk of body) {
        bytes += (chunk as Buffer).length;
        if (bytes - last >= 64 << 20) {
          last = bytes;
          progress(bytes);
          // Make the keys resolved so far durable while the file is still
          // being read: the writes and fsyncs run on libuv's pool, so by the
          // end only the tail is left (a 30 M-line file appends 600 MB).
          // They are real keys whatever becomes of this change; a failure
          // here resurfaces in the commit that publishes the version.
          void dictionary.commit().catch(() => undefined);
        }
        yield chunk as Buffer;
      }
    })();
    const mode = resolveModeOf(this.d.config, accountId);
    const detectHint = f.kind === 'inline' ? undefined : (f.detectHint as DetectHint | undefined);
    return ingestFile({ source: counted, idType: f.idType, detectHint, csv, dictionary: this.d.dictionary, mode });
  }

  private async finishWithError(change: Change, error: AudienceError, reports: FileReport[], ctx: JobContext | undefined): Promise<void> {
    await transaction(this.d.db, async (tx) => {
      if (ctx) await ctx.assertHeld(tx);
      const now = this.d.now();
      await tx
        .updateTable('audience_changes')
        .set({ status: 'ERROR', error_code: error.code, error_message: error.field ? `${error.message} (${error.field})` : error.message, reports: JSON.stringify(reports), finished_at: now })
        .where('id', '=', change.id)
        .execute();
      const aud = await tx.selectFrom('audiences').select(['version', 'account_id', 'cluster_id']).where('id', '=', change.audienceId).executeTakeFirst();
      if (!aud) return;
      // An audience with a version keeps it (and SUCCESS); one without has failed to be made.
      if (Number(aud.version) === 0) {
        await tx.updateTable('audiences').set({ status: 'ERROR', error_code: error.code, error_message: error.message, updated_at: now }).where('id', '=', change.audienceId).execute();
      } else {
        await tx.updateTable('audiences').set({ status: 'SUCCESS', updated_at: now }).where('id', '=', change.audienceId).execute();
      }
      await this.afterChange(tx, change, aud.account_id, Number(aud.cluster_id));
    });
  }

  /** Inside the finishing transaction: the change's own objects (inline ids, staged files) go, and the next change of the audience gets its job. */
  private async afterChange(tx: Db, change: Change, accountId: string, clusterId: number): Promise<void> {
    if ('files' in change.inputs) {
      for (const f of change.inputs.files) if (ownsObject(f)) await this.d.trash.discard(tx, clusterId, f.objectKey, `${describeInput(f)} of change ${change.id}, finished`);
    }
    const next = await tx
      .selectFrom('audience_changes')
      .select('id')
      .where('audience_id', '=', change.audienceId)
      .where('status', '=', 'PENDING')
      .where('id', '>', change.id)
      .where('job_id', 'is', null)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    if (next) await enqueueChange(this.d.jobs, tx, accountId, change.audienceId, Number(next.id), this.d.config);
  }

  /** Versions past the number kept are retired: marked, and their bitmaps deleted after the grace period. */
  private async retire(tx: Db, audienceId: number, newest: number): Promise<void> {
    const keep = this.d.config.audiences.keepVersions;
    const old = await tx.selectFrom('audience_versions').select(['version', 'bitmap_key', 'cluster_id']).where('audience_id', '=', audienceId).where('version', '<=', newest - keep).where('retired_at', 'is', null).execute();
    for (const v of old) {
      await tx.updateTable('audience_versions').set({ retired_at: this.d.now() }).where('audience_id', '=', audienceId).where('version', '=', v.version).execute();
      await this.d.trash.discard(tx, Number(v.cluster_id), v.bitmap_key, `version ${v.version} of audience ${audienceId} retired`, this.d.config.audiences.retireGraceMs);
    }
  }
}

/**
 * A rule's users now: compiled for the event store in use, relative to
 * `nowMs` in the vendor's days, and run. A build and a preview both come
 * here, so a preview's size is the size the audience gets.
 */
export async function runRule(events: EventStore | undefined, config: Config, accountId: string, rule: RuleSpec, nowMs: number): Promise<Bitmap> {
  if (!events) throw err('NotAvailable', 'this process has no event store; rule audiences are built where behaviour data is kept');
  const query = compileRule(rule, { engine: events.engine, accountId, nowMs, utcOffsetMinutes: config.events.utcOffsetMinutes, keywordWindowDays: config.events.keywordWindowDays });
  return events.users(query);
}

/** How the ingest pipeline reads a file's CSV spec: a column named by its header has a header line; a numbered one may or may not. */
export function csvOptions(spec: CsvSpec | undefined): CsvOptions | undefined {
  return spec && { column: spec.column, header: spec.header ?? (typeof spec.column === 'string' ? true : 'auto'), delimiter: spec.delimiter };
}

/** A stored file opened for the ingest pipeline; an object no longer in the store (deleted or expired) is refused with `gone`. */
export async function openForIngest(store: ObjectStore, key: string, gone: () => Error): Promise<Readable> {
  // Large reads: the scanner works on whole chunks (a 30 M-line change: scan 1.04 s with 1 MiB reads, 0.49 s with 16 MiB).
  return store.get(key, { chunkBytes: 16 << 20 }).catch((e: NodeJS.ErrnoException & { name?: string }) => {
    if (e.code === 'ENOENT' || e.name === 'NoSuchKey' || e.name === 'NotFound') throw gone();
    throw e;
  });
}

/** How a message names one input of a change. */
function describeInput(f: FileInput): string {
  if (f.kind === 'upload') return `upload ${f.uploadId}`;
  if (f.kind === 'inline') return 'the inline ids';
  return f.name ? `the file ${JSON.stringify(f.name)}` : 'the staged file';
}

function errorOf(e: AppError, prefix?: string): AudienceError {
  const field = e.field ? (prefix ? `${prefix}.${e.field}` : e.field) : prefix;
  return field ? { code: e.code, message: e.message, field } : { code: e.code, message: e.message };
}
