import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import OSS from 'ali-oss';
import { createPostPolicy, verifyPostPolicy, type VerifyPostPolicyOptions } from './oss-post-policy.js';
import { refused } from '../../test/support/signature.js';

const NOW = new Date('2026-01-10T12:00:00Z');
const LATER = '2026-01-10T13:00:00.000Z';

// ali-oss signs locally; it never contacts the endpoint here.
const vendor = new OSS({ accessKeyId: 'AK1', accessKeySecret: 'sk1', bucket: 'bkt1', region: 'oss-cn-shanghai' });

const opts: VerifyPostPolicyOptions = {
  bucket: 'bkt1',
  lookupSecret: (id) => (id === 'AK1' ? 'sk1' : undefined),
  now: NOW,
};

function vendorForm(conditions: unknown[], extra: Record<string, string>, expiration = LATER): Record<string, string> {
  const signed = vendor.calculatePostSignature({ expiration, conditions });
  return { OSSAccessKeyId: signed.OSSAccessKeyId, policy: signed.policy, Signature: signed.Signature, ...extra };
}

const CONDITIONS = [
  { bucket: 'bkt1' },
  ['starts-with', '$key', 'uploads/'],
  ['content-length-range', 1, 5 * 1024 ** 3],
  ['eq', '$success_action_status', '200'],
  ['in', '$content-type', ['text/plain', 'text/csv']],
  ['not-in', '$cache-control', ['no-cache']],
];
const FIELDS = { key: 'uploads/a.txt', success_action_status: '200', 'Content-Type': 'text/plain' };

test('a policy signed by ali-oss calculatePostSignature verifies', () => {
  assert.deepEqual(verifyPostPolicy(vendorForm(CONDITIONS, FIELDS), opts), {
    accessKeyId: 'AK1',
    key: 'uploads/a.txt',
    contentLengthRange: [1, 5 * 1024 ** 3],
    expiresAt: new Date(LATER),
  });
});

test('form field names are case-insensitive (the seed sends lower-case signature)', () => {
  const form = vendorForm(CONDITIONS, FIELDS);
  const seedStyle = { ossaccesskeyid: form.OSSAccessKeyId, policy: form.policy, signature: form.Signature, KEY: 'uploads/a.txt', SUCCESS_ACTION_STATUS: '200', 'content-type': 'text/plain' };
  assert.equal(verifyPostPolicy(seedStyle, opts).key, 'uploads/a.txt');
  refused(() => verifyPostPolicy({ ...form, signature: 'other' }, opts), 'InvalidArgument', 400);
});

test('createPostPolicy matches what ali-oss computes for the same document and verifies', () => {
  const made = createPostPolicy({
    accessKeyId: 'AK1',
    secret: 'sk1',
    bucket: 'bkt1',
    keyPrefix: 'audience/7/',
    maxBytes: 1000,
    expiresAt: new Date(LATER),
  });
  const document = JSON.parse(Buffer.from(made.policy, 'base64').toString('utf8'));
  assert.deepEqual(document, {
    expiration: LATER,
    conditions: [{ bucket: 'bkt1' }, ['starts-with', '$key', 'audience/7/'], ['content-length-range', 0, 1000]],
  });
  const theirs = vendor.calculatePostSignature(document);
  assert.equal(theirs.policy, made.policy);
  assert.equal(theirs.Signature, made.signature);
  const form = { OSSAccessKeyId: 'AK1', policy: made.policy, Signature: made.signature, key: 'audience/7/x.csv' };
  assert.deepEqual(verifyPostPolicy(form, opts).contentLengthRange, [0, 1000]);
});

test('an exact key policy only accepts that key', () => {
  const made = createPostPolicy({ accessKeyId: 'AK1', secret: 'sk1', bucket: 'bkt1', exactKey: 'a/b.txt', minBytes: 5, maxBytes: 9, expiresAt: new Date(LATER) });
  const form = { OSSAccessKeyId: 'AK1', policy: made.policy, Signature: made.signature, key: 'a/b.txt' };
  assert.deepEqual(verifyPostPolicy(form, opts).contentLengthRange, [5, 9]);
  refused(() => verifyPostPolicy({ ...form, key: 'a/b.txt2' }, opts), 'AccessDenied', 403,
    'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "a/b.txt"]');
});

test('a tampered policy or a wrong secret does not match the signature', () => {
  const form = vendorForm(CONDITIONS, FIELDS);
  const widened = Buffer.from(Buffer.from(form.policy, 'base64').toString('utf8').replace('uploads/', '')).toString('base64');
  refused(() => verifyPostPolicy({ ...form, policy: widened }, opts), 'SignatureDoesNotMatch', 403);
  refused(() => verifyPostPolicy(form, { ...opts, lookupSecret: () => 'other' }), 'SignatureDoesNotMatch', 403);
  refused(() => verifyPostPolicy(form, { ...opts, lookupSecret: () => undefined }), 'InvalidAccessKeyId', 403);
});

test('an expired policy is refused', () => {
  const form = vendorForm(CONDITIONS, FIELDS, '2026-01-10T11:59:59.000Z');
  refused(() => verifyPostPolicy(form, opts), 'AccessDenied', 403, 'Invalid according to Policy: Policy expired.');
  verifyPostPolicy(form, { ...opts, now: new Date('2026-01-10T11:59:00Z') });
});

test('conditions the form does not satisfy are refused', () => {
  const form = vendorForm(CONDITIONS, FIELDS);
  const failed = (change: Record<string, string>, condition: string) =>
    refused(() => verifyPostPolicy({ ...form, ...change }, opts), 'AccessDenied', 403,
      `Invalid according to Policy: Policy Condition failed: ${condition}`);
  failed({ key: 'elsewhere/a.txt' }, '["starts-with", "$key", "uploads/"]');
  failed({ success_action_status: '201' }, '["eq", "$success_action_status", "200"]');
  failed({ 'Content-Type': 'image/png' }, '["in", "$content-type", ["text/plain","text/csv"]]');
  failed({ 'Cache-Control': 'no-cache' }, '["not-in", "$cache-control", ["no-cache"]]');
  refused(() => verifyPostPolicy(form, { ...opts, bucket: 'other' }), 'AccessDenied', 403,
    'Invalid according to Policy: Policy Condition failed: {"bucket": "bkt1"}');
});

test('a field the policy names but the form lacks fails its condition', () => {
  const form = vendorForm(CONDITIONS, FIELDS);
  delete form.success_action_status;
  refused(() => verifyPostPolicy(form, opts), 'AccessDenied', 403,
    'Invalid according to Policy: Policy Condition failed: ["eq", "$success_action_status", "200"]');
  const mapped = vendorForm([{ 'x-oss-meta-owner': 'me' }], { key: 'k' });
  refused(() => verifyPostPolicy(mapped, opts), 'AccessDenied', 403);
  assert.equal(verifyPostPolicy({ ...mapped, 'X-OSS-Meta-Owner': 'me' }, opts).key, 'k');
});

test('missing form fields', () => {
  const form = vendorForm(CONDITIONS, FIELDS);
  refused(() => verifyPostPolicy({ key: 'uploads/a.txt' }, opts), 'AccessDenied', 403);
  const { Signature: _s, ...noSignature } = form;
  refused(() => verifyPostPolicy(noSignature, opts), 'InvalidArgument', 400);
  const { key: _k, ...noKey } = form;
  refused(() => verifyPostPolicy(noKey, opts), 'InvalidArgument', 400);
});

test('malformed policies are InvalidPolicyDocument', () => {
  const signedRaw = (json: string) => {
    const policy = Buffer.from(json).toString('base64');
    return { OSSAccessKeyId: 'AK1', policy, Signature: createHmac('sha1', 'sk1').update(policy).digest('base64'), key: 'k' };
  };
  const bad = (json: string) => refused(() => verifyPostPolicy(signedRaw(json), opts), 'InvalidPolicyDocument', 400);
  bad('not json');
  bad('{}');
  bad(`{"expiration": 123, "conditions": []}`);
  bad(`{"expiration": "tomorrow", "conditions": []}`);
  bad(`{"expiration": "${LATER}", "conditions": 123}`);
  bad(`{"expiration": "${LATER}", "conditions": [123]}`);
  bad(`{"expiration": "${LATER}", "conditions": [["$key"]]}`);
  bad(`{"expiration": "${LATER}", "conditions": [["content-length-range", 20, 10]]}`);
  bad(`{"expiration": "${LATER}", "conditions": [["content-length-range", 1, "test"]]}`);
  bad(`{"expiration": "${LATER}", "conditions": [["starts-with", "$key", "a", "b"]]}`);
  bad(`{"expiration": "${LATER}", "conditions": [["in", "$key", "k"]]}`);
  bad(`{"expiration": "${LATER}", "conditions": [["matches", "$key", "k"]]}`);
  assert.equal(verifyPostPolicy(signedRaw(`{"expiration": "${LATER}", "conditions": []}`), opts).contentLengthRange, undefined);
});

test('temporary credentials need their security token in the form', () => {
  const made = createPostPolicy({ accessKeyId: 'STS.t', secret: 'ts', bucket: 'bkt1', keyPrefix: '', maxBytes: 10, expiresAt: new Date(LATER), securityToken: 'tok' });
  const sts: VerifyPostPolicyOptions = { ...opts, lookupSecret: (id) => (id === 'STS.t' ? { secret: 'ts', securityToken: 'tok' } : undefined) };
  const form = { OSSAccessKeyId: 'STS.t', policy: made.policy, Signature: made.signature, key: 'x', 'x-oss-security-token': 'tok' };
  assert.equal(verifyPostPolicy(form, sts).accessKeyId, 'STS.t');
  const { 'x-oss-security-token': _t, ...noToken } = form;
  refused(() => verifyPostPolicy(noToken, sts), 'InvalidAccessKeyId', 403);
  refused(() => verifyPostPolicy({ ...form, 'x-oss-security-token': 'other' }, sts), 'InvalidSecurityToken', 403);
  // The token is also a policy condition, so a credential store without tokens still binds it.
  const plain: VerifyPostPolicyOptions = { ...opts, lookupSecret: (id) => (id === 'STS.t' ? 'ts' : undefined) };
  refused(() => verifyPostPolicy(noToken, plain), 'AccessDenied', 403);
});
