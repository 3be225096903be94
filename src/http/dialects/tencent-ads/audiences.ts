// Tencent Marketing API audience calls (seed 001 and its neighbours):
//   POST /v1.3/custom_audiences/add, GET /v1.3/custom_audiences/get,
//   POST /v1.3/custom_audiences/update, POST /v1.3/custom_audiences/delete.
// A thin mapping onto the audience domain: the request is checked against
// every rule of the seed (audience-rules.ts), then handed to AudienceService.
//
// Types served: CUSTOMER_FILE (created empty; files come through
// custom_audience_files), COMBINE, and the rule types USER_ACTION, KEYWORD,
// AD and LBS (built from behaviour data, docs/behaviour-data.md). LOOKALIKE
// is checked in full and then refused with NotAvailable: an audience is
// never accepted and left pending when nothing here could ever build it.
import type { FastifyPluginAsync } from 'fastify';
import { expressionBuilder, type Expression, type SqlBool } from 'kysely';
import { err } from '../../../errors.js';
import { toAudience, type Audience } from '../../../domain/audiences/types.js';
import type { Db } from '../../../infra/db/index.js';
import type { Database } from '../../../infra/db/schema.js';
import { holdsExactly } from '../../../infra/db/sql.js';
import {
  AUDIENCE_FIELDS,
  DELETE_REQUEST,
  FILTER_FIELDS,
  GET_QUERY,
  UPDATE_REQUEST,
  validate,
  validateAddRequest,
  ACTION_SET_FIELD,
  ruleOf,
  vendorTime,
  type AddRequest,
} from './audience-rules.js';
import { checkAccount } from './auth.js';
import { checkRuleSources } from '../../rule-sources.js';
import { adsOk } from './errors.js';
import { checkCombineInputs, checkLookalikeSeed, combineIds } from './inputs.js';
import { queryParams } from './query.js';

function present(a: Audience): Record<string, unknown> {
  return {
    audience_id: a.id,
    account_id: Number(a.accountId),
    name: a.name,
    external_audience_id: a.externalId ?? '',
    description: a.description ?? '',
    cooperated: false,
    type: a.type,
    source: 'ADVERTISER_OWN_DATA',
    status: a.status,
    online_status: a.status === 'SUCCESS' ? 'ONLINE' : 'OFFLINE',
    // The vendor's error_code is a number: 0 when none; the reason is in error_message.
    error_code: a.error ? 1 : 0,
    error_message: a.error ? `${a.error.code}: ${a.error.message}` : '',
    user_count: a.size ?? 0,
    created_time: vendorTime(a.createdAt),
    last_modified_time: vendorTime(a.updatedAt),
    audience_spec: a.combine
      ? { combine_spec: { include: a.combine.include.map((g) => g.map((id) => ({ audience_id: id }))), exclude: a.combine.exclude.map((g) => g.map((id) => ({ audience_id: id }))) } }
      : {},
  };
}

export const adsAudiences: FastifyPluginAsync = async (f) => {
  const app = f.app;

  f.post('/custom_audiences/add', async (req) => {
    const body: AddRequest = validateAddRequest(req.body, app.now());
    const accountId = checkAccount(req, body.account_id);
    if (body.type === 'LOOKALIKE') {
      await checkLookalikeSeed(app, accountId, body.audience_spec!.lookalike_spec!.seed_audience_id);
      throw err('NotAvailable', 'lookalike expansion is not available on this deployment', 'type');
    }
    const common = { name: body.name, description: body.description, externalId: body.external_audience_id };
    const rule = body.audience_spec && ruleOf(body.type, body.audience_spec);
    if (rule) {
      await checkRuleSources(app, accountId, rule, ACTION_SET_FIELD);
      const r = await app.audiences.create(accountId, { ...common, type: rule.type, rule });
      return adsOk({ audience_id: r.audience.id });
    }
    if (body.type === 'COMBINE') {
      const spec = body.audience_spec!.combine_spec!;
      // Inputs of the account or shared with it (grants.ts), as the estimate reads them.
      await checkCombineInputs(app, accountId, spec);
      const r = await app.audiences.create(accountId, { ...common, type: 'COMBINE', combine: combineIds(spec) });
      return adsOk({ audience_id: r.audience.id });
    }
    const r = await app.audiences.create(accountId, { ...common, type: 'CUSTOMER_FILE' });
    return adsOk({ audience_id: r.audience.id });
  });

  f.get('/custom_audiences/get', async (req) => {
    // filtering and fields are JSON in the query string, as the vendor sends them.
    const raw = queryParams(req.query, ['filtering', 'fields'], 'JSON (a list)');
    if (Array.isArray(raw.filtering)) {
      raw.filtering = raw.filtering.map((x: unknown) =>
        x && typeof x === 'object' && Array.isArray((x as { values?: unknown }).values)
          ? { ...x, values: (x as { values: unknown[] }).values.map((v) => (typeof v === 'number' ? String(v) : v)) }
          : x,
      );
    }
    const q = validate<{
      account_id: number;
      audience_id?: number;
      filtering?: Array<{ field: keyof typeof FILTER_FIELDS; operator: string; values: string[] }>;
      page?: number;
      page_size?: number;
      fields?: string[];
    }>(GET_QUERY, raw, app.now());
    const accountId = checkAccount(req, q.account_id);
    for (const [i, flt] of (q.filtering ?? []).entries()) {
      const ops: readonly string[] = FILTER_FIELDS[flt.field];
      if (!ops.includes(flt.operator)) throw err('InvalidParameter', `filtering[${i}].operator for ${flt.field} must be ${ops.join(' or ')}, got ${flt.operator}`, `filtering[${i}].operator`);
      if (flt.operator !== 'IN' && flt.values.length !== 1) throw err('InvalidParameter', `filtering[${i}].values takes one value with ${flt.operator}`, `filtering[${i}].values`);
    }
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? 10;
    let total: number;
    let items: Audience[];
    if (q.audience_id !== undefined) {
      const one = [await app.audiences.get(accountId, q.audience_id)];
      total = one.length;
      items = one.slice((page - 1) * pageSize, page * pageSize);
    } else {
      // The domain pages by cursor; the vendor by page number with a total,
      // so the page and the count are read here, filtered in the query.
      let base = app.db.selectFrom('audiences').where('account_id', '=', accountId);
      for (const flt of q.filtering ?? []) base = base.where(matching(app.db, flt));
      total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const rows = await base.selectAll().orderBy('id', 'desc').limit(pageSize).offset((page - 1) * pageSize).execute();
      items = rows.map(toAudience);
    }
    const fields = q.fields ?? [...AUDIENCE_FIELDS];
    const list = items.map((a) => {
      const full = present(a);
      return Object.fromEntries(fields.map((k) => [k, full[k]]));
    });
    return adsOk({ list, page_info: { page, page_size: pageSize, total_number: total, total_page: Math.ceil(total / pageSize) } });
  });

  f.post('/custom_audiences/update', async (req) => {
    const b = validate<{ account_id: number; audience_id: number; name?: string; audience_name?: string; description?: string; cooperated?: boolean }>(UPDATE_REQUEST, req.body, app.now());
    const accountId = checkAccount(req, b.account_id);
    const name = b.name ?? b.audience_name;
    if (name === undefined && b.description === undefined && b.cooperated === undefined) throw err('MissingParameter', 'give name or description to update', 'name');
    await app.audiences.update(accountId, b.audience_id, { name, description: b.description });
    return adsOk({});
  });

  f.post('/custom_audiences/delete', async (req) => {
    const b = validate<{ account_id: number; audience_id: number }>(DELETE_REQUEST, req.body, app.now());
    const accountId = checkAccount(req, b.account_id);
    await app.audiences.delete(accountId, b.audience_id);
    return adsOk({});
  });
};

/**
 * One filter as a condition of the query. Values compare as the vendor's
 * strings: an audience_id matches only its own decimal form, CONTAINS (on
 * name) is a case-sensitive substring.
 */
function matching(db: Db, flt: { field: keyof typeof FILTER_FIELDS; operator: string; values: string[] }): Expression<SqlBool> {
  if (flt.operator === 'CONTAINS') return holdsExactly(db, 'name', flt.values[0]);
  const eb = expressionBuilder<Database, 'audiences'>();
  if (flt.field === 'audience_id') {
    const ids = flt.values.filter((v) => /^[1-9]\d{0,14}$/.test(v)).map(Number);
    return ids.length > 0 ? eb('id', 'in', ids) : eb.lit(false);
  }
  return eb(flt.field === 'external_audience_id' ? 'external_id' : flt.field, 'in', flt.values);
}
