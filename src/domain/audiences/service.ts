// Managing audiences: create, read, list, rename, delete, and the changes
// that build them. Everything slow happens in the change's job (build.ts);
// this file validates a request completely before anything is written, and
// writes each request in one transaction (the audience, its change, the
// change's job), so a refused or failed request leaves nothing behind.
//
// Changes to one audience run in order, one at a time: a change gets its job
// when it is made only if no earlier change of the audience is unfinished;
// otherwise the change that finishes before it enqueues it (build.ts), in the
// transaction that finishes.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Config } from '../../config.js';
import { err } from '../../errors.js';
import { isUniqueViolation, type Db } from '../../infra/db/index.js';
import { likeContains } from '../../infra/db/sql.js';
import { transaction } from '../../infra/db/transaction.js';
import type { ObjectStore } from '../../infra/objects/types.js';
import type { JobQueue } from '../../worker/jobs.js';
import { ID_TYPE_NAMES, ID_TYPES, isIdTypeName, lookupIdType } from '../identities/index.js';
import { DETECT } from '../ingest/ingest-file.js';
import type { ObjectTrash } from '../objects/trash.js';
import { requirePurpose } from '../uploads/purpose.js';
import type { UploadService } from '../uploads/service.js';
import type { Upload } from '../uploads/types.js';
import type { RuleSpec } from '../rules/types.js';
import { validateCombine } from './combine.js';
import {
  AUDIENCE_TYPES,
  toAudience,
  toChange,
  toVersion,
  type Audience,
  type AudienceType,
  type Change,
  type ChangeInputs,
  type ChangeOperation,
  type CombineSpec,
  type CsvSpec,
  type FileInput,
  type Version,
  isRuleType,
  ownsObject,
  RULE_TYPES,
} from './types.js';

export interface FileRequest {
  uploadId: string;
  /** A registry type, or DETECT to type each line by its shape. */
  idType: string;
  csv?: CsvSpec;
  /** With DETECT: the families or types the file may hold. */
  detectHint?: string[];
}

/**
 * A file the service staged itself (stage()), handed to create or change:
 * the change owns it from then on and deletes it when it finishes.
 */
export interface StagedFile {
  clusterId: number;
  objectKey: string;
  bytes: number;
  /** The name the client gave the file, for reports. */
  name?: string;
  idType: string;
  csv?: CsvSpec;
  detectHint?: string[];
}

export interface IdsRequest {
  idType: string;
  values: string[];
}

export interface CreateAudienceRequest {
  name: string;
  description?: string;
  externalId?: string;
  type?: AudienceType;
  clusterId?: number;
  files?: FileRequest[];
  ids?: IdsRequest;
  staged?: StagedFile[];
  combine?: CombineSpec;
  /** A rule audience's rule, already checked by the caller (its wire format owns the rules); `type` must match. */
  rule?: RuleSpec;
  /** A rule audience's refresh period; null: on demand only; absent: the default for rules relative to today. */
  refreshEveryMs?: number | null;
}

export interface ChangeRequest {
  operation: 'append' | 'remove' | 'replace' | 'combine' | 'refresh';
  files?: FileRequest[];
  ids?: IdsRequest;
  staged?: StagedFile[];
  combine?: CombineSpec;
}

export interface ListAudiencesQuery {
  status?: string;
  type?: string;
  name?: string;
  limit?: number;
  after?: string;
}

export const MAX_FILES_PER_CHANGE = 100;
export const MAX_NAME_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 2000;

export class AudienceService {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly stores: ReadonlyMap<number, ObjectStore>,
    private readonly uploads: UploadService,
    private readonly jobs: JobQueue,
    private readonly trash: ObjectTrash,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `within` runs inside the transaction that inserts the audience, after
   * it: a dialect keeps its own fields of the audience (Mintegral's platform,
   * PAI's group source) in the same commit, so neither is ever left alone.
   */
  async create(
    accountId: string,
    req: CreateAudienceRequest,
    opts: { within?: (tx: Db, audience: Audience) => Promise<void> } = {},
  ): Promise<{ audience: Audience; change: Change | null; existing: boolean }> {
    const r = await this.owningStaged(req.staged, () => this.createOnce(accountId, req, opts));
    // A repeated creation (same external id) takes nothing new.
    if (r.existing) await this.dropStaged(req.staged, 'staged file of a repeated creation');
    return r;
  }

  private async createOnce(
    accountId: string,
    req: CreateAudienceRequest,
    opts: { within?: (tx: Db, audience: Audience) => Promise<void> },
  ): Promise<{ audience: Audience; change: Change | null; existing: boolean }> {
    if (req.externalId !== undefined) {
      checkText(req.externalId, 'external_id', 1, 128);
      const prior = await this.byExternalId(accountId, req.externalId);
      if (prior) return prior;
    }
    const name = checkName(req.name);
    if (req.description !== undefined) checkText(req.description, 'description', 0, MAX_DESCRIPTION_LENGTH);
    const type = req.type ?? 'CUSTOMER_FILE';
    if (!AUDIENCE_TYPES.includes(type)) throw err('InvalidParameter', `type must be one of ${AUDIENCE_TYPES.join(', ')}`, 'type');
    await this.assertNameFree(accountId, name);

    let clusterId: number;
    let inputs: ChangeInputs | null;
    let operation: ChangeOperation;
    let refreshEveryMs: number | null = null;
    if (isRuleType(type)) {
      if (req.files || req.ids || req.staged || req.combine) throw err('InvalidParameter', `a ${type} audience is made by its rule: give rule, not files, ids or combine`, req.combine ? 'combine' : 'files');
      if (!req.rule) throw err('MissingParameter', `a ${type} audience needs its rule`, 'rule');
      if (req.rule.type !== type) throw err('InvalidParameter', `the rule is a ${req.rule.type} rule, the audience a ${type} audience`, 'rule.type');
      refreshEveryMs = req.refreshEveryMs === undefined ? (isRelativeRule(req.rule) ? this.config.audiences.refreshEveryMs : null) : checkRefresh(req.refreshEveryMs);
      clusterId = req.clusterId ?? 1;
      inputs = { rule: req.rule };
      operation = 'create';
    } else if (req.rule !== undefined || req.refreshEveryMs !== undefined) {
      throw err('InvalidParameter', `rule is only for the rule types (${RULE_TYPES.join(', ')})`, 'rule');
    } else if (type === 'COMBINE') {
      if (req.files || req.ids || req.staged) throw err('InvalidParameter', 'a COMBINE audience is made from other audiences: give combine, not files or ids', req.ids ? 'ids' : 'files');
      if (!req.combine) throw err('MissingParameter', 'a COMBINE audience needs combine: { include: [[ids…]], exclude: [[ids…]] }', 'combine');
      const checked = await validateCombine(this.db, accountId, req.combine, { self: undefined, clusterId: req.clusterId });
      clusterId = checked.clusterId;
      inputs = { combine: checked.spec };
      operation = 'combine';
    } else {
      if (req.combine) throw err('InvalidParameter', 'combine is only for type COMBINE', 'combine');
      const files = await this.checkFiles(accountId, req.files ?? [], req.ids, req.staged ?? [], req.clusterId);
      clusterId = files.clusterId;
      inputs = files.inputs.length > 0 || req.ids ? { files: files.inputs } : null;
      operation = 'create';
    }
    this.storeOf(clusterId);

    const at = this.now();
    const inline = await this.stageInline(accountId, clusterId, req.ids);
    if (inline && inputs && 'files' in inputs) inputs.files.push(inline);
    const owned = inputs && 'files' in inputs ? inputs.files.filter(ownsObject) : [];
    try {
      return await transaction(this.db, async (tx) => {
        await this.assertNameFree(accountId, name, tx);
        const row = await tx
          .insertInto('audiences')
          .values({
            account_id: accountId,
            cluster_id: clusterId,
            name,
            description: req.description ?? null,
            external_id: req.externalId ?? null,
            type,
            spec: inputs && 'combine' in inputs ? JSON.stringify({ combine: inputs.combine }) : inputs && 'rule' in inputs ? JSON.stringify({ rule: inputs.rule }) : null,
            refresh_every_ms: refreshEveryMs,
            next_refresh_at: refreshEveryMs === null ? null : at + refreshEveryMs,
            status: 'PENDING',
            error_code: null,
            error_message: null,
            version: 0,
            size: null,
            bitmap_key: null,
            created_at: at,
            updated_at: at,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const audience = toAudience(row);
        const change = inputs ? await this.addChange(tx, audience, operation, inputs, true) : null;
        await opts.within?.(tx, audience);
        for (const f of owned) await this.trash.keep(tx, clusterId, f.objectKey);
        return { audience, change, existing: false };
      });
    } catch (e) {
      // Staged files are the caller's to drop (create(): a refusal or a repeated creation).
      if (inline) await this.discardInline(clusterId, inline);
      if (req.externalId !== undefined && isUniqueViolation(e)) {
        // Another request with the same external id won the race: answer with its audience.
        const prior = await this.byExternalId(accountId, req.externalId);
        if (prior) return prior;
      }
      if (isUniqueViolation(e)) throw err('AudienceNameTaken', `an audience named "${name}" already exists in this account`, 'name');
      throw e;
    }
  }

  /** The answer of a creation repeated with an external id already used: the audience it made. */
  private async byExternalId(accountId: string, externalId: string): Promise<{ audience: Audience; change: Change | null; existing: true } | undefined> {
    const prior = await this.db.selectFrom('audiences').selectAll().where('account_id', '=', accountId).where('external_id', '=', externalId).executeTakeFirst();
    return prior && { audience: toAudience(prior), change: await this.lastChange(Number(prior.id)), existing: true };
  }

  /**
   * A new change to an existing audience (append, remove, replace files;
   * recompute a COMBINE). `within` runs inside the transaction that inserts
   * the change, after it: a dialect's own record of the request (Tencent's
   * custom_audience_files row) commits with the change or not at all.
   */
  async change(accountId: string, audienceId: number, req: ChangeRequest, opts: { within?: (tx: Db, change: Change) => Promise<void> } = {}): Promise<Change> {
    return this.owningStaged(req.staged, () => this.changeOnce(accountId, audienceId, req, opts));
  }

  private async changeOnce(accountId: string, audienceId: number, req: ChangeRequest, opts: { within?: (tx: Db, change: Change) => Promise<void> }): Promise<Change> {
    const audience = await this.get(accountId, audienceId);
    let inputs: ChangeInputs;
    const op = req.operation;
    if (isRuleType(audience.type)) {
      if (op !== 'refresh') throw err('InvalidParameter', `a ${audience.type} audience changes only by operation refresh (its rule computed again), not ${op}`, 'operation');
      if (req.files || req.ids || req.staged || req.combine) throw err('InvalidParameter', 'a refresh takes no inputs: the audience\'s own rule is run again', 'operation');
      if (!audience.rule) throw new Error(`audience ${audience.id} is a ${audience.type} audience without a rule`);
      inputs = { rule: audience.rule };
    } else if (op === 'refresh') {
      throw err('InvalidParameter', `operation refresh is for rule audiences (${RULE_TYPES.join(', ')}); this one is ${audience.type}`, 'operation');
    } else if (audience.type === 'COMBINE') {
      if (op !== 'combine') throw err('InvalidParameter', `a COMBINE audience changes only by operation combine (a new include/exclude), not ${op}`, 'operation');
      const spec = req.combine ?? audience.combine;
      if (!spec) throw err('MissingParameter', 'give combine', 'combine');
      const checked = await validateCombine(this.db, accountId, spec, { self: audience.id, clusterId: audience.clusterId });
      inputs = { combine: checked.spec };
    } else {
      if (op === 'combine') throw err('InvalidParameter', `operation combine is for COMBINE audiences; this one is ${audience.type}`, 'operation');
      if (!['append', 'remove', 'replace'].includes(op)) throw err('InvalidParameter', 'operation must be append, remove or replace', 'operation');
      if (req.combine) throw err('InvalidParameter', 'combine is only for COMBINE audiences', 'combine');
      if ((req.files ?? []).length === 0 && !req.ids && (req.staged ?? []).length === 0) throw err('MissingParameter', `${op} needs files or ids`, 'files');
      const files = await this.checkFiles(accountId, req.files ?? [], req.ids, req.staged ?? [], audience.clusterId);
      inputs = { files: files.inputs };
    }
    const inline = 'files' in inputs ? await this.stageInline(accountId, audience.clusterId, req.ids) : undefined;
    if (inline && 'files' in inputs) inputs.files.push(inline);
    const owned = 'files' in inputs ? inputs.files.filter(ownsObject) : [];
    try {
      return await transaction(this.db, async (tx) => {
        const fresh = await tx.selectFrom('audiences').select('id').where('id', '=', audience.id).executeTakeFirst();
        if (!fresh) throw notFound(audience.id);
        if (op === 'combine') await tx.updateTable('audiences').set({ spec: JSON.stringify({ combine: (inputs as { combine: CombineSpec }).combine }), updated_at: this.now() }).where('id', '=', audience.id).execute();
        const change = await this.addChange(tx, audience, op, inputs, false);
        await opts.within?.(tx, change);
        for (const f of owned) await this.trash.keep(tx, audience.clusterId, f.objectKey);
        return change;
      });
    } catch (e) {
      if (inline) await this.discardInline(audience.clusterId, inline);
      throw e;
    }
  }

  /**
   * Writes a file the service received or produced itself (a multipart
   * part, a table's column) as a staging object of the account. It is held
   * for `holdMs`: handed to create() or change() within that time, the
   * change owns it; otherwise (a refused request, a crash) it is deleted.
   * A caller that gives up on it calls discardStaged().
   */
  async stage(accountId: string, clusterId: number, body: Readable | Buffer, opts: { name?: string; holdMs?: number } = {}): Promise<Omit<StagedFile, 'idType'>> {
    const store = this.storeOf(clusterId);
    const key = `staging/${accountId}/${randomBytes(12).toString('hex')}`;
    await this.trash.intend(clusterId, key, 'a file being staged', opts.holdMs ?? 3_600_000);
    try {
      const info = await store.put(key, body, { contentType: 'application/octet-stream' });
      return { clusterId, objectKey: key, bytes: info.size, ...(opts.name !== undefined ? { name: opts.name } : {}) };
    } catch (e) {
      await this.trash.discard(this.db, clusterId, key, 'staging failed').catch(() => undefined);
      throw e;
    }
  }

  /**
   * create() and change() own the staged files they are given, whatever
   * happens: the change keeps them, or a refusal deletes them. A caller
   * never has to clean up after a refused request.
   */
  private async owningStaged<T>(staged: StagedFile[] | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.dropStaged(staged, 'staged file of a refused request');
      throw e;
    }
  }

  private async dropStaged(staged: StagedFile[] | undefined, reason: string): Promise<void> {
    for (const f of staged ?? []) if (f.objectKey.startsWith('staging/')) await this.discardStaged(f, reason).catch(() => undefined);
  }

  /** A staged file no request will take: deleted by the next sweep. */
  async discardStaged(staged: Pick<StagedFile, 'clusterId' | 'objectKey'>, reason = 'staged file not used'): Promise<void> {
    await this.trash.discard(this.db, staged.clusterId, staged.objectKey, reason);
  }

  private async discardInline(clusterId: number, inline: Extract<FileInput, { kind: 'inline' }>): Promise<void> {
    await this.trash.discard(this.db, clusterId, inline.objectKey, 'inline ids of a refused request').catch(() => undefined);
  }

  /**
   * Starts the refreshes that are due: each rule audience whose next_refresh_at
   * has passed gets a refresh change, and its next one is set a period later.
   * Claiming moves next_refresh_at with a compare-and-set, so two processes
   * running this at once never both refresh one audience. An audience whose
   * last change has not finished is not given another: its schedule moves on
   * and the running change brings it up to date.
   */
  async startDueRefreshes(limit = 100): Promise<number> {
    const at = this.now();
    const due = await this.db
      .selectFrom('audiences')
      .select(['id', 'next_refresh_at', 'refresh_every_ms'])
      .where('next_refresh_at', '<=', at)
      .orderBy('next_refresh_at')
      .limit(limit)
      .execute();
    let started = 0;
    for (const row of due) {
      const every = Number(row.refresh_every_ms);
      const claimed = await transaction(this.db, async (tx) => {
        const moved = await tx
          .updateTable('audiences')
          .set({ next_refresh_at: at + every })
          .where('id', '=', row.id)
          .where('next_refresh_at', '=', row.next_refresh_at)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) return false;
        const busy = await tx.selectFrom('audience_changes').select('id').where('audience_id', '=', row.id).where('status', 'in', ['PENDING', 'PROCESSING']).limit(1).executeTakeFirst();
        if (busy) return false;
        const fresh = await tx.selectFrom('audiences').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
        const audience = toAudience(fresh);
        if (!audience.rule) return false;
        await this.addChange(tx, audience, 'refresh', { rule: audience.rule }, false);
        return true;
      });
      if (claimed) started++;
    }
    return started;
  }

  async get(accountId: string, id: number): Promise<Audience> {
    const r = Number.isSafeInteger(id) ? await this.db.selectFrom('audiences').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst() : undefined;
    if (!r) throw notFound(id);
    return toAudience(r);
  }

  async list(accountId: string, q: ListAudiencesQuery = {}): Promise<{ items: Audience[]; next: string | null }> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    let query = this.db.selectFrom('audiences').selectAll().where('account_id', '=', accountId);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.type) query = query.where('type', '=', q.type);
    if (q.name) query = query.where(likeContains('name', q.name));
    if (q.after !== undefined) {
      if (!/^\d{1,15}$/.test(q.after)) throw err('InvalidParameter', 'after is not a cursor this service issued', 'after');
      query = query.where('id', '<', Number(q.after));
    }
    const rows = await query.orderBy('id', 'desc').limit(limit + 1).execute();
    const items = rows.slice(0, limit).map(toAudience);
    return { items, next: rows.length > limit ? String(items[items.length - 1].id) : null };
  }

  /**
   * Renames the audience, changes its description, or sets a rule
   * audience's refresh period (`refreshEveryMs`; null stops scheduled
   * refreshes, on demand stays). Everything is checked first and written in
   * one statement: a refused patch changes nothing.
   */
  async update(accountId: string, id: number, patch: { name?: string; description?: string | null; refreshEveryMs?: number | null }): Promise<Audience> {
    const audience = await this.get(accountId, id);
    const set: { name?: string; description?: string | null; refresh_every_ms?: number | null; next_refresh_at?: number | null; updated_at: number } = { updated_at: this.now() };
    if (patch.refreshEveryMs !== undefined) {
      if (!isRuleType(audience.type)) throw err('InvalidParameter', `only rule audiences are refreshed; this one is ${audience.type}`, 'refresh_every_hours');
      const every = checkRefresh(patch.refreshEveryMs);
      set.refresh_every_ms = every;
      set.next_refresh_at = every === null ? null : this.now() + every;
    }
    if (patch.name !== undefined) {
      set.name = checkName(patch.name);
      if (set.name !== audience.name) await this.assertNameFree(accountId, set.name);
    }
    if (patch.description !== undefined) {
      if (patch.description !== null) checkText(patch.description, 'description', 0, MAX_DESCRIPTION_LENGTH);
      set.description = patch.description;
    }
    try {
      await this.db.updateTable('audiences').set(set).where('id', '=', id).where('account_id', '=', accountId).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw err('AudienceNameTaken', `an audience named "${set.name}" already exists in this account`, 'name');
      throw e;
    }
    return this.get(accountId, id);
  }

  /**
   * Deletes the audience, its changes and versions; every bitmap of it goes
   * to the trash in the same transaction (deleted by housekeeping after a
   * grace period, so reads in flight finish). A change running now finds
   * the audience gone when it commits and discards its work.
   */
  async delete(accountId: string, id: number): Promise<void> {
    const audience = await this.get(accountId, id);
    await transaction(this.db, async (tx) => {
      const versions = await tx.selectFrom('audience_versions').select(['bitmap_key', 'cluster_id', 'retired_at']).where('audience_id', '=', id).execute();
      for (const v of versions) if (v.retired_at === null) await this.trash.discard(tx, Number(v.cluster_id), v.bitmap_key, `audience ${id} deleted`, this.config.audiences.retireGraceMs);
      const pending = await tx.selectFrom('audience_changes').select(['inputs', 'status']).where('audience_id', '=', id).where('status', 'in', ['PENDING', 'PROCESSING']).execute();
      for (const c of pending) {
        const inputs = JSON.parse(c.inputs) as ChangeInputs;
        if ('files' in inputs) for (const f of inputs.files) if (ownsObject(f)) await this.trash.discard(tx, audience.clusterId, f.objectKey, `audience ${id} deleted`);
      }
      await tx.deleteFrom('audience_versions').where('audience_id', '=', id).execute();
      await tx.deleteFrom('audience_changes').where('audience_id', '=', id).execute();
      await tx.deleteFrom('audiences').where('id', '=', id).execute();
    });
  }

  async changes(accountId: string, audienceId: number): Promise<Change[]> {
    await this.get(accountId, audienceId);
    const rows = await this.db.selectFrom('audience_changes').selectAll().where('audience_id', '=', audienceId).orderBy('id', 'desc').limit(500).execute();
    return rows.map(toChange);
  }

  async getChange(accountId: string, audienceId: number, changeId: number): Promise<Change> {
    const r = Number.isSafeInteger(changeId)
      ? await this.db.selectFrom('audience_changes').selectAll().where('id', '=', changeId).where('audience_id', '=', audienceId).where('account_id', '=', accountId).executeTakeFirst()
      : undefined;
    if (!r) throw err('ChangeNotFound', `audience ${audienceId} has no change ${changeId}`, 'change_id');
    return toChange(r);
  }

  async lastChange(audienceId: number): Promise<Change | null> {
    const r = await this.db.selectFrom('audience_changes').selectAll().where('audience_id', '=', audienceId).orderBy('id', 'desc').limit(1).executeTakeFirst();
    return r ? toChange(r) : null;
  }

  async versions(accountId: string, audienceId: number): Promise<Version[]> {
    await this.get(accountId, audienceId);
    const rows = await this.db.selectFrom('audience_versions').selectAll().where('audience_id', '=', audienceId).orderBy('version', 'desc').execute();
    return rows.map(toVersion);
  }

  /** One version of an audience that is still readable (the current one when `version` is omitted). */
  async version(accountId: string, audienceId: number, version?: number): Promise<{ audience: Audience; version: Version }> {
    const audience = await this.get(accountId, audienceId);
    const want = version ?? audience.version;
    if (want === 0) throw err('AudienceNotReady', `audience ${audienceId} has no version yet (status ${audience.status})`, 'audience_id');
    const r = await this.db.selectFrom('audience_versions').selectAll().where('audience_id', '=', audienceId).where('version', '=', want).executeTakeFirst();
    if (!r || r.retired_at !== null) throw err('VersionNotFound', `audience ${audienceId} has no readable version ${want}`, 'version');
    return { audience, version: toVersion(r) };
  }

  private async assertNameFree(accountId: string, name: string, tx: Db = this.db): Promise<void> {
    const taken = await tx.selectFrom('audiences').select('id').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    if (taken) throw err('AudienceNameTaken', `an audience named "${name}" already exists in this account (id ${taken.id})`, 'name');
  }

  private storeOf(clusterId: number): ObjectStore {
    const s = this.stores.get(clusterId);
    if (!s) throw err('UnknownCluster', `data cluster ${clusterId} is not configured`, 'cluster_id');
    return s;
  }

  /** Checks every file and the inline ids; the cluster is the given one, else the first upload's, else 1. */
  private async checkFiles(
    accountId: string,
    files: FileRequest[],
    ids: IdsRequest | undefined,
    staged: StagedFile[],
    clusterId: number | undefined,
  ): Promise<{ inputs: FileInput[]; clusterId: number }> {
    if (!Array.isArray(files)) throw err('InvalidParameter', 'files must be a list', 'files');
    if (files.length + staged.length + (ids ? 1 : 0) > MAX_FILES_PER_CHANGE) throw err('InvalidParameter', `at most ${MAX_FILES_PER_CHANGE} files per change, got ${files.length + staged.length}`, 'files');
    const inputs: FileInput[] = [];
    let cluster = clusterId;
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      const field = `files[${i}]`;
      checkFileSpec(f, (name) => `${field}.${name}`);
      const up = await audienceUpload(this.uploads, accountId, f.uploadId, `${field}.upload_id`);
      cluster ??= up.clusterId;
      if (up.clusterId !== cluster) {
        throw err('InvalidParameter', `upload ${f.uploadId} is in data cluster ${up.clusterId}, the audience in ${cluster}; an audience and its files stay in one cluster`, `${field}.upload_id`);
      }
      inputs.push({ kind: 'upload', uploadId: up.id, idType: f.idType, ...(f.csv ? { csv: f.csv } : {}), ...(f.detectHint ? { detectHint: f.detectHint } : {}) });
    }
    for (const [i, f] of staged.entries()) {
      const field = `files[${files.length + i}]`;
      checkFileSpec(f, (name) => `${field}.${name}`);
      // Only a staging object of this account, made by stage(), is taken.
      if (!f.objectKey.startsWith(`staging/${accountId}/`)) throw new Error(`staged file ${f.objectKey} is not a staging object of account ${accountId}`);
      cluster ??= f.clusterId;
      if (f.clusterId !== cluster) throw err('InvalidParameter', `the file is staged in data cluster ${f.clusterId}, the audience is in ${cluster}`, field);
      inputs.push({
        kind: 'staged',
        objectKey: f.objectKey,
        idType: f.idType,
        bytes: f.bytes,
        ...(f.name !== undefined ? { name: f.name } : {}),
        ...(f.csv ? { csv: f.csv } : {}),
        ...(f.detectHint ? { detectHint: f.detectHint } : {}),
      });
    }
    if (ids) {
      checkIdType(ids.idType, 'ids.id_type');
      if (!Array.isArray(ids.values) || ids.values.length === 0) throw err('InvalidParameter', 'ids.values must be a non-empty list of ids', 'ids.values');
      if (ids.values.length > this.config.audiences.maxInlineIds) throw err('InvalidParameter', `at most ${this.config.audiences.maxInlineIds} inline ids; upload a file for more`, 'ids.values');
      for (let i = 0; i < ids.values.length; i++) {
        const v = ids.values[i];
        if (typeof v !== 'string') throw err('InvalidParameter', `ids.values[${i}] must be a string`, `ids.values[${i}]`);
        if (/[\r\n\0]/.test(v)) throw err('InvalidParameter', `ids.values[${i}] holds a line break or NUL`, `ids.values[${i}]`);
      }
    }
    return { inputs, clusterId: cluster ?? 1 };
  }

  /** Writes inline ids as a staging object, held in the trash until the change takes it. */
  private async stageInline(accountId: string, clusterId: number, ids: IdsRequest | undefined): Promise<Extract<FileInput, { kind: 'inline' }> | undefined> {
    if (!ids) return undefined;
    const key = `staging/${accountId}/${randomBytes(12).toString('hex')}.txt`;
    await this.trash.intend(clusterId, key, 'inline ids being staged', 3_600_000);
    await this.storeOf(clusterId).put(key, Buffer.from(ids.values.join('\n') + '\n'), { contentType: 'text/plain' });
    return { kind: 'inline', objectKey: key, idType: ids.idType, count: ids.values.length };
  }

  /** Inserts a change; enqueues its job now unless an earlier change of the audience is unfinished. */
  private async addChange(tx: Db, audience: Audience, operation: ChangeOperation, inputs: ChangeInputs, first: boolean): Promise<Change> {
    const at = this.now();
    const busy = first
      ? undefined
      : await tx.selectFrom('audience_changes').select('id').where('audience_id', '=', audience.id).where('status', 'in', ['PENDING', 'PROCESSING']).limit(1).executeTakeFirst();
    const row = await tx
      .insertInto('audience_changes')
      .values({
        audience_id: audience.id,
        account_id: audience.accountId,
        operation,
        inputs: JSON.stringify(inputs),
        status: 'PENDING',
        error_code: null,
        error_message: null,
        reports: null,
        version: null,
        size: null,
        job_id: null,
        created_at: at,
        started_at: null,
        finished_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    if (!busy) {
      const jobId = await enqueueChange(this.jobs, tx, audience.accountId, audience.id, Number(row.id), this.config);
      row.job_id = jobId;
    }
    return toChange(row);
  }
}

/** The job that works one change; stored on the change so the API can point at it. */
export async function enqueueChange(jobs: JobQueue, tx: Db, accountId: string, audienceId: number, changeId: number, config: Config): Promise<number> {
  const jobId = await jobs.enqueue('audience-change', { changeId }, { maxAttempts: config.audiences.jobMaxAttempts, tx, accountId, subject: `audience:${audienceId}` });
  await tx.updateTable('audience_changes').set({ job_id: jobId }).where('id', '=', changeId).execute();
  return jobId;
}

/**
 * A rule relative to today gives a different answer tomorrow: a USER_ACTION
 * or KEYWORD window, an AD rule without an end date. LBS rules name fixed
 * dates, so their answer only moves with late data; they refresh on demand.
 */
function isRelativeRule(rule: RuleSpec): boolean {
  switch (rule.type) {
    case 'USER_ACTION':
    case 'KEYWORD':
      return true;
    case 'AD':
      return rule.ad_rule_spec.end_date === undefined;
    case 'LBS':
      return false;
  }
}

/** A refresh period: at least an hour, at most a year; null for none. */
function checkRefresh(everyMs: number | null): number | null {
  if (everyMs === null) return null;
  if (!Number.isInteger(everyMs) || everyMs < 3_600_000 || everyMs > 366 * 86_400_000) throw err('InvalidParameter', 'a refresh period is 1 hour to 366 days (or null for on demand only)', 'refresh_every_hours');
  return everyMs;
}

export function notFound(id: number | string) {
  return err('AudienceNotFound', `audience ${id} does not exist in this account`, 'audience_id');
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw err('MissingParameter', 'name is required', 'name');
  const n = name.trim();
  if (n.length === 0) throw err('InvalidParameter', 'name must not be empty', 'name');
  if (n.length > MAX_NAME_LENGTH) throw err('InvalidParameter', `name is ${n.length} characters; at most ${MAX_NAME_LENGTH}`, 'name');
  if (/[\0-\x1f]/.test(n)) throw err('InvalidParameter', 'name must not hold control characters', 'name');
  return n;
}

function checkText(v: unknown, field: string, min: number, max: number): void {
  if (typeof v !== 'string') throw err('InvalidParameter', `${field} must be a string`, field);
  if (v.length < min || v.length > max) throw err('InvalidParameter', `${field} must be ${min} to ${max} characters, got ${v.length}`, field);
}

/** An upload an audience may read now: the account's, READY, made for audiences; each refusal names `field`. */
export async function audienceUpload(uploads: UploadService, accountId: string, uploadId: string, field: string): Promise<Upload> {
  const up = await uploads.get(accountId, uploadId).catch((e: unknown) => {
    if ((e as { code?: string }).code === 'UploadNotFound') throw err('UploadNotFound', `upload ${uploadId} does not exist in this account`, field);
    throw e;
  });
  if (up.status !== 'READY') throw err('UploadNotReady', `upload ${uploadId} is ${up.status}; only a READY upload can be read`, field);
  requirePurpose(up, 'audience', field);
  return up;
}

/** How a file is to be read (its id type, CSV column, detect hint), checked as every create, change and estimate checks it. */
export function checkFileSpec(f: { idType: unknown; csv?: CsvSpec; detectHint?: unknown }, field: (name: 'id_type' | 'csv' | 'detect_hint') => string): void {
  checkIdType(f.idType, field('id_type'));
  if (f.csv) checkCsv(f.csv, field('csv'));
  if (f.detectHint !== undefined) checkHint(f.idType as string, f.detectHint, field('detect_hint'));
}

function checkIdType(t: unknown, field: string): void {
  if (typeof t !== 'string' || (t !== DETECT && lookupIdType(t) === undefined)) {
    throw err('InvalidParameter', `${String(t)} is not an id type; see GET /v1/id-types for the list, or use "${DETECT}" to type each line`, field);
  }
}

const FAMILIES = new Set<string>(ID_TYPE_NAMES.map((n) => ID_TYPES[n].family));

function checkHint(idType: string, hint: unknown, field: string): void {
  if (idType !== DETECT) throw err('InvalidParameter', `detect_hint goes with id_type "${DETECT}"`, field);
  if (!Array.isArray(hint) || hint.length === 0 || hint.length > 20) throw err('InvalidParameter', 'detect_hint must list 1 to 20 families or id types', field);
  for (const [i, h] of hint.entries()) {
    if (typeof h !== 'string' || !(FAMILIES.has(h) || isIdTypeName(h))) throw err('InvalidParameter', `${String(h)} is neither an id family nor an id type`, `${field}[${i}]`);
  }
}

function checkCsv(c: CsvSpec, field: string): void {
  if (typeof c.column === 'number') {
    if (!Number.isInteger(c.column) || c.column < 0 || c.column > 1000) throw err('InvalidParameter', 'csv.column as an index must be an integer from 0 to 1000', `${field}.column`);
  } else if (typeof c.column !== 'string' || c.column.trim() === '') throw err('InvalidParameter', 'csv.column must be a header name or a 0-based index', `${field}.column`);
  if (typeof c.column === 'string' && c.header === false) throw err('InvalidParameter', 'a column given by name needs a header row (csv.header true)', `${field}.header`);
  if (c.delimiter !== undefined && ![',', '\t', ';'].includes(c.delimiter)) throw err('InvalidParameter', 'csv.delimiter must be ",", ";" or a tab', `${field}.delimiter`);
}
