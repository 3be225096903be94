// Tencent Marketing API coverage estimate:
//   POST /v1.3/custom_audience_estimations/get (the v1.3 SDK's method), and
//   GET with the parameters in the query string, audience_spec as JSON (the
//   v3.0 page's curl), as custom_audiences/get reads filtering.
// answers `data.user_count`, the size the audience would have, creating
// nothing (src/domain/audiences/reading.ts).
//
// The request is `account_id`, `type` and `audience_spec` as in
// custom_audiences/add, checked by the same rules (the add tree's
// audience_spec, audience-rules.ts), with `audience_spec` always required:
// - COMBINE is estimated exactly: the inputs (the account's own or shared
//   with it, built, neither COMBINE nor LOOKALIKE, at most 500) are combined
//   at their current versions and counted.
// - CUSTOMER_FILE is our extension (the vendor estimates COMBINE only):
//   `audience_spec.customer_file_spec: {data_path | resource_url, user_id_type}`
//   names an upload of the account; it is read without adding any id to the
//   dictionary. `user_count` is the users already known plus the distinct new
//   ids (when the account's files add users), with the file's counts beside it.
// - USER_ACTION, KEYWORD, AD and LBS rules are run now over the event store,
//   as their audience's first build would run them, and counted.
// - LOOKALIKE (its seed checked as add checks it) is checked in full and
//   answered NotAvailable.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { App } from '../../../app.js';
import { TENCENT_USER_ID_TYPES, fromTencent } from '../../../domain/identities/index.js';
import { err } from '../../../errors.js';
import { uploadOfUri } from '../upload-uri.js';
import { runRule } from '../../../domain/audiences/build.js';
import { checkRuleSources } from '../../rule-sources.js';
import { ACTION_SET_FIELD, ADD_REQUEST, checkCombineSize, ruleOf, validate, type AddRequest, type Node } from './audience-rules.js';
import { checkAccount } from './auth.js';
import { adsOk } from './errors.js';
import { checkCombineInputs, checkLookalikeSeed, combineIds } from './inputs.js';
import { queryParams } from './query.js';

type Struct = Extract<Node, { t: 'struct' }>;

const FILE_SPEC = 'audience_spec.customer_file_spec';

/** What an answer may hold (and `fields` may ask for): the vendor's user_count, and the file estimate's counts. */
export const ESTIMATE_FIELDS = ['user_count', 'matched_user_count', 'new_id_count', 'line_count', 'valid_line_count', 'invalid_line_count'] as const;

const add = ADD_REQUEST as Struct;
const { requiredWhen: _onlyWithoutCustomerFile, ...addSpec } = add.fields.audience_spec as Struct;

export const ESTIMATE_REQUEST: Node = {
  t: 'struct',
  fields: {
    account_id: add.fields.account_id,
    type: add.fields.type,
    audience_spec: {
      ...addSpec,
      required: true,
      fields: {
        ...addSpec.fields,
        customer_file_spec: {
          t: 'struct',
          requiredWhen: [{ path: '$.type', eq: 'CUSTOMER_FILE' }],
          onlyWhen: { path: '$.type', eq: 'CUSTOMER_FILE' },
          atMostOne: [['data_path', 'resource_url']],
          fields: {
            // An upload's data_path (oss://bucket/key or s3://bucket/key) or its ResourceUrl.
            data_path: { t: 'string', minBytes: 1, maxBytes: 2048 },
            resource_url: { t: 'string', minBytes: 1, maxBytes: 2048 },
            user_id_type: { t: 'enum', required: true, values: Object.keys(TENCENT_USER_ID_TYPES) },
          },
        },
      },
    },
    fields: { t: 'array', min: 1, max: ESTIMATE_FIELDS.length, of: { t: 'enum', values: ESTIMATE_FIELDS } },
  },
};

type EstimateRequest = Pick<AddRequest, 'account_id' | 'type'> & {
  audience_spec: NonNullable<AddRequest['audience_spec']> & { customer_file_spec?: { data_path?: string; resource_url?: string; user_id_type: keyof typeof TENCENT_USER_ID_TYPES } };
  fields?: Array<(typeof ESTIMATE_FIELDS)[number]>;
};

/** The body of a POST, or the query of a GET with audience_spec (and fields) as JSON; `fields` may also come bare, as the SDKs repeat it. */
function requestOf(req: FastifyRequest): unknown {
  if (req.method !== 'GET') return req.body;
  const q = { ...((req.query ?? {}) as Record<string, unknown>) };
  if (typeof q.fields === 'string' && !q.fields.trimStart().startsWith('[')) q.fields = [q.fields];
  return queryParams(q, ['audience_spec', 'fields']);
}

async function estimateFile(app: App, accountId: string, spec: NonNullable<EstimateRequest['audience_spec']['customer_file_spec']>): Promise<Record<string, number>> {
  const uri = spec.data_path ?? spec.resource_url;
  if (uri === undefined) throw err('MissingParameter', `${FILE_SPEC}.data_path (or resource_url) is required: the upload to estimate`, `${FILE_SPEC}.data_path`);
  const uriField = `${FILE_SPEC}.${spec.data_path !== undefined ? 'data_path' : 'resource_url'}`;
  const upload = await uploadOfUri(app, accountId, uri, uriField);
  const idType = fromTencent(spec.user_id_type)!;
  const e = await app.reader.estimateFiles(accountId, [{ uploadId: upload.id, idType }], (_i, name) => (name === 'id_type' ? `${FILE_SPEC}.user_id_type` : uriField));
  const r = e.files[0].report;
  return { user_count: e.size, matched_user_count: e.knownUsers, new_id_count: e.newIds, line_count: r.lines, valid_line_count: r.validLines, invalid_line_count: r.invalidLines };
}

export const adsEstimations: FastifyPluginAsync = async (f) => {
  const app = f.app;
  const handler = async (req: FastifyRequest) => {
    const b = validate<EstimateRequest>(ESTIMATE_REQUEST, requestOf(req), app.now());
    const accountId = checkAccount(req, b.account_id);
    let data: Record<string, number>;
    if (b.type === 'COMBINE') {
      const spec = b.audience_spec.combine_spec!;
      // The add request's walk checks this itself; the estimate's generic walk does not.
      checkCombineSize(spec);
      await checkCombineInputs(app, accountId, spec);
      data = { user_count: (await app.reader.estimateCombine(accountId, combineIds(spec))).size };
    } else if (b.type === 'CUSTOMER_FILE') {
      data = await estimateFile(app, accountId, b.audience_spec.customer_file_spec!);
    } else if (b.type === 'LOOKALIKE') {
      await checkLookalikeSeed(app, accountId, b.audience_spec.lookalike_spec!.seed_audience_id);
      throw err('NotAvailable', 'estimates of lookalike expansion are not available on this deployment', 'type');
    } else {
      // A rule: run now, exactly as its audience's first build would run it.
      const rule = ruleOf(b.type, b.audience_spec)!;
      await checkRuleSources(app, accountId, rule, ACTION_SET_FIELD);
      data = { user_count: (await runRule(app.eventStore, app.config, accountId, rule, app.now())).size };
    }
    return adsOk(b.fields ? Object.fromEntries(b.fields.filter((k) => k in data).map((k) => [k, data[k]])) : data);
  };
  f.post('/custom_audience_estimations/get', handler);
  f.get('/custom_audience_estimations/get', handler);
};
