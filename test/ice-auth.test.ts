// Aliyun RPC authentication as the running server applies it to ICE actions:
// each refusal carries Aliyun's code and HTTP status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { call, fileInfo, refusal, rpc, type Key } from './support/ice.js';
import { signAliyunRpc } from '../src/protocols/aliyun-rpc.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const create = (key: Key = h.account) => call(rpc(h, key), 'CreateUploadMedia', { FileInfo: fileInfo() });

test('a signature made with the wrong secret: SignatureDoesNotMatch 400', async () => {
  const r = await refusal(create({ accessKeyId: h.account.accessKeyId, secret: 'not-the-secret' }));
  assert.deepEqual([r.code, r.status], ['SignatureDoesNotMatch', 400]);
});

test('an access key nobody issued: InvalidAccessKeyId.NotFound 404', async () => {
  const r = await refusal(create({ accessKeyId: 'AHKNOSUCHKEY0000000000', secret: h.account.secret }));
  assert.deepEqual([r.code, r.status], ['InvalidAccessKeyId.NotFound', 404]);
});

test('a revoked access key: InvalidAccessKeyId.Inactive 400', async () => {
  const acct = await h.newAccount('revoked-key-account');
  await create(acct);
  await h.app.accounts.revokeKey(acct.id, acct.accessKeyId);
  const r = await refusal(create(acct));
  assert.deepEqual([r.code, r.status], ['InvalidAccessKeyId.Inactive', 400]);
});

test('a Timestamp more than 300 s away from the server clock: InvalidTimeStamp.Expired 400, either way', async (t) => {
  t.after(() => {
    h.clock.offsetMs = 0;
  });
  // 305 rather than 301: the Timestamp is whole seconds, the server's clock is not.
  for (const offset of [305_000, -305_000]) {
    h.clock.offsetMs = offset;
    const r = await refusal(create());
    assert.deepEqual([r.code, r.status], ['InvalidTimeStamp.Expired', 400], `offset ${offset}`);
  }
  // 295 s is within the window.
  h.clock.offsetMs = 295_000;
  assert.match((await create()).MediaId, /^[0-9a-f]{32}$/);
});

test('a request sent twice with the same SignatureNonce: SignatureNonceUsed 400 the second time', async () => {
  // The same signing pop-core does (src/protocols/aliyun-rpc.test.ts proves them equal), with a fixed nonce.
  const params = signAliyunRpc(
    'POST',
    { Action: 'CreateUploadMedia', Version: '2020-11-09', FileInfo: fileInfo() },
    { accessKeyId: h.account.accessKeyId, secret: h.account.secret, nonce: 'replayed-nonce-1' },
  );
  const send = () => fetch(`${h.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  const first = await send();
  assert.equal(first.status, 200);
  const second = await send();
  assert.equal(second.status, 400);
  const body = (await second.json()) as Record<string, string>;
  assert.equal(body.Code, 'SignatureNonceUsed');
  assert.ok(body.RequestId && 'HostId' in body && 'Recommend' in body && body.Message);
});

test('an action ICE does not have: InvalidApi.NotFound 404', async () => {
  const r = await refusal(call(rpc(h), 'DeleteMediaInfos', { MediaIds: 'x' }));
  assert.deepEqual([r.code, r.status], ['InvalidApi.NotFound', 404]);
});
