// OSS PostObject (browser form upload) with a V1 policy.
//
// OSS API reference "PostObject" and its "Appendix: Post Policy": the form
// carries `policy` = base64(UTF-8 JSON {expiration, conditions}), `Signature` =
// base64(HMAC-SHA1(AccessKeySecret, policy)) and `OSSAccessKeyId`; form field
// names are case-insensitive (the Mintegral seed sends `signature`). Each
// condition is a map {"field": "value"} (exact match) or a list
// ["eq"|"starts-with"|"in"|"not-in", "$field", value] or
// ["content-length-range", min, max]. Error texts follow the PostObject error
// pages (EC 0006-00000213 "Policy expired", 0006-00000227 "Policy Condition
// failed", 0006-000002xx malformed policies).

import { createHmac } from 'node:crypto';
import { signaturesEqual } from './encoding.js';
import { SignatureError } from './types.js';

export interface CreatePostPolicyOptions {
  accessKeyId: string;
  secret: string;
  bucket: string;
  /** Exactly one of keyPrefix / exactKey. */
  keyPrefix?: string;
  exactKey?: string;
  maxBytes: number;
  minBytes?: number;
  expiresAt: Date;
  /** Temporary credentials: the form must then carry x-oss-security-token with this value. */
  securityToken?: string;
}

export interface PostPolicyCredential {
  secret: string;
  securityToken?: string;
}

export interface VerifyPostPolicyOptions {
  bucket: string;
  /** A plain secret, or a temporary credential whose token the form must carry. */
  lookupSecret(accessKeyId: string): string | PostPolicyCredential | undefined;
  now?: Date;
}

export interface VerifiedPostPolicy {
  accessKeyId: string;
  key: string;
  /** Inclusive byte bounds the server must enforce while it streams the file part. */
  contentLengthRange?: [number, number];
  expiresAt: Date;
}

type Condition = Record<string, unknown> | unknown[];

function postSignature(secret: string, policy: string): string {
  return createHmac('sha1', secret).update(policy, 'utf8').digest('base64');
}

function policyConditions(opts: CreatePostPolicyOptions): Condition[] {
  if ((opts.keyPrefix === undefined) === (opts.exactKey === undefined)) {
    throw new TypeError('createPostPolicy needs exactly one of keyPrefix and exactKey');
  }
  const conditions: Condition[] = [
    { bucket: opts.bucket },
    opts.exactKey !== undefined ? ['eq', '$key', opts.exactKey] : ['starts-with', '$key', opts.keyPrefix],
    ['content-length-range', opts.minBytes ?? 0, opts.maxBytes],
  ];
  if (opts.securityToken !== undefined) conditions.push({ 'x-oss-security-token': opts.securityToken });
  return conditions;
}

/** Builds a policy for one upload and signs it; the client sends both with OSSAccessKeyId and key. */
export function createPostPolicy(opts: CreatePostPolicyOptions): { policy: string; signature: string } {
  const document = { expiration: opts.expiresAt.toISOString(), conditions: policyConditions(opts) };
  const policy = Buffer.from(JSON.stringify(document), 'utf8').toString('base64');
  return { policy, signature: postSignature(opts.secret, policy) };
}

// ---------------------------------------------------------------------------
// Verification

function invalidArgument(message: string): SignatureError {
  return new SignatureError('InvalidArgument', message, 400);
}

function invalidPolicy(message: string): SignatureError {
  return new SignatureError('InvalidPolicyDocument', `Invalid Policy: ${message}`, 400);
}

/** Form field names are case-insensitive for OSS; the same name twice with different values is refused. */
function lowerCaseFields(fields: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(fields)) {
    const lower = name.toLowerCase();
    const prior = out.get(lower);
    if (prior !== undefined && prior !== value) throw invalidArgument(`The form field ${name} is given twice.`);
    out.set(lower, value);
  }
  return out;
}

interface AuthFields {
  accessKeyId: string;
  policy: string;
  signature: string;
  key: string;
}

function authFields(form: Map<string, string>): AuthFields {
  const accessKeyId = form.get('ossaccesskeyid');
  const policy = form.get('policy');
  const signature = form.get('signature');
  if (accessKeyId === undefined && policy === undefined && signature === undefined) {
    throw new SignatureError('AccessDenied', 'Anonymous access is forbidden for this operation.', 403);
  }
  if (!accessKeyId || !policy || !signature) {
    throw invalidArgument('A signed POST form needs all of OSSAccessKeyId, policy and Signature.');
  }
  const key = form.get('key');
  if (key === undefined || key === '') throw invalidArgument("Bucket POST must contain a field named 'key'.");
  return { accessKeyId, policy, signature, key };
}

function findCredential(accessKeyId: string, opts: VerifyPostPolicyOptions): PostPolicyCredential {
  const found = opts.lookupSecret(accessKeyId);
  if (found === undefined) {
    throw new SignatureError('InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', 403);
  }
  return typeof found === 'string' ? { secret: found } : found;
}

/** Same rule as header signatures: missing token → InvalidAccessKeyId, wrong token → InvalidSecurityToken. */
function checkSecurityToken(form: Map<string, string>, credential: PostPolicyCredential): void {
  const sent = form.get('x-oss-security-token');
  if (credential.securityToken === undefined) {
    if (sent !== undefined) throw new SignatureError('InvalidSecurityToken', 'The security token you provided is invalid.', 403);
    return;
  }
  if (sent === undefined) {
    throw new SignatureError('InvalidAccessKeyId', 'The AccessKeyId is temporary and the form carries no x-oss-security-token.', 403);
  }
  if (!signaturesEqual(credential.securityToken, sent)) {
    throw new SignatureError('InvalidSecurityToken', 'The security token you provided is invalid.', 403);
  }
}

interface PolicyDocument {
  expiresAt: Date;
  conditions: unknown[];
}

function decodePolicy(policy: string): PolicyDocument {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(policy)) throw invalidPolicy('the policy is not base64.');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(policy, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string' || !Array.isArray(conditions)) {
    throw invalidPolicy('the policy needs an expiration string and a conditions list.');
  }
  return { expiresAt: parseExpiration(expiration), conditions };
}

/** ISO 8601 in GMT, e.g. 2014-12-01T12:00:00.000Z. */
function parseExpiration(value: string): Date {
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(value) ? new Date(value) : undefined;
  if (!at || Number.isNaN(at.getTime())) throw invalidPolicy('expiration must be an ISO 8601 GMT time.');
  return at;
}

// ---------------------------------------------------------------------------
// Conditions

interface ConditionContext {
  form: Map<string, string>;
  bucket: string;
  range?: [number, number];
}

/** "$key" names the form field key; "$bucket" the bucket the form was posted to. */
function fieldValue(ctx: ConditionContext, ref: string): string | undefined {
  const name = ref.replace(/^\$/, '').toLowerCase();
  return name === 'bucket' ? ctx.bucket : ctx.form.get(name);
}

/** Rendered like OSS's own message: ["eq", "$key", "a"]. */
function render(condition: unknown): string {
  if (Array.isArray(condition)) return `[${condition.map((c) => JSON.stringify(c)).join(', ')}]`;
  const entries = Object.entries(condition as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
}

function conditionFailed(condition: unknown): SignatureError {
  return new SignatureError('AccessDenied', `Invalid according to Policy: Policy Condition failed: ${render(condition)}`, 403);
}

function checkMap(ctx: ConditionContext, condition: Record<string, unknown>): void {
  for (const [name, expected] of Object.entries(condition)) {
    if (typeof expected !== 'string') throw invalidPolicy(`the value of ${name} must be a string.`);
    if (fieldValue(ctx, name) !== expected) throw conditionFailed(condition);
  }
}

function stringList(value: unknown, condition: unknown[]): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidPolicy(`${render(condition)} needs a list of strings.`);
  }
  return value;
}

function isByteCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function checkLengthRange(ctx: ConditionContext, condition: unknown[]): void {
  const [, min, max] = condition;
  if (condition.length !== 3 || !isByteCount(min) || !isByteCount(max) || max < min) {
    throw invalidPolicy(`${render(condition)} needs two byte counts, min <= max.`);
  }
  // Several ranges all apply: keep their intersection.
  const [lo, hi] = ctx.range ?? [0, Number.MAX_SAFE_INTEGER];
  ctx.range = [Math.max(lo, min), Math.min(hi, max)];
}

function matches(op: string, actual: string, operand: unknown, condition: unknown[]): boolean {
  if (op === 'in') return stringList(operand, condition).includes(actual);
  if (op === 'not-in') return !stringList(operand, condition).includes(actual);
  if (typeof operand !== 'string') throw invalidPolicy(`${render(condition)} needs a string value.`);
  return op === 'eq' ? actual === operand : actual.startsWith(operand);
}

function checkList(ctx: ConditionContext, condition: unknown[]): void {
  const op = typeof condition[0] === 'string' ? condition[0].toLowerCase() : undefined;
  if (op === 'content-length-range') return checkLengthRange(ctx, condition);
  if (op !== 'eq' && op !== 'starts-with' && op !== 'in' && op !== 'not-in') {
    throw invalidPolicy(`unknown condition ${render(condition)}.`);
  }
  if (condition.length !== 3 || typeof condition[1] !== 'string') throw invalidPolicy(`malformed condition ${render(condition)}.`);
  const actual = fieldValue(ctx, condition[1]);
  // A field the policy names but the form lacks fails the condition (only not-in is met by absence).
  if (actual === undefined) {
    if (op === 'not-in') return void stringList(condition[2], condition);
    throw conditionFailed(condition);
  }
  if (!matches(op, actual, condition[2], condition)) throw conditionFailed(condition);
}

function checkConditions(ctx: ConditionContext, conditions: unknown[]): void {
  for (const condition of conditions) {
    if (Array.isArray(condition)) checkList(ctx, condition);
    else if (typeof condition === 'object' && condition !== null) checkMap(ctx, condition as Record<string, unknown>);
    else throw invalidPolicy('each condition must be a map or a list.');
  }
  if (ctx.range && ctx.range[0] > ctx.range[1]) throw invalidPolicy('the content-length-range conditions exclude every size.');
}

/**
 * Verifies the text fields of a PostObject form (everything before `file`)
 * against the bucket it was posted to. Returns the signer, the object key and
 * the size bounds to enforce on the file part.
 */
export function verifyPostPolicy(fields: Record<string, string>, opts: VerifyPostPolicyOptions): VerifiedPostPolicy {
  const form = lowerCaseFields(fields);
  const auth = authFields(form);
  const credential = findCredential(auth.accessKeyId, opts);
  checkSecurityToken(form, credential);
  if (!signaturesEqual(postSignature(credential.secret, auth.policy), auth.signature)) {
    throw new SignatureError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', 403);
  }
  const doc = decodePolicy(auth.policy);
  if ((opts.now ?? new Date()).getTime() > doc.expiresAt.getTime()) {
    throw new SignatureError('AccessDenied', 'Invalid according to Policy: Policy expired.', 403);
  }
  const ctx: ConditionContext = { form, bucket: opts.bucket };
  checkConditions(ctx, doc.conditions);
  const result: VerifiedPostPolicy = { accessKeyId: auth.accessKeyId, key: auth.key, expiresAt: doc.expiresAt };
  if (ctx.range) result.contentLengthRange = ctx.range;
  return result;
}
