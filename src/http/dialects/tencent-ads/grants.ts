// Tencent Marketing API audience sharing:
//   POST /v1.3/audience_grant_relations/add, GET /v1.3/audience_grant_relations/get,
// over the domain's read-only grants (src/domain/audiences/grants.ts).
//
// Reading of the vendor's pages (developers.e.qq.com/v3.0/docs/api/audience_grant_relations/*):
// - A grant goes to a business manager (商务管家, `grant_business_id`) and,
//   with GRANT_SCOPE_TYPE_ACCOUNT, to the ad accounts listed in
//   `grant_account_permission`. This deployment has accounts and no business
//   managers: the listed accounts receive the grant, and grant_business_id
//   is checked (0 to 2^31-1) and not kept (answered as 0).
// - GRANT_SCOPE_TYPE_BUSINESS (every account of the manager) is no longer
//   served by the vendor's call either ("仅支持 GRANT_SCOPE_TYPE_ACCOUNT"):
//   it is checked in full and answered NotAvailable.
// - Permissions: GRANT_PERMISSION_TYPE_TARGET (use in targeting) is what a
//   grant here gives: the account may use the audience as a COMBINE input.
//   GRANT_PERMISSION_TYPE_INSIGHT is accepted beside it and not kept; alone
//   it would ask for less than any grant here gives, so it is NotAvailable.
// - The get page documents grant_account_permission as struct[] while its
//   example and the SDK's GrantToBusinessSpec hold one struct: one list item
//   per audience and account, with one struct, as the SDK reads it.
import type { FastifyPluginAsync } from 'fastify';
import { err } from '../../../errors.js';
import { validate, type Node } from './audience-rules.js';
import { checkAccount } from './auth.js';
import { adsOk } from './errors.js';
import { queryParams } from './query.js';

const INT32_MAX = 2_147_483_647;
const PERMISSIONS = ['GRANT_PERMISSION_TYPE_TARGET', 'GRANT_PERMISSION_TYPE_INSIGHT'] as const;
const SCOPE = '$.grant_spec.grant_to_business_spec.grant_scope_type';
const BUSINESS_SPEC = 'grant_spec.grant_to_business_spec';

const permissionList: Node = { t: 'array', required: true, min: 1, max: PERMISSIONS.length, of: { t: 'enum', values: PERMISSIONS } };

export const GRANT_ADD_REQUEST: Node = {
  t: 'struct',
  fields: {
    account_id: { t: 'int', required: true, min: 1 },
    // "同 bm 授权时支持批量人群授权": 1 to 20 audiences per call.
    audience_id_list: { t: 'array', required: true, min: 1, max: 20, of: { t: 'int', min: 1, max: INT32_MAX } },
    grant_type: { t: 'enum', required: true, values: ['GRANT_TYPE_BUSINESS'] },
    grant_spec: {
      t: 'struct',
      required: true,
      fields: {
        grant_to_business_spec: {
          t: 'struct',
          required: true,
          fields: {
            grant_business_id: { t: 'int', required: true, min: 0, max: INT32_MAX },
            grant_scope_type: { t: 'enum', required: true, values: ['GRANT_SCOPE_TYPE_BUSINESS', 'GRANT_SCOPE_TYPE_ACCOUNT'] },
            grant_business_permission: {
              t: 'struct',
              requiredWhen: [{ path: SCOPE, eq: 'GRANT_SCOPE_TYPE_BUSINESS' }],
              onlyWhen: { path: SCOPE, eq: 'GRANT_SCOPE_TYPE_BUSINESS' },
              fields: { grant_permission_type_list: permissionList },
            },
            grant_account_permission: {
              t: 'array',
              requiredWhen: [{ path: SCOPE, eq: 'GRANT_SCOPE_TYPE_ACCOUNT' }],
              onlyWhen: { path: SCOPE, eq: 'GRANT_SCOPE_TYPE_ACCOUNT' },
              min: 1,
              max: 100,
              of: { t: 'struct', fields: { account_id: { t: 'int', required: true, min: 1 }, grant_permission_type_list: permissionList } },
            },
          },
        },
      },
    },
  },
};

/** The fields of one item of audience_grant_relations/get (and what `fields` may ask for). */
export const GRANT_FIELDS = ['audience_id', 'grant_type', 'grant_spec'] as const;

export const GRANT_GET_QUERY: Node = {
  t: 'struct',
  fields: {
    account_id: { t: 'int', required: true, min: 1 },
    filtering: {
      t: 'array',
      max: 1,
      of: {
        t: 'struct',
        fields: {
          field: { t: 'enum', required: true, values: ['audience_id'] },
          operator: { t: 'enum', required: true, values: ['IN', 'EQUALS'] },
          values: { t: 'array', required: true, min: 1, max: 100, of: { t: 'int', min: 0, max: INT32_MAX } },
        },
      },
    },
    page: { t: 'int', min: 1, max: 99_999 },
    page_size: { t: 'int', min: 1, max: 100 },
    fields: { t: 'array', min: 1, max: GRANT_FIELDS.length, of: { t: 'enum', values: GRANT_FIELDS } },
  },
};

interface AddBody {
  account_id: number;
  audience_id_list: number[];
  grant_type: 'GRANT_TYPE_BUSINESS';
  grant_spec: {
    grant_to_business_spec: {
      grant_business_id: number;
      grant_scope_type: 'GRANT_SCOPE_TYPE_BUSINESS' | 'GRANT_SCOPE_TYPE_ACCOUNT';
      grant_business_permission?: { grant_permission_type_list: string[] };
      grant_account_permission?: Array<{ account_id: number; grant_permission_type_list: string[] }>;
    };
  };
}

export const adsGrants: FastifyPluginAsync = async (f) => {
  const app = f.app;

  f.post('/audience_grant_relations/add', async (req) => {
    const b = validate<AddBody>(GRANT_ADD_REQUEST, req.body, app.now());
    const accountId = checkAccount(req, b.account_id);
    const spec = b.grant_spec.grant_to_business_spec;
    // The audiences first, all of them, so a refusal leaves nothing granted.
    for (const [i, id] of b.audience_id_list.entries()) {
      await app.audiences.get(accountId, id).catch((e: { code?: string }) => {
        if (e.code === 'AudienceNotFound') throw err('AudienceNotFound', `audience ${id} does not exist in this account`, `audience_id_list[${i}]`);
        throw e;
      });
    }
    if (spec.grant_scope_type === 'GRANT_SCOPE_TYPE_BUSINESS') {
      throw err('NotAvailable', 'sharing with every account of a business manager is not available; list the accounts with GRANT_SCOPE_TYPE_ACCOUNT', `${BUSINESS_SPEC}.grant_scope_type`);
    }
    const list = spec.grant_account_permission!;
    for (const [i, p] of list.entries()) {
      if (!p.grant_permission_type_list.includes('GRANT_PERMISSION_TYPE_TARGET')) {
        throw err('NotAvailable', 'a grant here lets the account use the audience in targeting (GRANT_PERMISSION_TYPE_TARGET); insight alone is not available', `${BUSINESS_SPEC}.grant_account_permission[${i}].grant_permission_type_list`);
      }
    }
    const grantees = list.map((p) => String(p.account_id));
    const fields = { list: `${BUSINESS_SPEC}.grant_account_permission`, item: (i: number) => `${BUSINESS_SPEC}.grant_account_permission[${i}].account_id` };
    for (const id of b.audience_id_list) await app.grants.grant(accountId, id, grantees, fields);
    return adsOk({});
  });

  f.get('/audience_grant_relations/get', async (req) => {
    const q = validate<{ account_id: number; filtering?: Array<{ field: 'audience_id'; operator: 'IN' | 'EQUALS'; values: number[] }>; page?: number; page_size?: number; fields?: string[] }>(
      GRANT_GET_QUERY,
      queryParams(req.query, ['filtering', 'fields']),
      app.now(),
    );
    const accountId = checkAccount(req, q.account_id);
    const flt = q.filtering?.[0];
    if (flt && flt.operator === 'EQUALS' && flt.values.length !== 1) throw err('InvalidParameter', 'filtering[0].values takes one value with EQUALS', 'filtering[0].values');
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? 10;
    const r = await app.grants.page(accountId, { audienceIds: flt?.values, offset: (page - 1) * pageSize, limit: pageSize });
    const fields = q.fields ?? [...GRANT_FIELDS];
    const list = r.items.map((g) => {
      const full: Record<string, unknown> = {
        audience_id: g.audienceId,
        grant_type: 'GRANT_TYPE_BUSINESS',
        grant_spec: {
          grant_to_business_spec: {
            grant_business_id: 0,
            grant_scope_type: 'GRANT_SCOPE_TYPE_ACCOUNT',
            grant_account_permission: { account_id: Number(g.granteeAccountId), grant_permission_type_list: ['GRANT_PERMISSION_TYPE_TARGET'] },
          },
        },
      };
      return Object.fromEntries(fields.map((k) => [k, full[k]]));
    });
    return adsOk({ list, page_info: { page, page_size: pageSize, total_number: r.total, total_page: Math.ceil(r.total / pageSize) } });
  });
};
