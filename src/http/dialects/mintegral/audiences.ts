// Mintegral's audience calls on /api/open/v1/audience, as a thin mapping onto
// the audience domain (docs/dialects.md, "Mintegral"):
//   POST   create  {ta_name, area_type, platform, data_path: [{device_type, data_path}]} → {ta_id}
//   PUT    update  {ta_id, data_path: [...]}  → a replace change; 12 hours apart
//   DELETE         {ta_id: [..]}              → all or nothing
//   GET    list    ?ta_ids=&ta_name=&platform=&page=&limit=
// Every field is checked here first, so a refusal names Mintegral's field
// (data_path[1].device_type), not the domain's (files[1].id_type). The
// platform and the device_type numbers have no place in the audience model;
// they live in mintegral_audiences (migration 0006).
import type { FastifyPluginAsync } from 'fastify';
import { AppError, err } from '../../../errors.js';
import type { App } from '../../../app.js';
import { MAX_FILES_PER_CHANGE, MAX_NAME_LENGTH, type FileRequest } from '../../../domain/audiences/service.js';
import { toAudience, type Audience } from '../../../domain/audiences/types.js';
import { fromMintegral } from '../../../domain/identities/vendor-maps.js';
import { likeContains } from '../../../infra/db/sql.js';
import { ok } from './errors.js';

/** Mintegral: "The audience cannot be updated again within 12 hours of creation or modification." */
export const UPDATE_INTERVAL_MS = 12 * 3_600_000;
export const PLATFORMS: Readonly<Record<number, string>> = Object.freeze({ 1: 'Android', 2: 'iOS', 3: 'mixed' });
/** Mintegral's list: "limit … Maximum 500, >500 return to 500"; default 10. */
export const LIST_DEFAULT_LIMIT = 10;
export const LIST_MAX_LIMIT = 500;
/** ta_ids accepted by one DELETE (the list's page size). */
export const MAX_DELETE_IDS = 500;

type Body = Record<string, unknown>;

export const audiences: FastifyPluginAsync = async (f) => {
  const app = f.app;

  f.post('/audience', { schema: { hide: true } }, async (req) => {
    const b = bodyOf(req.body);
    const name = checkTaName(b.ta_name);
    const areaType = intField(b.area_type, 'area_type', 'area_type must be 1 (outside mainland China) or 2 (mainland China)');
    if (!app.config.clusters.some((c) => c.id === areaType)) throw err('InvalidParameter', `area_type ${areaType} is not a data cluster of this deployment`, 'area_type');
    const platform = platformField(b.platform);
    const files = await checkDataPaths(app, req.accountId!, b.data_path, areaType);

    const at = app.now();
    const { audience } = await app.audiences
      .create(
        req.accountId!,
        { name, clusterId: areaType, files: files.requests },
        {
          within: async (tx, a) => {
            await tx.insertInto('mintegral_audiences').values({ audience_id: a.id, account_id: req.accountId!, platform, device_types: files.deviceTypes, created_at: at, updated_at: at }).execute();
          },
        },
      )
      .catch(renameField({ name: 'ta_name' }));
    return ok({ ta_id: audience.id });
  });

  f.put('/audience', { schema: { hide: true } }, async (req) => {
    const b = bodyOf(req.body);
    const id = intField(b.ta_id, 'ta_id', 'ta_id must be an audience id (an integer)');
    const audience = await app.audiences.get(req.accountId!, id).catch(renameField({ audience_id: 'ta_id' }));
    if (audience.type !== 'CUSTOMER_FILE') throw err('InvalidParameter', `audience ${id} is a ${audience.type} audience, made from other audiences, not from files`, 'ta_id');
    // The request is checked whole before the 12 hours are: a refusal names every fixable mistake first.
    const files = await checkDataPaths(app, req.accountId!, b.data_path, audience.clusterId);
    await checkUpdateInterval(app, audience);

    // Replace, not append: Mintegral's update takes the same data_path list
    // as create and no operation, and the 12-hour spacing fits a periodic
    // refresh where each call sends the whole current audience.
    await app.audiences.change(req.accountId!, id, { operation: 'replace', files: files.requests }).catch(renameField({ audience_id: 'ta_id' }));
    const at = app.now();
    // An audience made through another API has no row yet: Mintegral's platform is unknown, so "mixed".
    await app.db
      .insertInto('mintegral_audiences')
      .values({ audience_id: id, account_id: req.accountId!, platform: 3, device_types: files.deviceTypes, created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('audience_id').doUpdateSet({ device_types: files.deviceTypes, updated_at: at }))
      .execute();
    return ok({ ta_id: id });
  });

  f.delete('/audience', { schema: { hide: true } }, async (req) => {
    const b = bodyOf(req.body);
    if (b.ta_id === undefined || b.ta_id === null) throw err('MissingParameter', 'ta_id is required: a list of audience ids', 'ta_id');
    const raw = Array.isArray(b.ta_id) ? b.ta_id : [b.ta_id];
    if (raw.length === 0) throw err('InvalidParameter', 'ta_id must list at least one audience id', 'ta_id');
    if (raw.length > MAX_DELETE_IDS) throw err('InvalidParameter', `at most ${MAX_DELETE_IDS} audience ids per call, got ${raw.length}`, 'ta_id');
    const ids = [...new Set(raw.map((v, i) => intField(v, `ta_id[${i}]`, `ta_id[${i}] must be an audience id (an integer)`)))];
    // All or nothing: every id is checked before the first is deleted.
    const found = await app.db.selectFrom('audiences').select('id').where('account_id', '=', req.accountId!).where('id', 'in', ids).execute();
    const have = new Set(found.map((r) => Number(r.id)));
    const missing = ids.filter((id) => !have.has(id));
    if (missing.length > 0) {
      throw err('AudienceNotFound', `audience ${missing.join(', ')} does not exist in this account; nothing was deleted`, `ta_id[${raw.findIndex((v) => Number(v) === missing[0])}]`);
    }
    for (const id of ids) {
      // A concurrent delete of the same audience has done the work already.
      await app.audiences.delete(req.accountId!, id).catch((e: unknown) => {
        if ((e as { code?: string }).code !== 'AudienceNotFound') throw e;
      });
    }
    return ok({ ta_id: ids });
  });

  f.get('/audience', { schema: { hide: true } }, async (req) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const page = q.page === undefined || q.page === '' ? 1 : intField(q.page, 'page', 'page must be a positive integer');
    if (page < 1) throw err('InvalidParameter', 'page must be a positive integer (the first page is 1)', 'page');
    let limit = q.limit === undefined || q.limit === '' ? LIST_DEFAULT_LIMIT : intField(q.limit, 'limit', 'limit must be a positive integer');
    if (limit < 1) throw err('InvalidParameter', `limit must be 1 to ${LIST_MAX_LIMIT}`, 'limit');
    limit = Math.min(limit, LIST_MAX_LIMIT);
    const platform = q.platform !== undefined && q.platform !== '' ? platformField(q.platform) : undefined;
    let taIds: number[] | undefined;
    if (typeof q.ta_ids === 'string' && q.ta_ids !== '') {
      const parts = q.ta_ids.split(',').map((s) => s.trim());
      if (parts.length > LIST_MAX_LIMIT) throw err('InvalidParameter', `at most ${LIST_MAX_LIMIT} ta_ids`, 'ta_ids');
      taIds = parts.map((s) => intField(s, 'ta_ids', `ta_ids must be audience ids separated by commas, got "${s}"`));
    }
    const name = typeof q.ta_name === 'string' && q.ta_name !== '' ? q.ta_name : undefined;

    let base = app.db
      .selectFrom('audiences as a')
      .leftJoin('mintegral_audiences as m', 'm.audience_id', 'a.id')
      .where('a.account_id', '=', req.accountId!);
    if (taIds) base = base.where('a.id', 'in', taIds);
    if (name) base = base.where(likeContains('a.name', name));
    if (platform !== undefined) base = base.where('m.platform', '=', platform);
    const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await base
      .selectAll('a')
      .select(['m.platform as m_platform', 'm.device_types as m_device_types'])
      .orderBy('a.id', 'desc')
      .limit(limit)
      .offset((page - 1) * limit)
      .execute();
    const list = rows.map((r) => present(toAudience(r), r.m_platform === null ? null : Number(r.m_platform), r.m_device_types));
    return ok({ page, limit, current_total: list.length, total, list });
  });
};

/** One audience as Mintegral's list shows it, plus its build state (status, size). */
function present(a: Audience, platform: number | null, deviceTypes: string | null) {
  return {
    ta_id: a.id,
    ta_name: a.name,
    // Mintegral's ta_type 1 is an uploaded audience; 2 marks one combined from others (ours only).
    ta_type: a.type === 'CUSTOMER_FILE' ? 1 : 2,
    platform,
    device_type: deviceTypes ?? '',
    area_type: a.clusterId,
    status: STATUS[a.status],
    size: a.size,
    ...(a.error ? { error_msg: a.error.message } : {}),
    ctime: Math.floor(Date.parse(a.createdAt) / 1000),
    utime: Math.floor(Date.parse(a.updatedAt) / 1000),
  };
}

/** The audience's state in three words: being built, usable, failed. */
const STATUS: Record<Audience['status'], string> = { PENDING: 'processing', PROCESSING: 'processing', SUCCESS: 'ready', ERROR: 'failed' };

function bodyOf(body: unknown): Body {
  if (body === undefined || body === null) throw err('InvalidRequest', 'the request needs a JSON object body');
  if (typeof body !== 'object' || Array.isArray(body)) throw err('InvalidRequest', 'the body must be a JSON object');
  return body as Body;
}

/** A Mintegral int: a JSON integer, or a string of digits. Missing → MissingParameter, else InvalidParameter with `invalid`. */
function intField(v: unknown, field: string, invalid: string): number {
  if (v === undefined || v === null || v === '') throw err('MissingParameter', `${field} is required`, field);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v)) return Number(v);
  throw err('InvalidParameter', invalid, field);
}

function platformField(v: unknown): number {
  const platform = intField(v, 'platform', 'platform must be 1 (Android), 2 (iOS) or 3 (mixed)');
  if (!(platform in PLATFORMS)) throw err('InvalidParameter', `platform must be 1 (Android), 2 (iOS) or 3 (mixed), got ${platform}`, 'platform');
  return platform;
}

/** Mintegral's ta_name, checked as the audience domain checks a name but refused under Mintegral's field, before any data_path is looked up. */
function checkTaName(v: unknown): string {
  if (v === undefined || v === null) throw err('MissingParameter', 'ta_name is required', 'ta_name');
  if (typeof v !== 'string') throw err('InvalidParameter', 'ta_name must be a string', 'ta_name');
  const n = v.trim();
  if (n.length === 0) throw err('InvalidParameter', 'ta_name must not be empty', 'ta_name');
  if (n.length > MAX_NAME_LENGTH) throw err('InvalidParameter', `ta_name is ${n.length} characters; at most ${MAX_NAME_LENGTH}`, 'ta_name');
  if (/[\0-\x1f]/.test(n)) throw err('InvalidParameter', 'ta_name must not hold control characters', 'ta_name');
  return n;
}

/**
 * The data_path list: each entry a known device_type and the data_path of a
 * READY upload of this account in the audience's cluster. Answers the
 * domain's file requests and the device_type numbers as Mintegral lists them.
 */
async function checkDataPaths(app: App, accountId: string, v: unknown, clusterId: number): Promise<{ requests: FileRequest[]; deviceTypes: string }> {
  if (v === undefined || v === null) throw err('MissingParameter', 'data_path is required: a list of {device_type, data_path}', 'data_path');
  if (!Array.isArray(v) || v.length === 0) throw err('InvalidParameter', 'data_path must be a non-empty list of {device_type, data_path}', 'data_path');
  if (v.length > MAX_FILES_PER_CHANGE) throw err('InvalidParameter', `at most ${MAX_FILES_PER_CHANGE} data_path entries, got ${v.length}`, 'data_path');
  const requests: FileRequest[] = [];
  const numbers: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const e = v[i] as Body;
    const at = `data_path[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw err('InvalidParameter', `${at} must be an object {device_type, data_path}`, at);
    const deviceType = intField(e.device_type, `${at}.device_type`, `${at}.device_type must be a Mintegral device type number`);
    const idType = fromMintegral(deviceType);
    if (!idType) throw err('InvalidParameter', `${at}.device_type ${deviceType} is not a Mintegral device type (1 IMEI, 2 IDFA, 3 GAID, 4 OAID, 6 IMEI_MD5, 7 IDFA_MD5, 8 GAID_MD5, 9 OAID_MD5, 12 IDFV, 13 IDFV_MD5)`, `${at}.device_type`);
    const path = e.data_path;
    if (path === undefined || path === null || path === '') throw err('MissingParameter', `${at}.data_path is required`, `${at}.data_path`);
    if (typeof path !== 'string') throw err('InvalidParameter', `${at}.data_path must be a string`, `${at}.data_path`);
    const up = await app.uploads.findByDataPath(accountId, path);
    if (!up) throw err('UploadNotFound', `${at}.data_path ${path} is not an upload of this account; get one from presigned-upload-data`, `${at}.data_path`);
    if (up.status !== 'READY') throw err('UploadNotReady', `${at}.data_path ${path} is ${up.status}; only a completely uploaded (READY) file can be used`, `${at}.data_path`);
    if (up.clusterId !== clusterId) {
      throw err('InvalidParameter', `${at}.data_path ${path} was uploaded for area_type ${up.clusterId}; this audience is in area_type ${clusterId}`, `${at}.data_path`);
    }
    requests.push({ uploadId: up.id, idType });
    if (!numbers.includes(deviceType)) numbers.push(deviceType);
  }
  return { requests, deviceTypes: numbers.join(',') };
}

/** Refuses an update within 12 hours of the audience's creation or its last change (from any API). */
async function checkUpdateInterval(app: App, audience: Audience): Promise<void> {
  const last = await app.audiences.lastChange(audience.id);
  const since = Math.max(Date.parse(audience.createdAt), last ? Date.parse(last.createdAt) : 0);
  const next = since + UPDATE_INTERVAL_MS;
  if (app.now() < next) {
    throw err(
      'UpdateTooSoon',
      `audience ${audience.id} was last created or updated at ${new Date(since).toISOString()}; it can be updated again from ${new Date(next).toISOString()} (12 hours later)`,
      'ta_id',
    );
  }
}

/** Re-throws a domain refusal under Mintegral's field name (name → ta_name, audience_id → ta_id). */
function renameField(map: Record<string, string>) {
  return (e: unknown): never => {
    if (e instanceof AppError && e.field && map[e.field]) throw new AppError(e.code, e.message, map[e.field]);
    throw e;
  };
}
