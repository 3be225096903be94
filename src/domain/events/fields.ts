// The fields of the three kinds of behaviour events, with every limit, in one
// place: the batch check (validate.ts) and the file check (file-sql.ts) read
// them from here and refuse with the same reasons, so an event refused in a
// batch is refused in a file for the same words.
//
// Where the fields come from: Tencent's user_actions/add (v3.0): action_time
// (UNIX seconds, 0 to 2^31 - 1), user_id (hashed or raw ids of one person),
// action_type (the seed's enum) with custom_action for CUSTOM (1 to 128
// bytes), action_param (a flat object; at most 204,800 bytes), url (1 to
// 2,048 bytes), outer_action_id (letters, digits and underscores, at most
// 255 bytes). Ad events and location pings are ours, with the values the
// seed's AD and LBS rules read.
import type { EventKind } from '../../infra/events/schema.js';
import { ID_TYPE_NAMES, type IdTypeName } from '../identities/index.js';

/**
 * Tencent's `action_type` enum as the seed's rules list it (CUSTOM included).
 * The same list as the rule validator's (src/http/dialects/tencent-ads/
 * audience-rules.ts); events.test.ts keeps the two equal.
 */
export const ACTION_TYPES = [
  'CUSTOM', 'REGISTER', 'VIEW_CONTENT', 'CONSULT', 'ADD_TO_CART', 'PURCHASE', 'ACTIVATE_APP', 'SEARCH', 'ADD_TO_WISHLIST', 'INITIATE_CHECKOUT',
  'COMPLETE_ORDER', 'DOWNLOAD_APP', 'START_APP', 'RATE', 'PAGE_VIEW', 'RESERVATION', 'SHARE', 'APPLY', 'CLAIM_OFFER', 'NAVIGATE',
  'PRODUCT_RECOMMEND', 'VISIT_STORE', 'TRY_OUT', 'DELIVER', 'CONFIRM_EFFECTIVE_LEADS', 'CONFIRM_POTENTIAL_CUSTOMER', 'CREATE_ROLE', 'AUTHORIZE',
  'TUTORIAL_FINISH', 'SCANCODE', 'ENTER_BACKGROUND', 'ENTER_FOREGROUND', 'TICKET', 'LOGIN', 'QUEST', 'UPDATE_LEVEL', 'CREATE', 'PAUSE', 'RESUME',
  'APP_QUIT', 'BIND_ACCOUNT', 'ADD_PAYMENT', 'PRE_CREDIT', 'CREDIT', 'WITHDRAW_DEPOSITS', 'LANDING_PAGE_CLICK', 'SELECT_COURSE', 'RE_FUND',
  'PLATFORM_VIEW', 'ONE_DAY_LEAVE', 'PRODUCT_VIEW', 'PURCHASE_MEMBER_CARD', 'ONLINE_CONSULT', 'MAKE_PHONE_CALL', 'FOLLOW', 'ADD_DESKTOP', 'RETURN',
  'LEAVE_INFORMATION', 'PURCHASE_COUPON', 'ADD_GROUP', 'ADD_CUSTOMER_PAGE_VIEW', 'ADD_CUSTOMER_PAGE_INTERACTIVE', 'CUSTOMER_PROMOTION_PAGE_VIEW',
  'CUSTOMER_PROMOTION_PAGE_INTERACTIVE', 'ABNORMAL_ACTION', 'LIVE_STREAM', 'SCANCODE_WX', 'STAY_PAY_7', 'STAY_PAY_15', 'STAY_PAY_30', 'INSURANCE_PAY',
  'RESERVATION_CHECK', 'PARTICIPATED', 'COMPLETED', 'REGULAR_PRICE_COURSE', 'DROP_OUT', 'CONFIRM_DELIVERY_ORDER', 'CANCEL_DELIVERY_ORDER',
  'OPEN_ACCOUNT', 'DEPOSIT', 'TRADE', 'SECURITY_NEGATIVE', 'AD_CLICK', 'AD_IMPRESSION', 'SIGN_IN', 'TRY_OUT_INTENTION', 'INEFFECTIVE_LEADS',
  'READ_ARTICLE', 'COMMENT', 'CARD_CLICK', 'WECOM_CONSULT', 'BIND_CARD', 'LOW_PRICE_COURSE', 'ADD_WECHAT', 'PRE_PAY', 'QUIT_GROUP',
  'PHONE_CONNECTED', 'RE_ACTIVE', 'CLAIM_COURSE', 'VIEW_ACQUISITION_CONTENT', 'TERMINATION', 'RENEWAL', 'CONSULT_INTENTION',
] as const;

export const AD_EVENT_TYPES = ['EXPOSURE', 'CLICK', 'CONVERSION'] as const;
export const CONVERSION_TYPES = ['APP_START_DOWNLOAD', 'APP_FINISH_DOWNLOAD', 'APP_INSTALL', 'APP_ACTIVATE'] as const;
export const PROMOTED_OBJECT_TYPES = [
  'PROMOTED_OBJECT_TYPE_APP_ANDROID', 'PROMOTED_OBJECT_TYPE_APP_IOS', 'PROMOTED_OBJECT_TYPE_QZONE_PAGE', 'PROMOTED_OBJECT_TYPE_QZONE_PAGE_ARTICLE',
  'PROMOTED_OBJECT_TYPE_QZONE_PAGE_IFRAMED', 'PROMOTED_OBJECT_TYPE_QZONE_VIDEO_PAGE', 'PROMOTED_OBJECT_TYPE_APP_PC',
] as const;

/**
 * The fields of Tencent's `user_id` struct (user_actions/add, v3.0 and the
 * SDK's ActionsUserId) → our id types. `wechat_app_id` names the app an
 * openid belongs to and is not an id itself (WECHAT_APP_ID_FIELD).
 */
export const TENCENT_USER_ID_FIELDS = Object.freeze({
  hash_imei: 'imei_md5',
  md5_sha256_imei: 'imei_md5_sha256',
  hash_idfa: 'idfa_md5',
  md5_sha256_idfa: 'idfa_md5_sha256',
  hash_phone: 'phone_md5',
  sha256_phone: 'phone_sha256',
  hash_android_id: 'android_id_md5',
  hash_mac: 'mac_md5',
  hash_oaid: 'oaid_md5',
  oaid: 'oaid',
  md5_sha256_oaid: 'oaid_md5_sha256',
  gdt_openid: 'gdt_openid',
  wechat_openid: 'wx_openid',
  wechat_unionid: 'wx_unionid',
  caid: 'caid',
} as const satisfies Record<string, IdTypeName>);

export const WECHAT_APP_ID_FIELD = 'wechat_app_id';

/**
 * Every key a `user_id` object (or an id column of a file) may have, and the
 * id type it holds: Tencent's names first, then our own type names (GET
 * /v1/id-types), so a raw phone can be sent as `phone` beside `hash_phone`.
 * The two lists share three names (oaid, caid, gdt_openid), each meaning the
 * same type in both.
 */
export const USER_ID_FIELDS: ReadonlyMap<string, IdTypeName> = new Map<string, IdTypeName>([
  ...Object.entries(TENCENT_USER_ID_FIELDS),
  ...ID_TYPE_NAMES.map((n) => [n, n] as [string, IdTypeName]),
]);

/** The per-request batch limit of the native API. Tencent's own user_actions/add takes at most 50 actions (and 50 KB) per call. */
export const MAX_BATCH_EVENTS = 10_000;
export const TENCENT_MAX_ACTIONS = 50;

export const LIMITS = {
  customActionBytes: 128,
  urlBytes: 2048,
  outerActionIdBytes: 255,
  keywordBytes: 1024,
  paramsBytes: 204_800,
  paramNameBytes: 128,
  promotedObjectIdBytes: 128,
  poiIdBytes: 128,
  wechatAppIdBytes: [2, 64] as const,
  /** UNIX seconds: Tencent's action_time range. */
  maxSeconds: 2_147_483_647,
  /** Event times may run this far ahead of the service's clock (clients' clocks drift). */
  futureSlackMs: 86_400_000,
  /** Ids (campaigns, regions, POI categories) are positive integers a double holds exactly. */
  maxId: Number.MAX_SAFE_INTEGER,
} as const;

/** The time field of each kind, as the API and files name it (the column's name). */
export const TIME_FIELD: Record<EventKind, string> = { user_actions: 'action_time', ad_events: 'event_time', location_pings: 'ping_time' };

/** The fields an event of each kind may have besides `user_id`; anything else is refused. */
export const EVENT_FIELDS: Record<EventKind, readonly string[]> = {
  user_actions: ['action_time', 'action_type', 'custom_action', 'action_param', 'url', 'keyword', 'outer_action_id'],
  ad_events: ['event_time', 'event_type', 'conversion_type', 'campaign_id', 'adgroup_id', 'promoted_object_type', 'promoted_object_id'],
  location_pings: ['ping_time', 'latitude', 'longitude', 'region_id', 'city_code', 'poi_id', 'poi_category'],
};

/** The path of each kind in the API (/v1/events/{kind}). */
export const KIND_PATHS: Record<string, EventKind> = { 'user-actions': 'user_actions', 'ad-events': 'ad_events', 'location-pings': 'location_pings' };

/** Action set types, as Tencent's user_action_sets/add lists them. */
export const ACTION_SET_TYPES = ['WEB', 'ANDROID', 'IOS', 'OFFLINE', 'WECHAT', 'WECHAT_MINI_PROGRAM', 'WECHAT_MINI_GAME', 'HARMONY'] as const;
export type ActionSetType = (typeof ACTION_SET_TYPES)[number];
/** Sets whose actions must name a WeChat user: wechat_openid or wechat_unionid, with wechat_app_id. */
export const WECHAT_SET_TYPES: readonly ActionSetType[] = ['WECHAT', 'WECHAT_MINI_PROGRAM', 'WECHAT_MINI_GAME'];

/**
 * The reasons, shared by both checks. Fixed words (no value in them), so the
 * file check can write them as SQL literals and a sample reads the same as a
 * batch refusal.
 */
export const REASONS = {
  notObject: 'an event is a JSON object',
  unknownField: 'is not a field of this kind of event',
  required: 'is required',
  time: 'must be UNIX seconds (0 to 2147483647) or a date-time yyyy-MM-dd HH:mm:ss with an optional fraction and zone',
  future: 'is more than a day in the future',
  enumOf: (what: string) => `is not ${what}`,
  bytes: (min: number, max: number) => (min === max ? `must be ${min} bytes of UTF-8` : `must be ${min} to ${max} bytes of UTF-8`),
  onlyCustom: 'is only for action_type CUSTOM',
  onlySearch: 'is only for action_type SEARCH',
  onlyConversion: 'is only for event_type CONVERSION',
  onlyPromotedType: 'needs promoted_object_type',
  outerActionId: 'may hold only letters, digits and underscores, at most 255 bytes',
  params: 'must be a flat JSON object of string, number or boolean values with names of 1 to 128 bytes, at most 204800 bytes in all',
  paramNumber: 'holds a number of 2^53 or more, which cannot be kept exactly: send it as a string',
  positiveId: `must be a positive integer up to ${Number.MAX_SAFE_INTEGER}`,
  latitude: 'must be a number from -90 to 90',
  longitude: 'must be a number from -180 to 180',
  userIdObject: 'must be an object of ids (Tencent user_id fields or id types)',
  userIdValue: 'must be a string',
  noId: 'no usable id: give at least one of the user_id fields (hash_phone, hash_imei, oaid, ... or an id type such as phone)',
  wechatAppId: 'is required with wechat_openid',
  wechatSet: 'this action set is a WeChat one: its actions need wechat_openid or wechat_unionid, and wechat_app_id',
  unknownUser: 'no id of the event is a known user (the identity universe is closed)',
} as const;

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
