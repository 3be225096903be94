// User action sets: the sources an account's user actions belong to
// (Tencent's user_action_sets/add and get map onto this). A set is metadata
// in the service database; its actions are in the event store under its id.
// Fields and limits are the vendor's: type one of ACTION_SET_TYPES, name 1 to
// 32 bytes (unique per account here: the native API names sets by it),
// description at most 128 bytes, mobile_app_id for ANDROID and IOS,
// wechat_app_id (2 to 64 bytes) for the WeChat types, app_id_str for HARMONY.
import type { Selectable } from 'kysely';
import { err } from '../../errors.js';
import { isUniqueViolation, type Db } from '../../infra/db/index.js';
import type { UserActionSetsTable } from '../../infra/db/schema.js';
import { ACTION_SET_TYPES, WECHAT_SET_TYPES, utf8Bytes, type ActionSetType } from './fields.js';

export interface ActionSet {
  id: number;
  accountId: string;
  name: string;
  type: ActionSetType;
  description: string | null;
  mobileAppId: number | null;
  wechatAppId: string | null;
  appIdStr: string | null;
  createdAt: string;
}

export interface CreateActionSet {
  name: string;
  type: string;
  description?: string | null;
  mobileAppId?: number | null;
  wechatAppId?: string | null;
  appIdStr?: string | null;
}

const toSet = (r: Selectable<UserActionSetsTable>): ActionSet => ({
  id: Number(r.id),
  accountId: r.account_id,
  name: r.name,
  type: r.type as ActionSetType,
  description: r.description,
  mobileAppId: r.mobile_app_id === null ? null : Number(r.mobile_app_id),
  wechatAppId: r.wechat_app_id,
  appIdStr: r.app_id_str,
  createdAt: new Date(Number(r.created_at)).toISOString(),
});

export const isWechatSet = (s: ActionSet): boolean => WECHAT_SET_TYPES.includes(s.type);

export class ActionSets {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async create(accountId: string, req: CreateActionSet): Promise<ActionSet> {
    if (!(ACTION_SET_TYPES as readonly string[]).includes(req.type)) throw err('InvalidParameter', `type must be one of ${ACTION_SET_TYPES.join(', ')}`, 'type');
    const type = req.type as ActionSetType;
    const bytes = (v: string | null | undefined, field: string, min: number, max: number) => {
      if (v === null || v === undefined) return;
      const n = utf8Bytes(v);
      if (n < min || n > max) throw err('InvalidParameter', `${field} must be ${min} to ${max} bytes of UTF-8`, field);
    };
    bytes(req.name, 'name', 1, 32);
    bytes(req.description, 'description', 1, 128);
    bytes(req.wechatAppId, 'wechat_app_id', 2, 64);
    bytes(req.appIdStr, 'app_id_str', 2, 64);
    if ((type === 'ANDROID' || type === 'IOS') && !req.mobileAppId) throw err('MissingParameter', `mobile_app_id is required for type ${type}`, 'mobile_app_id');
    if (WECHAT_SET_TYPES.includes(type) && !req.wechatAppId) throw err('MissingParameter', `wechat_app_id is required for type ${type}`, 'wechat_app_id');
    if (type === 'HARMONY' && !req.appIdStr) throw err('MissingParameter', 'app_id_str is required for type HARMONY', 'app_id_str');
    if (req.mobileAppId !== undefined && req.mobileAppId !== null && (!Number.isSafeInteger(req.mobileAppId) || req.mobileAppId < 1)) {
      throw err('InvalidParameter', 'mobile_app_id must be a positive integer', 'mobile_app_id');
    }
    try {
      const row = await this.db
        .insertInto('user_action_sets')
        .values({
          account_id: accountId,
          name: req.name,
          type,
          description: req.description ?? null,
          mobile_app_id: req.mobileAppId ?? null,
          wechat_app_id: req.wechatAppId ?? null,
          app_id_str: req.appIdStr ?? null,
          created_at: this.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toSet(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw err('ActionSetNameTaken', `the account already has a user action set named ${JSON.stringify(req.name)}`, 'name');
      throw e;
    }
  }

  async get(accountId: string, id: number): Promise<ActionSet> {
    const row = await this.db.selectFrom('user_action_sets').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    if (!row) throw err('ActionSetNotFound', `user action set ${id} does not exist in this account`, 'action_set_id');
    return toSet(row);
  }

  /** The account's sets, oldest first, optionally narrowed by id, types and name. */
  async list(accountId: string, opts: { id?: number; types?: readonly string[]; name?: string } = {}): Promise<ActionSet[]> {
    let q = this.db.selectFrom('user_action_sets').selectAll().where('account_id', '=', accountId);
    if (opts.id !== undefined) q = q.where('id', '=', opts.id);
    if (opts.types?.length) q = q.where('type', 'in', [...opts.types]);
    if (opts.name !== undefined) q = q.where('name', '=', opts.name);
    return (await q.orderBy('id').execute()).map(toSet);
  }
}
