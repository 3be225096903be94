// PAI audience groups: CreateGroup, GetGroup, ListGroups, DeleteGroup, as a
// thin mapping onto the audience domain. A group is an audience (Name → name,
// Remark → description, Id → the audience id as a string) plus a pai_groups
// row holding what the audience has no place for (Source, PhoneNumber and the
// source's own fields). Only audiences made through CreateGroup are groups:
// an audience made through the native API has no Source to show, so PAI
// neither lists nor reads it.
//
// Parameters are read from the JSON body and the query string alike (the
// body wins), so both the seed's curl examples and SDKs that put everything
// in the query work. Every rule is checked here or in the audience domain
// before anything is written.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CreateAudienceRequest } from '../../../domain/audiences/service.js';
import { toAudience, type Audience, type AudienceStatus } from '../../../domain/audiences/types.js';
import { DETECT } from '../../../domain/ingest/ingest-file.js';
import { MAX_FILTER_LENGTH } from '../../../domain/tables/filter.js';
import { stageColumn } from '../../../domain/tables/stage.js';
import { err } from '../../../errors.js';
import type { PaiGroupsTable } from '../../../infra/db/schema.js';
import type { App } from '../../../app.js';
import { requireAccount } from '../../context.js';
import { uploadOfUri } from '../upload-uri.js';
import { RateLimiter } from '../../rate-limit.js';
import { likeContains } from '../../../infra/db/sql.js';
import { paiOk } from './errors.js';

export const MAX_TEXT_IDS = 100;
export const QPS = 100;
export const MAX_PAGE_SIZE = 100;
/** "GetGroup: Maximum 1,000 characters per request". */
export const MAX_GET_CHARS = 1000;

export const SOURCES = { TEXT: 0, TEXT_FILE: 1, CSV_FILE: 2, TABLE: 3, ALGORITHM: 4 } as const;

/** The engine's states as PAI's Status numbers: 0 ready, as the seed says; the others in the order a group passes them. */
export const STATUS: Record<AudienceStatus, number> = { SUCCESS: 0, PENDING: 1, PROCESSING: 2, ERROR: 3 };
const STATUS_OF = new Map(Object.entries(STATUS).map(([k, v]) => [v, k as AudienceStatus]));

/** The group's own fields beyond the audience, kept as JSON in pai_groups.fields. */
interface GroupFields {
  Text?: string;
  Uri?: string;
  Column?: string;
  Project?: string;
  Table?: string;
  Filter?: string;
  Algorithm?: string;
  InferenceJobId?: string;
}

type Params = Record<string, unknown>;

function paramsOf(req: FastifyRequest): Params {
  const q = (req.query ?? {}) as Params;
  const b = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Params) : {};
  return { ...q, ...b };
}

function str(p: Params, name: string, max = 1024): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw err('InvalidParameter', `${name} must be a string`, name);
  if (v.length > max) throw err('InvalidParameter', `${name} is ${v.length} characters; at most ${max}`, name);
  return v;
}

function int(p: Params, name: string): number | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw err('InvalidParameter', `${name} must be an integer`, name);
  return n;
}

function bool(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw err('InvalidParameter', `${name} must be true or false`, name);
}

function required<T>(v: T | undefined, name: string, why: string): T {
  if (v === undefined || (typeof v === 'string' && v.trim() === '')) throw err('MissingParameter', `${name} is required ${why}`, name);
  return v;
}

/** Text's ids: one per line, or separated by commas, semicolons or spaces. */
export function textIds(text: string): string[] {
  return text.split(/[\s,;]+/).filter((s) => s.length > 0);
}

/** What is kept and shown of Text: each id with its last four characters masked, as the seed's example shows it. */
export function maskIds(ids: string[]): string {
  return ids.map((id) => (id.length > 4 ? `${id.slice(0, -4)}****` : '****')).join(',');
}

/** "2020-01-01 12:00:00", UTC. */
const paiTime = (iso: string) => iso.slice(0, 19).replace('T', ' ');

function present(a: Audience, g: Pick<PaiGroupsTable, 'source' | 'phone_number' | 'remark' | 'fields'>) {
  const f = JSON.parse(g.fields) as GroupFields;
  return {
    Algorithm: f.Algorithm ?? '',
    Amount: a.size ?? 0,
    Column: f.Column ?? '',
    CreatedTime: paiTime(a.createdAt),
    Filter: f.Filter ?? '',
    Id: String(a.id),
    InferenceJobId: f.InferenceJobId ?? '',
    Name: a.name,
    PhoneNumber: Number(g.phone_number) === 1,
    Project: f.Project ?? '',
    Remark: g.remark ?? '',
    Source: Number(g.source),
    Status: STATUS[a.status] ?? STATUS.ERROR,
    Table: f.Table ?? '',
    Text: f.Text ?? '',
    UpdatedTime: paiTime(a.updatedAt),
    Uri: f.Uri ?? '',
  };
}

/** What present() reads of a pai_groups row, beside the audience. */
const GROUP_COLUMNS = ['g.source', 'g.phone_number', 'g.remark', 'g.fields'] as const;

/** Checks a CreateGroup request and turns it into an audience request and the group's own fields. */
async function createRequest(app: App, accountId: string, p: Params): Promise<{ audience: CreateAudienceRequest; source: number; phone: boolean; remark?: string; fields: GroupFields }> {
  const source = required(int(p, 'Source'), 'Source', '(0 text, 1 text file, 2 CSV file, 3 table, 4 algorithm)');
  if (!(Object.values(SOURCES) as number[]).includes(source)) throw err('InvalidParameter', `Source ${source} is not one of 0 (text), 1 (text file), 2 (CSV file), 3 (table), 4 (algorithm)`, 'Source');
  const name = str(p, 'Name', 200);
  const remark = str(p, 'Remark', 2000);
  const phone = bool(p, 'PhoneNumber') ?? false;
  // A group of phone numbers reads its ids as mainland phone numbers; any
  // other group types each id by its shape (the engine's "detect"), so a
  // text or file of device ids, emails or hashes builds without naming a type.
  const idType = phone ? 'phone' : DETECT;
  const fields: GroupFields = {};
  const audience: CreateAudienceRequest = { name: name?.trim() || `pai-group-${randomBytes(6).toString('hex')}`, ...(remark !== undefined ? { description: remark } : {}) };

  if (source === SOURCES.ALGORITHM) {
    throw err('NotAvailable', 'Source 4 (algorithm): groups from an algorithm\'s predictions are not available on this deployment yet (no models are served); use Source 0, 1 or 2', 'Source');
  }
  if (source === SOURCES.TABLE) {
    if (!app.tables.configured) throw err('Forbidden', 'Source 3 (table): no table source is configured on this deployment; use Source 1 or 2 with an uploaded file', 'Source');
    await stageTable(app, accountId, p, audience, fields, idType);
    return { audience, source, phone, remark, fields };
  }
  if (source === SOURCES.TEXT) {
    const text = required(str(p, 'Text', 100_000), 'Text', 'when Source is 0 (text)');
    const ids = textIds(text);
    if (ids.length === 0) throw err('MissingParameter', 'Text holds no ids', 'Text');
    if (ids.length > MAX_TEXT_IDS) throw err('InvalidParameter', `Text holds ${ids.length} ids; at most ${MAX_TEXT_IDS} are allowed (upload a file and use Source 1 or 2 for more)`, 'Text');
    audience.ids = { idType, values: ids };
    fields.Text = maskIds(ids);
    return { audience, source, phone, remark, fields };
  }
  const why = `when Source is ${source} (${source === SOURCES.CSV_FILE ? 'CSV file' : 'text file'})`;
  const uri = required(str(p, 'Uri', 2048), 'Uri', why);
  const column = str(p, 'Column', 200);
  if (source === SOURCES.CSV_FILE) required(column, 'Column', why);
  const up = await uploadOfUri(app, accountId, uri);
  audience.files = [{ uploadId: up.id, idType, ...(source === SOURCES.CSV_FILE ? { csv: { column: column!.trim(), header: true } } : {}) }];
  fields.Uri = uri;
  if (source === SOURCES.CSV_FILE) fields.Column = column!.trim();
  return { audience, source, phone, remark, fields };
}

/**
 * Source 3: the column of a table the operator configured (Project is the
 * source's alias), filtered by Filter, read into a staging object that the
 * audience then builds from and owns, as an uploaded file. Everything the
 * request names is checked before a row is read; the name before the read
 * too, so a taken name does not cost a table scan.
 */
async function stageTable(app: App, accountId: string, p: Params, audience: CreateAudienceRequest, fields: GroupFields, idType: string): Promise<void> {
  const why = 'when Source is 3 (table)';
  const project = required(str(p, 'Project', 64), 'Project', why).trim();
  const table = required(str(p, 'Table', 256), 'Table', why).trim();
  const column = required(str(p, 'Column', 256), 'Column', why).trim();
  const filter = str(p, 'Filter', MAX_FILTER_LENGTH)?.trim() || undefined;
  const taken = await app.db.selectFrom('audiences').select('id').where('account_id', '=', accountId).where('name', '=', audience.name).executeTakeFirst();
  if (taken) throw err('AudienceNameTaken', `an audience named "${audience.name}" already exists in this account (id ${taken.id})`, 'Name');
  const read = await app.tables.open(accountId, { project, table, column, ...(filter !== undefined ? { filter } : {}) });
  // Groups from tables live where text groups do: cluster 1, else the first configured.
  const clusterId = app.stores.has(1) ? 1 : app.config.clusters[0].id;
  const staged = await stageColumn(app.audiences, accountId, clusterId, read, { name: `${project}.${read.table}.${read.column}`, filtered: filter !== undefined });
  audience.staged = [{ ...staged.file, idType, ...(staged.csv ? { csv: staged.csv } : {}) }];
  fields.Project = project;
  fields.Table = table;
  fields.Column = column;
  if (filter !== undefined) fields.Filter = filter;
}

/** The account's groups: each pai_groups row with its audience. */
const groupsOf = (app: App, accountId: string) =>
  app.db.selectFrom('pai_groups as g').innerJoin('audiences as a', 'a.id', 'g.audience_id').where('g.account_id', '=', accountId).where('a.account_id', '=', accountId);

/** One group, read with its audience in one query. */
async function groupOf(app: App, accountId: string, rawId: string | undefined) {
  const id = required(rawId, 'Id', '(the group id, from ListGroups)');
  const r = /^\d{1,15}$/.test(id) ? await groupsOf(app, accountId).selectAll('a').select(GROUP_COLUMNS).where('g.audience_id', '=', Number(id)).executeTakeFirst() : undefined;
  if (!r) throw err('AudienceNotFound', `group ${id} does not exist in this account`, 'Id');
  return { a: toAudience(r), g: r };
}

export const groupRoutes: FastifyPluginAsync = async (f) => {
  const app = f.app;
  const createLimit = new RateLimiter(QPS, app.now);
  const deleteLimit = new RateLimiter(QPS, app.now);

  /**
   * Runs one call and meters it. Calls refused before they reach here
   * (authentication, unparseable JSON) and calls over the QPS ceiling are
   * not counted; failures count only where the seed bills them.
   */
  async function metered<T>(req: FastifyRequest, api: string, billFailures: boolean, limiter: RateLimiter | undefined, fn: (accountId: string) => Promise<T>): Promise<T> {
    const accountId = requireAccount(req);
    if (limiter && !limiter.take(accountId)) throw err('RateLimited', `${api} is limited to ${QPS} calls per second per account; retry after a short delay`);
    // A counter that cannot be written is logged, never turned into a
    // failure of a call that was served (a group made but reported failed
    // would be made again by the retry).
    const count = (outcome: 'ok' | 'failed') => app.usage.record(accountId, `pai.${api}`, outcome).catch((e: unknown) => req.log.error({ err: e, api, outcome }, 'usage counter not written'));
    let out: T;
    try {
      out = await fn(accountId);
    } catch (e) {
      if (billFailures) await count('failed');
      throw e;
    }
    await count('ok');
    return out;
  }

  f.post('/CreateGroup', async (req) =>
    metered(req, 'CreateGroup', true, createLimit, async (accountId) => {
      const r = await createRequest(app, accountId, paramsOf(req));
      const group = { account_id: accountId, source: r.source, phone_number: r.phone ? 1 : 0, remark: r.remark ?? null, fields: JSON.stringify(r.fields) };
      // The group row commits with its audience: an audience is never left without it.
      const { audience } = await app.audiences.create(accountId, r.audience, {
        within: async (tx, a) => {
          await tx.insertInto('pai_groups').values({ audience_id: a.id, ...group }).execute();
        },
      });
      return paiOk(req, present(audience, group));
    }),
  );

  f.get('/GetGroup', async (req) =>
    metered(req, 'GetGroup', false, undefined, async (accountId) => {
      if (req.url.length > MAX_GET_CHARS) throw err('InvalidParameter', `the request is ${req.url.length} characters; GetGroup takes at most ${MAX_GET_CHARS}`);
      const { a, g } = await groupOf(app, accountId, str(paramsOf(req), 'Id', 64));
      return paiOk(req, present(a, g));
    }),
  );

  f.get('/ListGroups', async (req) =>
    metered(req, 'ListGroups', false, undefined, async (accountId) => {
      const p = paramsOf(req);
      const pageNumber = int(p, 'PageNumber') ?? 1;
      const pageSize = int(p, 'PageSize') ?? 10;
      if (pageNumber < 1) throw err('InvalidParameter', 'PageNumber starts at 1', 'PageNumber');
      if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw err('InvalidParameter', `PageSize must be 1 to ${MAX_PAGE_SIZE}`, 'PageSize');
      const name = str(p, 'Name', 200);
      const remark = str(p, 'Remark', 2000);
      const phone = bool(p, 'PhoneNumber');
      const source = int(p, 'Source');
      const status = int(p, 'Status');
      if (source !== undefined && !(Object.values(SOURCES) as number[]).includes(source)) throw err('InvalidParameter', `Source ${source} is not one of 0 to 4`, 'Source');
      if (status !== undefined && !STATUS_OF.has(status)) throw err('InvalidParameter', `Status ${status} is not one of 0 (ready), 1 (pending), 2 (processing), 3 (failed)`, 'Status');
      // Substring filters; LIKE's wildcards in the value are escaped, never interpreted.
      let q = groupsOf(app, accountId);
      if (name) q = q.where(likeContains('a.name', name));
      if (remark) q = q.where(likeContains('g.remark', remark));
      if (phone !== undefined) q = q.where('g.phone_number', '=', phone ? 1 : 0);
      if (source !== undefined) q = q.where('g.source', '=', source);
      if (status !== undefined) q = q.where('a.status', '=', STATUS_OF.get(status)!);
      const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const rows = await q
        .selectAll('a')
        .select(GROUP_COLUMNS)
        .orderBy('a.id', 'desc')
        .limit(pageSize)
        .offset((pageNumber - 1) * pageSize)
        .execute();
      return paiOk(req, {
        Groups: rows.map((r) => present(toAudience(r), r)),
        TotalCount: Number(total.n),
        PageNumber: pageNumber,
        PageSize: pageSize,
      });
    }),
  );

  // The seed deletes with DELETE /DeleteGroup/<Id>; Id in the query or body is accepted too.
  const deleteGroup = (req: FastifyRequest) =>
    metered(req, 'DeleteGroup', true, deleteLimit, async (accountId) => {
      const fromPath = (req.params as { Id?: string }).Id;
      const { a } = await groupOf(app, accountId, fromPath ?? str(paramsOf(req), 'Id', 64));
      await app.audiences.delete(accountId, a.id);
      return paiOk(req, { Id: String(a.id) });
    });
  f.delete('/DeleteGroup', deleteGroup);
  f.delete('/DeleteGroup/:Id', deleteGroup);
};
