// Tencent Marketing API behaviour data on /v1.3:
//   POST /v1.3/user_action_sets/add, GET /v1.3/user_action_sets/get,
//   POST /v1.3/user_actions/add.
// A thin mapping onto the event domain: a set is an ActionSet
// (src/domain/events/action-sets.ts) and a call's actions are one batch of
// EventLoader.send, checked by the same rules and refused in the same words
// as a native batch (docs/behaviour-data.md).
//
// Reading of the vendor's pages (developers.e.qq.com/v3.0/docs/api/
// user_action_sets/add, user_action_sets/get, user_actions/add) and of the
// v1.3 SDK's models:
// - user_action_sets/add: `name` is required for WEB only; the vendor names
//   a mobile set after its app, which cannot be looked up here, and names
//   are unique per account here, so a set given no name is named after the
//   app id its type asks for (mobile_app_id, wechat_app_id, app_id_str) and
//   an OFFLINE set after its creation time (GMT+8). An app id longer than a
//   name's 32 bytes needs a name.
// - The vendor's own add example sends `"description": ""` and `"usages":
//   []` against its stated minimums (1 byte, 1 item); both are read as
//   absent. `usages` and `enable_conversion_claim` are checked and not kept:
//   neither data cooperation nor conversion attribution happens here, so
//   user_action_sets/get does not answer them.
// - user_action_sets/get filters by every parameter given (ANDed); `type` is
//   a list (JSON as in the vendor's curl, a bare value, or the parameter
//   repeated). It answers the vendor's fields that are kept here; not
//   `activate_status` (whether the set ever received data: on a large
//   account that is a scan of its events, too dear for a listing),
//   `access_way`, `usages` or `enable_conversion_claim`. With
//   include_permission, `permission` says what a set is for here: creating
//   audiences (USER_ACTION rules read it), not conversion attribution or ad
//   serving. `fields` (the v1.3 SDK's parameter) narrows each item.
// - user_actions/add takes 1 to 50 actions (TENCENT_MAX_ACTIONS) of at most
//   50 KB, measured as compact JSON; a call over either limit is refused
//   whole and nothing of it is stored. The set must be the account's.
// - Each action has the vendor's fields. The domain checks the ones it
//   stores (action_time, user_id, action_type, custom_action, action_param,
//   url, outer_action_id). `trace`, `product_inform` and `channel` are
//   checked against the page's limits and not kept: no attribution or
//   product catalogue reads them here. The page's example writes the
//   channel `CHANNEL_NATURAL` where its enum says `NATURAL`; both are read.
//   A field the page does not list (our own `keyword`, the SDK-only
//   `external_action_id` and `ext_info`) refuses its action: a SEARCH
//   action's keyword travels as `action_param.keyword`.
// - `user_id` takes the vendor's keys (the page's and the SDK's
//   ActionsUserId: gdt_openid, hash_mac and oaid too); `caid_version` is
//   checked as an integer and not kept (a caid is one id whatever its
//   version). Our own id type names (`phone`) are the native API's only.
//   Web data may come without user_id, as the vendor allows, but an action
//   with no id names no user and is refused.
// - `action_param` is an object or its JSON text, as the SDK (a string) and
//   the page's example (an object) send it. The vendor's parameter values
//   may be lists of numbers, strings or booleans; the event store keeps
//   strings, so a list is kept as its JSON text (`[123,234]`), which a
//   CONTAIN matcher finds and EQ compares whole. Anything deeper is refused
//   as the native batch refuses it.
// - The vendor answers user_actions/add with `{"code": 0}` and no data, and
//   documents no error per action. A batch whose actions are partly bad is
//   therefore answered code 0, the good actions stored, with `data`:
//   `{received, stored, duplicates, refused: [{index, field, reason}]}`,
//   each refused action named by its path (`actions[3].user_id.hash_phone`).
//   `duplicates` are the indexes of actions whose outer_action_id is stored
//   already or came earlier in the call. Only a fault of the whole call is
//   a non-zero code.
import type { FastifyPluginAsync } from 'fastify';
import type { ActionSet } from '../../../domain/events/action-sets.js';
import { ACTION_SET_TYPES, TENCENT_MAX_ACTIONS, TENCENT_USER_ID_FIELDS, WECHAT_APP_ID_FIELD, WECHAT_SET_TYPES } from '../../../domain/events/fields.js';
import type { Refusal } from '../../../domain/events/validate.js';
import { err, isAppError } from '../../../errors.js';
import { validate, vendorTime, type Node } from './audience-rules.js';
import { checkAccount } from './auth.js';
import { adsOk } from './errors.js';
import { queryParams } from './query.js';
import { ownActionSet } from '../../rule-sources.js';

/** "actions … 不能大于 50KB". */
export const TENCENT_MAX_ACTIONS_BYTES = 50 * 1024;
const NAME_BYTES = 32;

const str = (minBytes: number, maxBytes: number): Node => ({ t: 'string', minBytes, maxBytes });
const setTypes: Node = { t: 'enum', values: ACTION_SET_TYPES };

export const SET_ADD_REQUEST: Node = {
  t: 'struct',
  fields: {
    account_id: { t: 'int', required: true, min: 1 },
    type: { ...setTypes, required: true },
    mobile_app_id: { t: 'int', min: 1, requiredWhen: [{ path: 'type', in: ['ANDROID', 'IOS'] }] },
    wechat_app_id: { ...str(2, 64), requiredWhen: [{ path: 'type', in: WECHAT_SET_TYPES }] },
    app_id_str: { ...str(2, 64), requiredWhen: [{ path: 'type', eq: 'HARMONY' }] },
    name: { ...str(1, NAME_BYTES), requiredWhen: [{ path: 'type', eq: 'WEB' }] },
    description: str(1, 128),
    usages: { t: 'array', min: 1, max: 2, of: { t: 'enum', values: ['DEEP_DATA_COOPERATION'] } },
    enable_conversion_claim: { t: 'bool' },
  },
};

/** The fields of one item of user_action_sets/get (and what `fields` may ask for). */
export const SET_FIELDS = ['user_action_set_id', 'type', 'mobile_app_id', 'app_id_str', 'name', 'description', 'created_time', 'permission'] as const;

export const SET_GET_QUERY: Node = {
  t: 'struct',
  fields: {
    account_id: { t: 'int', required: true, min: 1 },
    user_action_set_id: { t: 'int', min: 1 },
    type: { t: 'array', min: 1, max: ACTION_SET_TYPES.length, of: setTypes },
    mobile_app_id: { t: 'int', min: 1 },
    wechat_app_id: str(2, 64),
    app_id_str: str(2, 64),
    name: str(1, NAME_BYTES),
    include_permission: { t: 'bool' },
    fields: { t: 'array', min: 1, max: SET_FIELDS.length, of: { t: 'enum', values: SET_FIELDS } },
  },
};

/** The call's own parameters; `actions` is read apart, one action at a time. */
export const ACTIONS_ADD_HEAD: Node = {
  t: 'struct',
  fields: {
    account_id: { t: 'int', required: true, min: 1 },
    user_action_set_id: { t: 'int', required: true, min: 1 },
  },
};

const CHANNELS = ['NATURAL', 'TENCENT', 'BYTEDANCE', 'KUAISHOU', 'ALIBABA', 'BAIDU', 'OTHERS', 'MULTIPLE', 'UNKNOWN'];

/** The documented action fields nothing here reads: checked, then left out. */
export const IGNORED_ACTION_FIELDS: Node = {
  t: 'struct',
  fields: {
    trace: { t: 'struct', fields: { click_id: str(1, 64) } },
    product_inform: {
      t: 'struct',
      fields: {
        content_type: {
          t: 'enum',
          values: [
            'EC', 'ESTATE', 'VIDEO', 'CAR', 'NEWS_INFORMATION', 'BEAUTY_PERSONAL_CARE', 'RETAIL', 'EDUCATION', 'READING', 'INSURANCE', 'LOAN',
            'FINANCIAL', 'BANKCARD', 'WEDDING', 'SECURITIES', 'DECORATION_BUILDING_MATERIAL', 'CARRIER', 'GAME',
          ],
        },
        product_catalog_id: str(1, 64),
        product_id: { t: 'array', max: 1000, of: { t: 'string' } },
        category_path: { t: 'array', max: 16, of: { t: 'string' } },
      },
    },
    channel: { t: 'enum', values: [...CHANNELS, ...CHANNELS.map((c) => `CHANNEL_${c}`)] },
  },
};

/** The action fields the domain checks and stores, as the vendor names them. */
const STORED_FIELDS = new Set(['action_time', 'user_id', 'action_type', 'custom_action', 'action_param', 'url', 'outer_action_id']);
const IGNORED_FIELDS = new Set(Object.keys((IGNORED_ACTION_FIELDS as Extract<Node, { t: 'struct' }>).fields));
const USER_ID_KEYS = new Set<string>([...Object.keys(TENCENT_USER_ID_FIELDS), WECHAT_APP_ID_FIELD]);
const CAID_VERSION = 'caid_version';

interface SetAddBody {
  account_id: number;
  type: (typeof ACTION_SET_TYPES)[number];
  mobile_app_id?: number;
  wechat_app_id?: string;
  app_id_str?: string;
  name?: string;
  description?: string;
}

interface SetGetQuery {
  account_id: number;
  user_action_set_id?: number;
  type?: string[];
  mobile_app_id?: number;
  wechat_app_id?: string;
  app_id_str?: string;
  name?: string;
  include_permission?: boolean;
  fields?: Array<(typeof SET_FIELDS)[number]>;
}

/** A refusal of one action: the field as the request names it, and why. */
class Bad extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** A set given no name is named after the app id its type asks for, or (OFFLINE) its creation time. */
function defaultName(b: SetAddBody, nowMs: number): string {
  const appId = b.type === 'ANDROID' || b.type === 'IOS' ? String(b.mobile_app_id) : WECHAT_SET_TYPES.includes(b.type) ? b.wechat_app_id : b.type === 'HARMONY' ? b.app_id_str : undefined;
  if (appId === undefined) return `${b.type} ${vendorTime(new Date(nowMs).toISOString())}`;
  if (Buffer.byteLength(appId, 'utf8') > NAME_BYTES) {
    throw err('MissingParameter', `name is required here: a set given none is named after its app id, and ${JSON.stringify(appId)} is longer than a name's ${NAME_BYTES} bytes`, 'name');
  }
  return appId;
}

function presentSet(s: ActionSet, withPermission: boolean): Record<string, unknown> {
  return {
    user_action_set_id: s.id,
    type: s.type,
    ...(s.mobileAppId !== null ? { mobile_app_id: s.mobileAppId } : {}),
    ...(s.appIdStr !== null ? { app_id_str: s.appIdStr } : {}),
    name: s.name,
    description: s.description ?? '',
    created_time: vendorTime(s.createdAt),
    ...(withPermission ? { permission: { can_create_audience: true, can_exact_conversion_claim: false, can_as_serving: false } } : {}),
  };
}

/** The query as the walker reads it: lists as JSON, bare or repeated; include_permission as a boolean. */
function setGetParams(query: unknown): Record<string, unknown> {
  const q: Record<string, unknown> = { ...((query ?? {}) as Record<string, unknown>) };
  for (const k of ['type', 'fields']) {
    const v = q[k];
    if (typeof v === 'string' && !v.trimStart().startsWith('[')) q[k] = [v];
  }
  if (q.include_permission === 'true' || q.include_permission === 'false') q.include_permission = q.include_permission === 'true';
  return queryParams(q, ['type', 'fields']);
}

/** Parameter lists become their JSON text: the event store keeps string values. */
function vendorParams(v: unknown): unknown {
  let obj = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v);
    } catch {
      return v;
    }
  }
  if (!isObject(obj)) return v;
  let lists = false;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(obj)) {
    if (Array.isArray(x) && x.every(isScalar)) {
      out[k] = JSON.stringify(x);
      lists = true;
    } else out[k] = x;
  }
  return lists ? out : v;
}

/**
 * One action as the domain's batch takes it: the vendor-only checks made
 * here (fields the page lists, user_id keys, the fields left out), the rest
 * handed on. Throws Bad naming the field under the action's own path.
 */
function eventOf(raw: unknown, nowMs: number): Record<string, unknown> {
  if (!isObject(raw)) throw new Bad('', 'an action is a JSON object');
  const event: Record<string, unknown> = {};
  const ignored: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (STORED_FIELDS.has(k)) event[k] = v;
    else if (IGNORED_FIELDS.has(k)) ignored[k] = v;
    else throw new Bad(k, 'is not a field of an action of user_actions/add');
  }
  try {
    validate(IGNORED_ACTION_FIELDS, ignored, nowMs);
  } catch (e) {
    if (!isAppError(e) || !e.field) throw e;
    throw new Bad(e.field, e.message.startsWith(`${e.field} `) ? e.message.slice(e.field.length + 1) : e.message);
  }
  if (isObject(event.user_id)) {
    const ids: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(event.user_id)) {
      if (k === CAID_VERSION) {
        if (v === null || v === undefined || v === '') continue;
        const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
        if (!Number.isSafeInteger(n) || n < 0) throw new Bad(`user_id.${k}`, 'must be a non-negative integer');
      } else if (!USER_ID_KEYS.has(k)) throw new Bad(`user_id.${k}`, "is not a field of the vendor's user_id");
      else ids[k] = v;
    }
    event.user_id = ids;
  }
  if (event.action_param !== undefined) event.action_param = vendorParams(event.action_param);
  return event;
}

export const adsUserActions: FastifyPluginAsync = async (f) => {
  const app = f.app;

  f.post('/user_action_sets/add', async (req) => {
    const raw = isObject(req.body) ? { ...req.body } : req.body;
    if (isObject(raw)) {
      // The vendor's own example sends these empty.
      if (raw.description === '') delete raw.description;
      if (Array.isArray(raw.usages) && raw.usages.length === 0) delete raw.usages;
    }
    const b = validate<SetAddBody>(SET_ADD_REQUEST, raw, app.now());
    const accountId = checkAccount(req, b.account_id);
    const set = await app.actionSets.create(accountId, {
      name: b.name ?? defaultName(b, app.now()),
      type: b.type,
      description: b.description,
      mobileAppId: b.mobile_app_id,
      wechatAppId: b.wechat_app_id,
      appIdStr: b.app_id_str,
    });
    return adsOk({ user_action_set_id: set.id });
  });

  f.get('/user_action_sets/get', async (req) => {
    const q = validate<SetGetQuery>(SET_GET_QUERY, setGetParams(req.query), app.now());
    const accountId = checkAccount(req, q.account_id);
    const sets = (await app.actionSets.list(accountId, { id: q.user_action_set_id, types: q.type, name: q.name })).filter(
      (s) =>
        (q.mobile_app_id === undefined || s.mobileAppId === q.mobile_app_id) &&
        (q.wechat_app_id === undefined || s.wechatAppId === q.wechat_app_id) &&
        (q.app_id_str === undefined || s.appIdStr === q.app_id_str),
    );
    const list = sets.map((s) => {
      const full = presentSet(s, q.include_permission === true);
      return q.fields ? Object.fromEntries(q.fields.filter((k) => k in full).map((k) => [k, full[k]])) : full;
    });
    return adsOk({ list });
  });

  f.post('/user_actions/add', async (req) => {
    if (!isObject(req.body)) throw err('InvalidRequest', 'the body must be a JSON object');
    const { actions, ...head } = req.body;
    const h = validate<{ account_id: number; user_action_set_id: number }>(ACTIONS_ADD_HEAD, head, app.now());
    const accountId = checkAccount(req, h.account_id);
    if (actions === undefined || actions === null) throw err('MissingParameter', 'actions is required', 'actions');
    if (!Array.isArray(actions)) throw err('InvalidParameter', `actions must be a list, got ${JSON.stringify(actions).slice(0, 100)}`, 'actions');
    if (actions.length < 1 || actions.length > TENCENT_MAX_ACTIONS) {
      throw err('InvalidParameter', `actions holds 1 to ${TENCENT_MAX_ACTIONS} actions a call, got ${actions.length}; send more calls (or upload a file and load it through the native API)`, 'actions');
    }
    const bytes = Buffer.byteLength(JSON.stringify(actions), 'utf8');
    if (bytes > TENCENT_MAX_ACTIONS_BYTES) throw err('InvalidParameter', `actions is ${bytes} bytes as JSON; at most ${TENCENT_MAX_ACTIONS_BYTES} (50 KB) a call`, 'actions');
    const set = await ownActionSet(app, accountId, h.user_action_set_id, 'user_action_set_id');

    const now = app.now();
    const refused: Refusal[] = [];
    const events: Record<string, unknown>[] = [];
    /** The index in `actions` of each event handed to the domain. */
    const origin: number[] = [];
    const path = (i: number, field: string) => (field ? `actions[${i}].${field}` : `actions[${i}]`);
    for (const [i, a] of actions.entries()) {
      try {
        events.push(eventOf(a, now));
        origin.push(i);
      } catch (e) {
        if (!(e instanceof Bad)) throw e;
        refused.push({ index: i, field: path(i, e.field), reason: e.reason });
      }
    }
    const r = events.length > 0 ? await app.events.send(accountId, 'user_actions', events, { actionSetId: set.id }) : { stored: 0, duplicates: [], refused: [] };
    for (const x of r.refused) refused.push({ index: origin[x.index], field: path(origin[x.index], x.field), reason: x.reason });
    refused.sort((a, b) => a.index - b.index);
    return adsOk({ received: actions.length, stored: r.stored, duplicates: r.duplicates.map((i) => origin[i]), refused });
  });
};
