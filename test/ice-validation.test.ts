// Every rule on CreateUploadMedia's parameters, one row each: what is sent,
// and the Aliyun code and parameter named in the refusal. Accepted values are
// kept on the upload as sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { call, refusal, rpc } from './support/ice.js';

const MAX = 1_000_000;
let h: Harness;
before(async () => {
  h = await startHarness({ patch: (c) => void (c.uploads.maxBytes = MAX) });
});
after(async () => {
  await h.close();
});

const FILE = { Type: 'text', Name: 'audience', Ext: 'txt' };
const json = (v: unknown) => JSON.stringify(v);
const file = (over: Record<string, unknown>) => json({ ...FILE, ...over });

type Row = [what: string, params: Record<string, string>, code: 'InvalidParameter' | 'MissingParameter', field: string, says?: RegExp];

const rows: Row[] = [
  // FileInfo
  ['no FileInfo', {}, 'MissingParameter', 'FileInfo'],
  ['FileInfo not JSON', { FileInfo: '{Name:' }, 'InvalidParameter', 'FileInfo', /not valid JSON/],
  ['FileInfo an array', { FileInfo: '[1]' }, 'InvalidParameter', 'FileInfo', /JSON object/],
  ['FileInfo unknown key', { FileInfo: file({ Codec: 'h264' }) }, 'InvalidParameter', 'FileInfo.Codec', /Type, Name, Size, Ext/],
  ['FileInfo without Name', { FileInfo: json({ Ext: 'txt' }) }, 'MissingParameter', 'FileInfo.Name'],
  ['FileInfo without Ext', { FileInfo: json({ Name: 'a' }) }, 'MissingParameter', 'FileInfo.Ext'],
  ['FileInfo.Type video', { FileInfo: file({ Type: 'video' }) }, 'InvalidParameter', 'FileInfo.Type', /audience files are text/],
  ['FileInfo.Name a number', { FileInfo: file({ Name: 7 }) }, 'InvalidParameter', 'FileInfo.Name', /string/],
  ['FileInfo.Name over 200 bytes', { FileInfo: file({ Name: 'é'.repeat(101) }) }, 'InvalidParameter', 'FileInfo.Name', /200 bytes/],
  ['FileInfo.Name with a slash', { FileInfo: file({ Name: 'dir/a' }) }, 'InvalidParameter', 'FileInfo.Name', /slash/],
  ['FileInfo.Name with ..', { FileInfo: file({ Name: '..' }) }, 'InvalidParameter', 'FileInfo.Name', /\.\./],
  ['FileInfo.Name with a control character', { FileInfo: file({ Name: 'a\u0001b' }) }, 'InvalidParameter', 'FileInfo.Name', /control/],
  ['FileInfo.Ext mp4', { FileInfo: file({ Ext: 'mp4' }) }, 'InvalidParameter', 'FileInfo.Ext', /audience files are txt, csv or gz/],
  ['FileInfo.Ext exe', { FileInfo: file({ Ext: 'exe' }) }, 'InvalidParameter', 'FileInfo.Ext', /txt, csv, gz/],
  ['FileInfo.Size negative', { FileInfo: file({ Size: -1 }) }, 'InvalidParameter', 'FileInfo.Size', /from 0/],
  ['FileInfo.Size fractional', { FileInfo: file({ Size: 1.5 }) }, 'InvalidParameter', 'FileInfo.Size', /integer/],
  ['FileInfo.Size not a number', { FileInfo: file({ Size: '12kb' }) }, 'InvalidParameter', 'FileInfo.Size', /integer/],
  ['FileInfo.Size over the limit', { FileInfo: file({ Size: MAX + 1 }) }, 'InvalidParameter', 'FileInfo.Size', new RegExp(`to ${MAX} bytes`)],
  // MediaMetaData
  ['MediaMetaData not JSON', { MediaMetaData: 'Title=x' }, 'InvalidParameter', 'MediaMetaData'],
  ['MediaMetaData unknown key', { MediaMetaData: json({ Owner: 'x' }) }, 'InvalidParameter', 'MediaMetaData.Owner'],
  ['Title over 128 bytes', { MediaMetaData: json({ Title: 'é'.repeat(65) }) }, 'InvalidParameter', 'MediaMetaData.Title', /128 bytes/],
  ['Title not a string', { MediaMetaData: json({ Title: ['a'] }) }, 'InvalidParameter', 'MediaMetaData.Title', /string/],
  ['Description over 1024 bytes', { MediaMetaData: json({ Description: 'd'.repeat(1025) }) }, 'InvalidParameter', 'MediaMetaData.Description', /1024 bytes/],
  ['17 Tags', { MediaMetaData: json({ Tags: Array.from({ length: 17 }, (_, i) => `t${i}`).join(',') }) }, 'InvalidParameter', 'MediaMetaData.Tags', /16 tags/],
  ['a Tag over 32 bytes', { MediaMetaData: json({ Tags: `ok,${'t'.repeat(33)}` }) }, 'InvalidParameter', 'MediaMetaData.Tags', /1 to 32 bytes/],
  ['an empty Tag', { MediaMetaData: json({ Tags: 'a,,b' }) }, 'InvalidParameter', 'MediaMetaData.Tags'],
  ['CoverURL ftp', { MediaMetaData: json({ CoverURL: 'ftp://example.com/c.png' }) }, 'InvalidParameter', 'MediaMetaData.CoverURL', /http/],
  ['CoverURL not a URL', { MediaMetaData: json({ CoverURL: 'cover.png' }) }, 'InvalidParameter', 'MediaMetaData.CoverURL'],
  ['CateId negative', { MediaMetaData: json({ CateId: -3 }) }, 'InvalidParameter', 'MediaMetaData.CateId'],
  ['CateId a word', { MediaMetaData: json({ CateId: 'news' }) }, 'InvalidParameter', 'MediaMetaData.CateId', /integer/],
  ['BusinessType not a word', { MediaMetaData: json({ BusinessType: '1 2' }) }, 'InvalidParameter', 'MediaMetaData.BusinessType'],
  ['DynamicMetaData an array', { MediaMetaData: json({ DynamicMetaData: '[1]' }) }, 'InvalidParameter', 'MediaMetaData.DynamicMetaData'],
  // UploadTargetConfig
  ['StorageType s3', { UploadTargetConfig: json({ StorageType: 's3' }) }, 'InvalidParameter', 'UploadTargetConfig.StorageType', /oss, vod/],
  ['StorageLocation elsewhere', { UploadTargetConfig: json({ StorageType: 'oss', StorageLocation: 'outin-1.oss-cn-shanghai.aliyuncs.com' }) }, 'InvalidParameter', 'UploadTargetConfig.StorageLocation', /audiencehub-cn/],
  ['StorageLocation not a host', { UploadTargetConfig: json({ StorageLocation: 'http://x/y' }) }, 'InvalidParameter', 'UploadTargetConfig.StorageLocation'],
  ['UploadTargetConfig unknown key', { UploadTargetConfig: json({ Bucket: 'x' }) }, 'InvalidParameter', 'UploadTargetConfig.Bucket'],
  // PostProcessConfig
  ['PostProcessConfig without ProcessID', { PostProcessConfig: json({ ProcessType: 'Workflow' }) }, 'MissingParameter', 'PostProcessConfig.ProcessID'],
  ['PostProcessConfig without ProcessType', { PostProcessConfig: json({ ProcessID: 'abc' }) }, 'MissingParameter', 'PostProcessConfig.ProcessType'],
  ['ProcessType Transcode', { PostProcessConfig: json({ ProcessType: 'Transcode', ProcessID: 'abc' }) }, 'InvalidParameter', 'PostProcessConfig.ProcessType', /Workflow/],
  ['ProcessID with spaces', { PostProcessConfig: json({ ProcessType: 'Workflow', ProcessID: 'a b' }) }, 'InvalidParameter', 'PostProcessConfig.ProcessID'],
  // UserData
  ['UserData not JSON', { UserData: 'callback=x' }, 'InvalidParameter', 'UserData'],
  ['UserData unknown key', { UserData: json({ Vod: {} }) }, 'InvalidParameter', 'UserData.Vod', /MessageCallback, Extend/],
  ['MessageCallback a string', { UserData: json({ MessageCallback: 'http://x' }) }, 'InvalidParameter', 'UserData.MessageCallback', /JSON object/],
  ['MessageCallback without CallbackURL', { UserData: json({ MessageCallback: {} }) }, 'MissingParameter', 'UserData.MessageCallback.CallbackURL'],
  ['CallbackURL ftp', { UserData: json({ MessageCallback: { CallbackURL: 'ftp://example.com/hook' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackURL', /http/],
  ['CallbackURL javascript:', { UserData: json({ MessageCallback: { CallbackURL: 'javascript:alert(1)' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackURL'],
  ['CallbackURL with a password', { UserData: json({ MessageCallback: { CallbackURL: 'http://u:p@example.com/' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackURL', /password/],
  ['CallbackURL on loopback', { UserData: json({ MessageCallback: { CallbackURL: 'http://127.0.0.1:9/hook' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackURL', /public address/],
  ['CallbackURL on a private network', { UserData: json({ MessageCallback: { CallbackURL: 'http://10.1.2.3/hook' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackURL', /public address/],
  ['CallbackURL to localhost', { UserData: json({ MessageCallback: { CallbackURL: 'http://localhost:8080/hook' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackURL', /public address/],
  ['CallbackURL to a link-local metadata address', { UserData: json({ MessageCallback: { CallbackURL: 'http://169.254.169.254/latest' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackURL', /public address/],
  ['CallbackType mns', { UserData: json({ MessageCallback: { CallbackURL: 'http://example.com/', CallbackType: 'mns' } }) }, 'InvalidParameter', 'UserData.MessageCallback.CallbackType', /mns is not supported/],
  ['Extend over 512 bytes', { UserData: json({ Extend: { k: 'v'.repeat(520) } }) }, 'InvalidParameter', 'UserData.Extend', /512 bytes/],
  ['UserData over 2048 bytes', { UserData: json({ Extend: 'x'.repeat(2100) }) }, 'InvalidParameter', 'UserData', /2048 bytes/],
  // Scalars
  ['AppId not app-<digits>', { AppId: 'myapp' }, 'InvalidParameter', 'AppId'],
  ['EntityId with a dash', { EntityId: 'a-b' }, 'InvalidParameter', 'EntityId'],
];

for (const [what, params, code, field, says] of rows) {
  test(`CreateUploadMedia refuses ${what}: ${code} naming ${field}`, async () => {
    const sent = { FileInfo: json(FILE), ...params };
    if (what === 'no FileInfo') delete (sent as Record<string, string>).FileInfo;
    const r = await refusal(call(rpc(h), 'CreateUploadMedia', sent));
    assert.equal(r.code, code, r.message);
    assert.equal(r.status, 400);
    assert.ok(r.message.startsWith(field), `"${r.message}" should start with ${field}`);
    if (says) assert.match(r.message, says);
  });
}

test('CreateUploadMedia refuses a RegionId ICE is not served in', async () => {
  const r = await refusal(call(rpc(h), 'CreateUploadMedia', { FileInfo: json(FILE), RegionId: 'us-west-1' }));
  assert.deepEqual([r.code, r.status], ['InvalidRegionId', 400]);
});

test('accepted values are kept on the upload as sent, with the key that made it', async () => {
  const sent = {
    FileInfo: json({ Type: 'TEXT', Name: 'buyers 2024', Size: '1000', Ext: 'CSV' }),
    MediaMetaData: json({ Title: 'Buyers', Description: 'Q1', Tags: 'a,b', CoverURL: 'https://example.com/c.png', CateId: 7, BusinessType: 'general', DynamicMetaData: '{"k":"v"}' }),
    UploadTargetConfig: json({ StorageType: 'oss', StorageLocation: 'audiencehub-cn.oss-cn-shanghai.aliyuncs.com' }),
    PostProcessConfig: json({ ProcessType: 'Workflow', ProcessID: '74ba870f1a4873a3ba238e0bf6fa9' }),
    UserData: json({ MessageCallback: { CallbackURL: 'https://example.com/hook', CallbackType: 'http' }, Extend: { localId: 'l1' } }),
    AppId: 'app-2000000',
    RegionId: 'cn-beijing',
  };
  const res = await call(rpc(h), 'CreateUploadMedia', sent);
  const u = await h.app.uploads.getByMediaId(h.account.id, res.MediaId);
  assert.equal(u.fileName, 'buyers 2024.csv');
  assert.equal(u.declaredSize, 1000);
  assert.equal(u.dialect, 'aliyun-ice');
  assert.match(u.dataPath, /^oss:\/\/audiencehub-cn\//);
  assert.deepEqual(u.metadata.FileInfo, { Type: 'text', Name: 'buyers 2024', Size: 1000, Ext: 'csv' });
  assert.deepEqual(u.metadata.MediaMetaData, JSON.parse(sent.MediaMetaData));
  assert.deepEqual(u.metadata.UploadTargetConfig, JSON.parse(sent.UploadTargetConfig));
  assert.deepEqual(u.metadata.PostProcessConfig, JSON.parse(sent.PostProcessConfig));
  assert.deepEqual(u.metadata.UserData, JSON.parse(sent.UserData));
  assert.equal(u.metadata.AppId, 'app-2000000');
  assert.equal(u.keyId, h.account.accessKeyId);
});

test('FileInfo.Size equal to the limit is accepted', async () => {
  const res = await call(rpc(h), 'CreateUploadMedia', { FileInfo: json({ ...FILE, Size: MAX }) });
  assert.match(res.MediaId, /^[0-9a-f]{32}$/);
});
