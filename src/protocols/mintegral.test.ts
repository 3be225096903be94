import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mintegralToken, verifyMintegral, type VerifyMintegralOptions } from './mintegral.js';
import { refused } from '../../test/support/signature.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

// The example on Mintegral's "API Token" page.
const API_KEY = 'ce4f7c2b8edb173e2533d7a169080504';
const ACCESS_KEY = '1d801c3346a97e25369abf5278118794';
const TS = 1471256697;
const TOKEN = '378d387c2b61462cf4bc62b3949111f3';

const opts: VerifyMintegralOptions = {
  lookupSecret: (key) => (key === ACCESS_KEY ? API_KEY : undefined),
  now: new Date((TS + 10) * 1000),
};

const headers = { 'access-key': ACCESS_KEY, token: TOKEN, timestamp: String(TS) };

test('token = md5(api_key + md5(timestamp)), the documented example', () => {
  assert.equal(md5(API_KEY + md5(String(TS))), TOKEN);
  assert.equal(mintegralToken(API_KEY, TS), TOKEN);
  assert.equal(mintegralToken(API_KEY, String(TS)), TOKEN);
  assert.equal(mintegralToken('k', 1700000000), md5('k' + md5('1700000000')));
});

test('a correct token verifies', () => {
  assert.deepEqual(verifyMintegral(headers, opts), { accessKey: ACCESS_KEY, timestamp: TS });
  assert.deepEqual(verifyMintegral({ ...headers, token: TOKEN.toUpperCase() }, opts).timestamp, TS);
});

test('a wrong token, a missing header or a malformed timestamp is 401', () => {
  refused(() => verifyMintegral({ ...headers, token: md5('other') }, opts), '401', 401);
  refused(() => verifyMintegral({ ...headers, timestamp: String(TS + 1) }, { ...opts }), '401', 401);
  for (const name of ['access-key', 'token', 'timestamp'] as const) {
    const without: Record<string, string> = { ...headers };
    delete without[name];
    refused(() => verifyMintegral(without, opts), '401', 401);
  }
  refused(() => verifyMintegral({ ...headers, timestamp: '1471256697.5' }, opts), '401', 401);
  refused(() => verifyMintegral({ ...headers, timestamp: '-1' }, opts), '401', 401);
});

test('a timestamp more than 300 s away is 402', () => {
  const at = (s: number) => ({ ...opts, now: new Date(s * 1000) });
  verifyMintegral(headers, at(TS + 300));
  verifyMintegral(headers, at(TS - 300));
  refused(() => verifyMintegral(headers, at(TS + 301)), '402', 401);
  refused(() => verifyMintegral(headers, at(TS - 301)), '402', 401);
  refused(() => verifyMintegral(headers, { ...at(TS + 61), maxSkewSeconds: 60 }), '402', 401);
});

test('an unknown access-key is 403', () => {
  refused(() => verifyMintegral({ ...headers, 'access-key': 'nobody' }, opts), '403', 403);
});
