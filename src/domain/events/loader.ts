// The loader: every way behaviour events come in ends here (docs/
// behaviour-data.md). A batch (native POST /v1/events/{kind}, later
// Tencent's user_actions/add) is checked event by event in JavaScript, its
// ids mapped in one dictionary call and the good events appended; a file
// (an upload of the account) is loaded by a job: the engine parses and
// checks it, ids are mapped on distinct tuples, and it lands in one
// transaction, whole or not at all.
//
// User ids go into the event store only after the dictionary has committed
// them, as for audiences: a restart must not hand the same ids to others.
// A load is exactly once: the store records the load in the transaction that
// stores its rows, so a job retried after a crash finds it done.
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import { resolveModeOf, type Config } from '../../config.js';
import { err, isAppError } from '../../errors.js';
import type { Db } from '../../infra/db/index.js';
import type { EventLoadsTable } from '../../infra/db/schema.js';
import { transaction } from '../../infra/db/transaction.js';
import { EVENT_KINDS, type EventKind } from '../../infra/events/schema.js';
import type { BulkResult, EventStore } from '../../infra/events/types.js';
import type { IdentityDictionary } from '../../infra/identities/index.js';
import type { DiskStore } from '../../infra/objects/disk.js';
import type { ObjectStore } from '../../infra/objects/types.js';
import type { JobContext, JobQueue } from '../../worker/jobs.js';
import { requirePurpose } from '../uploads/purpose.js';
import type { UploadService } from '../uploads/service.js';
import { isWechatSet, type ActionSets } from './action-sets.js';
import { MAX_BATCH_EVENTS, USER_ID_FIELDS } from './fields.js';
import { idFieldsOf, lit, loadPasses, ndjsonIdKeysSql, ndjsonReader, unknownColumns, type FileFormat } from './file-sql.js';
import { IdMapping, type IdField } from './ids.js';
import { checkEvents, type Refusal } from './validate.js';

export interface LoaderDeps {
  db: Db;
  config: Config;
  store: EventStore;
  dictionary: IdentityDictionary;
  uploads: UploadService;
  stores: ReadonlyMap<number, ObjectStore>;
  jobs: JobQueue;
  actionSets: ActionSets;
  now: () => number;
}

export interface BatchResult {
  received: number;
  stored: number;
  /** Good events not stored: their outer_action_id is stored already or came earlier in the batch. */
  duplicates: number[];
  refused: Refusal[];
}

export type LoadStatus = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'ERROR';

export interface LoadReport extends BulkResult {
  idFields: string[];
  matched: number;
  newUsers: number;
}

export interface EventLoad {
  id: number;
  kind: EventKind;
  uploadId: string;
  format: FileFormat;
  actionSetId: number | null;
  status: LoadStatus;
  error: { code: string; message: string } | null;
  report: LoadReport | null;
  jobId: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function toLoad(r: Selectable<EventLoadsTable>): EventLoad {
  return {
    id: Number(r.id),
    kind: r.kind as EventKind,
    uploadId: r.upload_id,
    format: r.format as FileFormat,
    actionSetId: r.action_set_id === null ? null : Number(r.action_set_id),
    status: r.status as LoadStatus,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    report: r.report ? JSON.parse(r.report) : null,
    jobId: r.job_id === null ? null : Number(r.job_id),
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

export const FILE_FORMATS: readonly FileFormat[] = ['csv', 'ndjson', 'parquet'];
const LOAD_MAX_ATTEMPTS = 3;

/** DuckDB's words for a file it cannot read as asked: the file's fault, not worth a retry. */
const FILE_FAULT = /^(Invalid Input|Conversion|Binder|Parser|Invalid) Error|Invalid Input Error|No files found|Could not read|not a parquet file|Unexpected|magic bytes/i;

export class EventLoader {
  constructor(private readonly d: LoaderDeps) {}

  /** A batch from the API: each event checked, the good ones mapped and stored. */
  async send(accountId: string, kind: EventKind, events: readonly unknown[], opts: { actionSetId?: number | null } = {}): Promise<BatchResult> {
    if (events.length > MAX_BATCH_EVENTS) throw err('InvalidParameter', `a batch holds at most ${MAX_BATCH_EVENTS} events; this one has ${events.length}. Send more batches, or upload a file and load it`, 'events');
    const set = opts.actionSetId ? await this.d.actionSets.get(accountId, opts.actionSetId) : null;
    const now = this.d.now();
    const { good, refused } = checkEvents(kind, events, { now, utcOffsetMinutes: this.d.config.events.utcOffsetMinutes, wechatSet: set ? isWechatSet(set) : false });
    const fieldNames = [...new Set(good.flatMap((g) => [...g.ids.keys()]))];
    const fields: IdField[] = fieldNames.map((f) => ({ field: f, type: USER_ID_FIELDS.get(f)! }));
    const mapping = new IdMapping(fields, this.d.dictionary, resolveModeOf(this.d.config, accountId));
    const mapped = await mapping.mapValues(good.map((g) => fieldNames.map((f) => g.ids.get(f))));
    const rows: unknown[][] = [];
    const rowIndex: number[] = [];
    for (let i = 0; i < good.length; i++) {
      const w = mapped.why[i];
      if (w > 0) {
        refused.push({ index: good[i].index, ...mapped.reasons[w - 1] });
        continue;
      }
      const user = mapped.users[i];
      rows.push(kind === 'user_actions' ? [set?.id ?? null, user, ...good[i].data] : [user, ...good[i].data]);
      rowIndex.push(good[i].index);
    }
    refused.sort((a, b) => a.index - b.index);
    if (rows.length > 0 && mapping.counts.newUsers > 0) await this.d.dictionary.commit();
    const r = await this.d.store.append({ kind, accountId, rows });
    return { received: events.length, stored: r.stored, duplicates: r.duplicateIndexes.map((i) => rowIndex[i]), refused };
  }

  /** A load of an uploaded file: checked now (the upload, the set), worked by a job. */
  async createLoad(accountId: string, kind: EventKind, req: { uploadId: string; format: string; actionSetId?: number | null }): Promise<EventLoad> {
    if (!FILE_FORMATS.includes(req.format as FileFormat)) throw err('InvalidParameter', `format must be one of ${FILE_FORMATS.join(', ')}`, 'format');
    const upload = await this.d.uploads.get(accountId, req.uploadId);
    // A load reads only a file uploaded for events: an audience upload was checked as ids, not as this format.
    requirePurpose(upload, 'events', 'upload_id');
    if (upload.status !== 'READY') throw err('UploadNotReady', `upload ${upload.id} is ${upload.status}; load it once it is READY`, 'upload_id');
    if (upload.format === 'gzip' && req.format === 'parquet') throw err('InvalidParameter', 'a Parquet file is compressed inside; upload it as it is, not gzipped', 'format');
    if (req.actionSetId !== undefined && req.actionSetId !== null) {
      if (kind !== 'user_actions') throw err('InvalidParameter', 'action_set_id is for user actions only', 'action_set_id');
      await this.d.actionSets.get(accountId, req.actionSetId);
    }
    const at = this.d.now();
    const row = await transaction(this.d.db, async (tx) => {
      const r = await tx
        .insertInto('event_loads')
        .values({ account_id: accountId, kind, upload_id: upload.id, format: req.format, action_set_id: req.actionSetId ?? null, status: 'PENDING', error_code: null, error_message: null, report: null, job_id: null, created_at: at, started_at: null, finished_at: null })
        .returningAll()
        .executeTakeFirstOrThrow();
      const jobId = await this.d.jobs.enqueue('events-load', { loadId: Number(r.id) }, { maxAttempts: LOAD_MAX_ATTEMPTS, tx, accountId, subject: `events-load:${r.id}` });
      await tx.updateTable('event_loads').set({ job_id: jobId }).where('id', '=', r.id).execute();
      return { ...r, job_id: jobId };
    });
    return toLoad(row);
  }

  async getLoad(accountId: string, id: number): Promise<EventLoad> {
    const r = await this.d.db.selectFrom('event_loads').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    if (!r) throw err('EventLoadNotFound', `event load ${id} does not exist in this account`, 'id');
    return toLoad(r);
  }

  /** Rows per kind of the account. */
  async stats(accountId: string): Promise<Record<EventKind, number>> {
    const out = {} as Record<EventKind, number>;
    for (const k of EVENT_KINDS) out[k] = await this.d.store.count(k, accountId);
    return out;
  }

  /** The events-load job. */
  async runLoad(loadId: number, ctx: JobContext): Promise<void> {
    const { db } = this.d;
    const row = await db.selectFrom('event_loads').selectAll().where('id', '=', loadId).executeTakeFirst();
    if (!row || row.status === 'SUCCESS' || row.status === 'ERROR') return;
    const load = toLoad(row);
    await transaction(db, async (tx) => {
      await ctx.assertHeld(tx);
      await tx.updateTable('event_loads').set({ status: 'PROCESSING', started_at: row.started_at ?? this.d.now() }).where('id', '=', loadId).execute();
    });
    let report: LoadReport;
    try {
      report = await this.load(row.account_id, load, ctx);
    } catch (e) {
      if (isAppError(e)) return this.finish(loadId, { code: e.code, message: e.field ? `${e.message} (${e.field})` : e.message }, null, ctx);
      const message = (e as Error).message ?? String(e);
      if (FILE_FAULT.test(message)) return this.finish(loadId, { code: 'InvalidParameter', message: `the file cannot be read as ${load.format}: ${message.split('\n')[0]}` }, null, ctx);
      throw e;
    }
    await this.finish(loadId, null, report, ctx);
  }

  /** The job ran out of attempts: the load ends in ERROR with the last error. */
  async giveUp(loadId: number, error: string): Promise<void> {
    const row = await this.d.db.selectFrom('event_loads').select('status').where('id', '=', loadId).executeTakeFirst();
    if (!row || row.status === 'SUCCESS' || row.status === 'ERROR') return;
    await this.finish(loadId, { code: 'InternalError', message: `the load failed after every retry; last error: ${error}. Nothing of it was stored.` }, null, undefined);
  }

  private async finish(loadId: number, error: { code: string; message: string } | null, report: LoadReport | null, ctx: JobContext | undefined): Promise<void> {
    await transaction(this.d.db, async (tx) => {
      if (ctx) await ctx.assertHeld(tx);
      await tx
        .updateTable('event_loads')
        .set({ status: error ? 'ERROR' : 'SUCCESS', error_code: error?.code ?? null, error_message: error?.message ?? null, report: report ? JSON.stringify(report) : null, finished_at: this.d.now() })
        .where('id', '=', loadId)
        .execute();
    });
  }

  private async load(accountId: string, load: EventLoad, ctx: JobContext): Promise<LoadReport> {
    const upload = await this.d.uploads.get(accountId, load.uploadId);
    if (upload.status !== 'READY') throw err('UploadNotReady', `upload ${upload.id} is ${upload.status} now (deleted or expired since the load was made); upload the file again`, 'upload_id');
    const set = load.actionSetId ? await this.d.actionSets.get(accountId, load.actionSetId) : null;
    const file = await this.localFile(upload.clusterId, upload.storageKey);
    try {
      ctx.progress({ stage: 'inspect' });
      const gzip = upload.format === 'gzip';
      const columns = await this.columnsOf(file.path, load.format, gzip);
      if (load.format !== 'ndjson') {
        const unknown = unknownColumns(load.kind, columns);
        if (unknown.length) throw err('InvalidParameter', `the file's column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => JSON.stringify(c)).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} neither a field of ${load.kind} nor an id field (see docs/behaviour-data.md)`, 'file');
      }
      const idFields = idFieldsOf({ columns });
      const mapping = new IdMapping(
        idFields.map((f) => ({ field: f, type: USER_ID_FIELDS.get(f)! })),
        this.d.dictionary,
        resolveModeOf(this.d.config, accountId),
      );
      const spec = {
        kind: load.kind,
        format: load.format,
        path: file.path,
        gzip,
        columns,
        now: this.d.now(),
        utcOffsetMinutes: this.d.config.events.utcOffsetMinutes,
        wechatSet: set ? isWechatSet(set) : false,
      };
      const result = await this.d.store.bulkLoad(
        {
          kind: load.kind,
          accountId,
          actionSetId: set?.id ?? null,
          loadKey: `load:${load.id}`,
          ...loadPasses(spec),
          idFields,
          readerRejects: load.format === 'csv',
          // The users the mapper handed out are made durable before the rows that name them commit.
          beforeCommit: () => this.d.dictionary.commit().then(() => undefined),
          progress: (stage, detail) => ctx.progress({ stage, ...detail }),
        },
        (batch) => mapping.mapText(batch),
        ctx.signal,
      );
      return { ...result, idFields, matched: mapping.counts.matched, newUsers: mapping.counts.newUsers };
    } finally {
      await file.done();
    }
  }

  /** The file's columns (CSV, Parquet) or the user_id keys its lines use (NDJSON). */
  private async columnsOf(path: string, format: FileFormat, gzip: boolean): Promise<Array<{ name: string; type: string }>> {
    if (format === 'ndjson') {
      const rows = await this.d.store.probe(ndjsonIdKeysSql(path, gzip));
      return rows.map((r) => ({ name: String(r[0]), type: 'VARCHAR' }));
    }
    if (format === 'csv') {
      // The header line as text: DuckDB's sniffer would stop at a malformed
      // row, which is the load's to refuse with its line, not the file's.
      const first = await this.d.store.probe(`SELECT j FROM ${ndjsonReader(path, gzip)} LIMIT 1`);
      const header = String(first[0]?.[0] ?? '').replace(/^\uFEFF/, '').replace(/\r$/, '');
      if (!header.trim()) throw err('InvalidParameter', 'the CSV file has no header line naming its columns', 'file');
      return header.split(',').map((n) => ({ name: n.trim().replace(/^"(.*)"$/, '$1'), type: 'VARCHAR' }));
    }
    const rows = await this.d.store.probe(`DESCRIBE SELECT * FROM read_parquet(${lit(path)})`);
    return rows.map((r) => ({ name: String(r[0]), type: String(r[1]) }));
  }

  /**
   * A local path DuckDB can read: a disk store's own file, read in place; an
   * S3 object is spooled to a temporary file first, removed after.
   */
  private async localFile(clusterId: number, key: string): Promise<{ path: string; done: () => Promise<void> }> {
    const store = this.d.stores.get(clusterId);
    if (!store) throw err('UnknownCluster', `cluster ${clusterId} is not configured`);
    if (store.kind === 'disk') return { path: (store as DiskStore).pathOf(key), done: async () => undefined };
    const dir = join(this.d.config.dataDir, 'tmp', 'event-loads');
    await mkdir(dir, { recursive: true });
    const path = join(dir, randomBytes(12).toString('hex'));
    await pipeline(await store.get(key, { chunkBytes: 16 << 20 }), createWriteStream(path));
    return { path, done: () => rm(path, { force: true }) };
  }
}
