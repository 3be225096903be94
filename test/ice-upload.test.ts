// An ICE client's whole upload, with the vendors' own SDKs only: pop-core
// calls CreateUploadMedia, ali-oss uploads with the decoded UploadAddress and
// UploadAuth (put, then multipartUpload), GetMediaInfo reports the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startHarness, type Harness } from './support/harness.js';
import { call, decode, fileInfo, hexLines, ossFrom, ossGet, rpc, type UploadAddress, type UploadAuth } from './support/ice.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

test('CreateUploadMedia answers a MediaId, URLs and base64 JSON UploadAddress/UploadAuth', async () => {
  const res = await call(rpc(h), 'CreateUploadMedia', { FileInfo: fileInfo(), MediaMetaData: JSON.stringify({ Title: 'Spring buyers' }) });
  assert.match(res.RequestId, /^[0-9a-f-]{36}$/);
  assert.match(res.MediaId, /^[0-9a-f]{32}$/);
  const address = decode<UploadAddress>(res.UploadAddress);
  const auth = decode<UploadAuth>(res.UploadAuth);
  assert.equal(address.Endpoint, h.url);
  assert.equal(address.Bucket, 'audiencehub-cn');
  assert.match(address.FileName, /\/audience\.txt$/);
  assert.equal(res.FileURL, `${h.url}/audiencehub-cn/${address.FileName}`);
  assert.equal(res.MediaURL, res.FileURL);
  assert.match(auth.AccessKeyId, /^STS\./);
  assert.ok(auth.AccessKeySecret && auth.SecurityToken);
  assert.equal(auth.Expiration, '3000');
  const left = Date.parse(auth.ExpireUTCTime) - Date.now();
  assert.ok(left > 2990_000 && left <= 3000_000, `credential lives ${left} ms`);
  assert.equal(auth.Region, 'cn-shanghai');

  const info = await call(rpc(h), 'GetMediaInfo', { MediaId: res.MediaId });
  assert.equal(info.MediaInfo.MediaBasicInfo.Status, 'Init');
  assert.equal(info.MediaInfo.MediaBasicInfo.Title, 'Spring buyers');
  assert.equal(info.MediaInfo.MediaBasicInfo.MediaType, 'text');
});

test('ali-oss put, then GetMediaInfo shows Normal with the size and MD5, and the object reads back', async () => {
  const body = hexLines(20_000);
  const res = await call(rpc(h), 'CreateUploadMedia', { FileInfo: fileInfo({ Size: body.length }) });
  const { oss, address } = ossFrom(res);
  const put = await oss.put(address.FileName, body);
  assert.equal(put.res.status, 200);

  const info = (await call(rpc(h), 'GetMediaInfo', { MediaId: res.MediaId })).MediaInfo;
  assert.equal(info.MediaId, res.MediaId);
  assert.equal(info.MediaBasicInfo.Status, 'Normal');
  assert.equal(info.MediaBasicInfo.InputURL, `oss://audiencehub-cn/${address.FileName}`);
  const file = info.FileInfoList[0].FileBasicInfo;
  assert.equal(file.FileStatus, 'Normal');
  assert.equal(file.FileSize, String(body.length));
  assert.equal(file.Md5, md5(body));
  assert.equal(file.FileName, 'audience.txt');
  assert.equal(file.FileUrl, res.FileURL);
  assert.deepEqual(await ossGet(oss, address.FileName), body);
});

test('ali-oss multipartUpload of a ~300 KB file in 100 KB parts completes the media', async () => {
  const body = hexLines(300 * 1024);
  const res = await call(rpc(h), 'CreateUploadMedia', { FileInfo: fileInfo({ Name: 'big', Ext: 'csv', Size: body.length }) });
  const { oss, address } = ossFrom(res);
  const done = await oss.multipartUpload(address.FileName, body, { partSize: 100 * 1024 });
  assert.equal(done.res.status, 200);
  const file = (await call(rpc(h), 'GetMediaInfo', { MediaId: res.MediaId })).MediaInfo.FileInfoList[0].FileBasicInfo;
  assert.equal(file.FileStatus, 'Normal');
  assert.equal(file.FileSize, String(body.length));
  assert.equal(file.Md5, md5(body));
  assert.deepEqual(await ossGet(oss, address.FileName), body);
});

test('a declared FileInfo.Size that the body does not match is refused', async () => {
  const res = await call(rpc(h), 'CreateUploadMedia', { FileInfo: fileInfo({ Size: 10 }) });
  const { oss, address } = ossFrom(res);
  await assert.rejects(oss.put(address.FileName, Buffer.from('0123456789abcdef\n')), (e: any) => e.status === 400);
  const basic = (await call(rpc(h), 'GetMediaInfo', { MediaId: res.MediaId })).MediaInfo.MediaBasicInfo;
  assert.equal(basic.Status, 'UploadFail');
  assert.equal(basic.ErrorCode, 'SizeMismatch');
});
