// RegisterMediaInfo gives an object already in the store (uploaded through
// any protocol) a MediaId; GetMediaInfo and RefreshUploadMedia only ever see
// the calling account's media, and say ResourceNotFound otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startHarness, type Harness } from './support/harness.js';
import { call, fileInfo, hexLines, refusal, rpc, type Key } from './support/ice.js';

let h: Harness;
let other: Key & { id: string };
before(async () => {
  h = await startHarness();
  other = await h.newAccount('other-account');
});
after(async () => {
  await h.close();
});

/** A file uploaded through the native API into the ICE cluster: its data_path and storage key. */
async function nativeUpload(key: Key, body: Buffer | undefined): Promise<{ dataPath: string; storageKey: string; id: string }> {
  const res = await fetch(`${h.url}/v1/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.accessKeyId}:${key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ file_name: 'native.txt', cluster_id: 2 }),
  });
  assert.equal(res.status, 201);
  const created = (await res.json()) as { upload: { id: string; data_path: string; storage_key: string }; put: { url: string } };
  if (body) assert.equal((await fetch(created.put.url, { method: 'PUT', body: new Uint8Array(body) })).status, 200);
  return { dataPath: created.upload.data_path, storageKey: created.upload.storage_key, id: created.upload.id };
}

test('an object of the account gets a MediaId, the same however it is named and however often', async () => {
  const body = hexLines(4000);
  const up = await nativeUpload(h.account, body);
  assert.match(up.dataPath, /^s3:\/\/audiencehub-cn\//);
  const first = await call(rpc(h), 'RegisterMediaInfo', { InputURL: up.dataPath, Title: 'native file', MediaType: 'text' });
  assert.match(first.MediaId, /^[0-9a-f]{32}$/);
  const names = [
    `oss://audiencehub-cn/${up.storageKey}`,
    `${h.url}/audiencehub-cn/${up.storageKey.split('/').map(encodeURIComponent).join('/')}`,
    `https://audiencehub-cn.oss-cn-shanghai.aliyuncs.com/${up.storageKey}`,
  ];
  for (const InputURL of names) {
    assert.equal((await call(rpc(h), 'RegisterMediaInfo', { InputURL })).MediaId, first.MediaId, InputURL);
  }
  const info = (await call(rpc(h), 'GetMediaInfo', { MediaId: first.MediaId })).MediaInfo;
  assert.equal(info.MediaBasicInfo.Status, 'Normal');
  const file = info.FileInfoList[0].FileBasicInfo;
  assert.equal(file.FileSize, String(body.length));
  assert.equal(file.Md5, createHash('md5').update(body).digest('hex'));
  const byUrl = (await call(rpc(h), 'GetMediaInfo', { InputURL: names[0] })).MediaInfo;
  assert.equal(byUrl.MediaId, first.MediaId);
});

test('a registered object has no upload to refresh', async () => {
  const up = await nativeUpload(h.account, hexLines(1000));
  const { MediaId } = await call(rpc(h), 'RegisterMediaInfo', { InputURL: up.dataPath });
  const r = await refusal(call(rpc(h), 'RefreshUploadMedia', { MediaId }));
  assert.deepEqual([r.code, r.status], ['InvalidParameter', 400]);
  assert.match(r.message, /registered/);
});

test("another account's object, a missing one and an unknown bucket are not found", async () => {
  const theirs = await nativeUpload(other, hexLines(1000));
  const cases = [theirs.dataPath, 'oss://audiencehub-cn/nobody/20240101/up_x/a.txt', 'oss://some-other-bucket/a.txt'];
  for (const InputURL of cases) {
    const r = await refusal(call(rpc(h), 'RegisterMediaInfo', { InputURL }));
    assert.deepEqual([r.code, r.status], ['ResourceNotFound', 404], InputURL);
  }
  // The owner can still register it.
  assert.match((await call(rpc(h, other), 'RegisterMediaInfo', { InputURL: theirs.dataPath })).MediaId, /^[0-9a-f]{32}$/);
});

test('an object still waiting for its file cannot be registered', async () => {
  const up = await nativeUpload(h.account, undefined);
  const r = await refusal(call(rpc(h), 'RegisterMediaInfo', { InputURL: up.dataPath }));
  assert.deepEqual([r.code, r.status], ['Forbidden.OperationNotAllowed', 403]);
});

const badRegistrations: Array<[string, Record<string, string>, string, string]> = [
  ['no InputURL', {}, 'MissingParameter', 'InputURL'],
  ['an ftp URL', { InputURL: 'ftp://audiencehub-cn/a.txt' }, 'InvalidParameter', 'InputURL'],
  ['a bucket without a key', { InputURL: 'oss://audiencehub-cn' }, 'InvalidParameter', 'InputURL'],
  ['a key that climbs out', { InputURL: 'oss://audiencehub-cn/a/../b.txt' }, 'InvalidParameter', 'InputURL'],
  ['a video MediaType', { InputURL: 'oss://audiencehub-cn/a.txt', MediaType: 'video' }, 'InvalidParameter', 'MediaType'],
  ['a long Title', { InputURL: 'oss://audiencehub-cn/a.txt', Title: 't'.repeat(129) }, 'InvalidParameter', 'Title'],
  ['bad MediaTags', { InputURL: 'oss://audiencehub-cn/a.txt', MediaTags: 'a,,b' }, 'InvalidParameter', 'MediaTags'],
  ['a CoverURL that is no URL', { InputURL: 'oss://audiencehub-cn/a.txt', CoverURL: 'c.png' }, 'InvalidParameter', 'CoverURL'],
];
for (const [what, params, code, field] of badRegistrations) {
  test(`RegisterMediaInfo refuses ${what}`, async () => {
    const r = await refusal(call(rpc(h), 'RegisterMediaInfo', params));
    assert.deepEqual([r.code, r.status], [code, 400]);
    assert.ok(r.message.startsWith(field), r.message);
  });
}

test('GetMediaInfo and RefreshUploadMedia: unknown or foreign MediaId is ResourceNotFound, a malformed one InvalidParameter', async () => {
  const theirs = await call(rpc(h, other), 'CreateUploadMedia', { FileInfo: fileInfo() });
  for (const action of ['GetMediaInfo', 'RefreshUploadMedia']) {
    for (const MediaId of ['0123456789abcdef0123456789abcdef', theirs.MediaId]) {
      const r = await refusal(call(rpc(h), action, { MediaId }));
      assert.deepEqual([r.code, r.status], ['ResourceNotFound', 404], `${action} ${MediaId}`);
    }
    const none = await refusal(call(rpc(h), action, {}));
    assert.deepEqual([none.code, none.status], ['MissingParameter', 400]);
    const malformed = await refusal(call(rpc(h), action, { MediaId: 'a/b' }));
    assert.deepEqual([malformed.code, malformed.status], ['InvalidParameter', 400]);
  }
  // The owner sees it.
  assert.equal((await call(rpc(h, other), 'GetMediaInfo', { MediaId: theirs.MediaId })).MediaInfo.MediaId, theirs.MediaId);
});
