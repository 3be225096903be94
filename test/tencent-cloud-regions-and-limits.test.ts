// Seed 002's limits, answered in Tencent Cloud's words through the vendor's
// SDK: CreateUploadUrl is served in ap-bangkok, ap-hongkong and ap-singapore
// only (UnsupportedRegion elsewhere), needs TargetAction (MissingParameter),
// allows 20 requests per second per account (RequestLimitExceeded), and is
// version 2018-03-01 (NoSuchVersion otherwise; InvalidAction for an action
// that does not exist). All with HTTP 200 and Response.Error, as API 3.0 does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { createUploadUrl, tcCall, tcClient, type TcResult } from './support/vendor-clients.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

function refused(r: TcResult, code: string): void {
  assert.equal(r.ok, false, `expected ${code}, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.code, code, r.message);
  assert.equal(r.httpCode, undefined, 'API 3.0 refuses with HTTP 200');
  assert.match(r.requestId, /^[0-9a-f-]{36}$/);
}

for (const region of ['ap-bangkok', 'ap-hongkong', 'ap-singapore']) {
  test(`region ${region} (one of the seed's three) is served`, async () => {
    const r = await createUploadUrl(h, h.account, undefined, { region });
    assert.equal(r.ok, true, JSON.stringify(r));
  });
}

for (const region of ['ap-guangzhou', 'na-siliconvalley']) {
  test(`region ${region} is refused with UnsupportedRegion, naming the supported ones`, async () => {
    const r = await createUploadUrl(h, h.account, undefined, { region });
    refused(r, 'UnsupportedRegion');
    if (!r.ok) assert.match(r.message, /ap-bangkok, ap-hongkong, ap-singapore/);
  });
}

test('a call with no region at all is refused with MissingParameter', async () => {
  const client = tcClient(h, h.account);
  (client as unknown as { region: string | null }).region = null; // the SDK then sends no X-TC-Region
  refused(await tcCall(client, 'CreateUploadUrl', { TargetAction: 'ApplyWebVerificationToken' }), 'MissingParameter');
});

test('a call without TargetAction is refused with MissingParameter naming it', async () => {
  const r = await createUploadUrl(h, h.account, {});
  refused(r, 'MissingParameter');
  if (!r.ok) assert.match(r.message, /TargetAction/);
  refused(await createUploadUrl(h, h.account, { TargetAction: '' }), 'MissingParameter');
});

test('a TargetAction that is not an action name is refused with InvalidParameterValue', async () => {
  refused(await createUploadUrl(h, h.account, { TargetAction: '../../etc' }), 'InvalidParameterValue');
});

test('the wrong X-TC-Version is refused with NoSuchVersion', async () => {
  for (const version of ['2017-03-12', '2099-01-01']) {
    const r = await createUploadUrl(h, h.account, undefined, { version });
    refused(r, 'NoSuchVersion');
    if (!r.ok) assert.match(r.message, /2018-03-01/);
  }
});

test('an action that does not exist is refused with InvalidAction', async () => {
  refused(await tcCall(tcClient(h, h.account), 'DeleteEverything', {}), 'InvalidAction');
  // Action names are case-sensitive, as Tencent's are.
  refused(await tcCall(tcClient(h, h.account), 'createUploadUrl', { TargetAction: 'A' }), 'InvalidAction');
});

test('21 calls within one second from one account: exactly one is refused with RequestLimitExceeded; another account is unaffected', async () => {
  const busy = await h.newAccount('busy-account');
  const quiet = await h.newAccount('quiet-account');
  const client = tcClient(h, busy);
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 21 }, () => tcCall(client, 'CreateUploadUrl', { TargetAction: 'ApplyWebVerificationToken' })));
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 1000, `the 21 calls took ${elapsed} ms, more than the one second this test is about`);
  const refusedOnes = results.filter((r) => !r.ok);
  assert.equal(results.filter((r) => r.ok).length, 20);
  assert.equal(refusedOnes.length, 1);
  refused(refusedOnes[0], 'RequestLimitExceeded');

  // In the same second another account has its own 20.
  const others = await Promise.all(Array.from({ length: 20 }, () => createUploadUrl(h, quiet)));
  assert.ok(others.every((r) => r.ok), JSON.stringify(others.find((r) => !r.ok)));

  // A refused call issues no upload: 20 records for the busy account.
  const rows = await h.app.db.selectFrom('uploads').select('id').where('account_id', '=', (await h.app.accounts.findKey(busy.accessKeyId))!.accountId).execute();
  assert.equal(rows.length, 20);
});

test('the limit is per second: once the second has passed the account is served again', async () => {
  const acct = await h.newAccount('patient-account');
  const client = tcClient(h, acct);
  await Promise.all(Array.from({ length: 20 }, () => tcCall(client, 'CreateUploadUrl', { TargetAction: 'A' })));
  refused(await tcCall(client, 'CreateUploadUrl', { TargetAction: 'A' }), 'RequestLimitExceeded');
  h.clock.offsetMs += 1001;
  try {
    const again = await tcCall(client, 'CreateUploadUrl', { TargetAction: 'A' });
    assert.equal(again.ok, true, JSON.stringify(again));
  } finally {
    h.clock.offsetMs = 0;
  }
});
