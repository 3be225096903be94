// A route that does not exist is answered in the envelope of the API it was
// aimed at, so a vendor client reports a readable error instead of a parse failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { mintegralHeaders, serviceSeconds } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h.close());

test('native API: 404 with the native error shape', async () => {
  const r = await fetch(`${h.url}/v1/nope`, { headers: { authorization: `Bearer ${h.account.secret}` } });
  assert.equal(r.status, 404);
  const body = (await r.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'NotFound');
  assert.match(body.error.message, /GET \/v1\/nope/);
});

test('Mintegral: an authenticated call to a missing endpoint gets Mintegral\'s envelope', async () => {
  const r = await fetch(`${h.url}/api/open/v1/nope`, { headers: mintegralHeaders(h.account, serviceSeconds(h)) });
  assert.equal(r.status, 404);
  const body = (await r.json()) as { code: number; msg: string; data: unknown };
  assert.equal(body.code, 404);
  assert.equal(body.data, null);
});

test('Tencent Ads: a missing endpoint still asks for credentials first, in the Tencent envelope', async () => {
  const r = await fetch(`${h.url}/v1.3/nope`);
  assert.equal(r.status, 200);
  const body = (await r.json()) as { code: number; message_cn: string };
  assert.notEqual(body.code, 0);
  assert.ok(body.message_cn.length > 0);
});

test('outside any API: native 404', async () => {
  const r = await fetch(`${h.url}/no/such/thing`);
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'NotFound');
});
