// What the embedded store enforces on an ICE upload credential: its lifetime,
// its one object, one file per credential until RefreshUploadMedia, and the
// audience-file content check, each seen through ali-oss and GetMediaInfo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startHarness, type Harness } from './support/harness.js';
import { call, fileInfo, hexLines, ossFrom, ossGet, rpc } from './support/ice.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const create = () => call(rpc(h), 'CreateUploadMedia', { FileInfo: fileInfo() });
const mediaInfo = async (mediaId: string) => (await call(rpc(h), 'GetMediaInfo', { MediaId: mediaId })).MediaInfo;

/** An OSS error as ali-oss reports it. */
const ossError = (code: string, status: number, message?: RegExp) => (e: any) => {
  assert.equal(e.code, code, e.message);
  assert.equal(e.status, status);
  if (message) assert.match(e.message, message);
  return true;
};

test('the credential works until its 3000 s are up, and is refused after', async (t) => {
  t.after(() => {
    h.clock.offsetMs = 0;
  });
  const early = await create();
  const late = await create();
  // The service's clock moves on; ali-oss corrects its own dates by the same amount.
  h.clock.offsetMs = 2_990_000;
  const a = ossFrom(early, { amendTimeSkewed: h.clock.offsetMs });
  await a.oss.put(a.address.FileName, hexLines(1000));
  h.clock.offsetMs = 3_001_000;
  const b = ossFrom(late, { amendTimeSkewed: h.clock.offsetMs });
  await assert.rejects(b.oss.put(b.address.FileName, hexLines(1000)), ossError('InvalidSecurityToken', 403, /expired/));
  await assert.rejects(b.oss.multipartUpload(b.address.FileName, hexLines(250 * 1024), { partSize: 100 * 1024 }), ossError('InvalidSecurityToken', 403));
  h.clock.offsetMs = 0;
  assert.equal((await mediaInfo(early.MediaId)).MediaBasicInfo.Status, 'Normal');
  assert.equal((await mediaInfo(late.MediaId)).MediaBasicInfo.Status, 'Init');
});

test("one media's credential cannot write another media's object", async () => {
  const mine = await create();
  const other = await create();
  const { oss } = ossFrom(mine);
  const { address: target } = ossFrom(other);
  await assert.rejects(oss.put(target.FileName, hexLines(1000)), ossError('AccessDenied', 403));
  await assert.rejects(oss.multipartUpload(target.FileName, hexLines(250 * 1024), { partSize: 100 * 1024 }), ossError('AccessDenied', 403));
  // Nor a key next to its own.
  const { address: own } = ossFrom(mine);
  await assert.rejects(oss.put(`${own.FileName}.extra`, hexLines(1000)), ossError('AccessDenied', 403));
  assert.equal((await mediaInfo(other.MediaId)).MediaBasicInfo.Status, 'Init');
});

test('a second put needs RefreshUploadMedia, and then replaces the file', async () => {
  const res = await create();
  const first = hexLines(5000);
  const second = hexLines(7000);
  const { oss, address } = ossFrom(res);
  await oss.put(address.FileName, first);
  await assert.rejects(oss.put(address.FileName, second), ossError('FileAlreadyExists', 409));
  assert.equal((await mediaInfo(res.MediaId)).FileInfoList[0].FileBasicInfo.Md5, md5(first));

  const refreshed = await call(rpc(h), 'RefreshUploadMedia', { MediaId: res.MediaId });
  assert.equal(refreshed.MediaId, res.MediaId);
  const again = ossFrom(refreshed);
  assert.equal(again.address.FileName, address.FileName);
  assert.notEqual(again.oss, oss);
  // Until the new file is accepted whole, the old one is what the media serves.
  assert.equal((await mediaInfo(res.MediaId)).MediaBasicInfo.Status, 'Normal');
  await again.oss.put(address.FileName, second);
  const file = (await mediaInfo(res.MediaId)).FileInfoList[0].FileBasicInfo;
  assert.equal(file.FileStatus, 'Normal');
  assert.equal(file.Md5, md5(second));
  assert.equal(file.FileSize, String(second.length));
  assert.deepEqual(await ossGet(again.oss, address.FileName), second);
});

for (const [what, body] of [
  ['a PNG file', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.from('IHDR')])],
  ['text with NUL bytes', Buffer.concat([Buffer.from('a1b2c3\n'), Buffer.alloc(16), Buffer.from('d4e5f6\n')])],
] as const) {
  test(`${what} is refused through ali-oss put and GetMediaInfo says why`, async () => {
    const res = await create();
    const { oss, address } = ossFrom(res);
    await assert.rejects(oss.put(address.FileName, body), ossError('NotAudienceFile', 400));
    const basic = (await mediaInfo(res.MediaId)).MediaBasicInfo;
    assert.equal(basic.Status, 'UploadFail');
    assert.equal(basic.ErrorCode, 'NotAudienceFile');
    assert.match(basic.ErrorMessage, /binary data/);
    // The same credential may still send a proper file.
    await oss.put(address.FileName, hexLines(2000));
    assert.equal((await mediaInfo(res.MediaId)).MediaBasicInfo.Status, 'Normal');
  });
}

test('RefreshUploadMedia after the credential expired makes the media Init again', async (t) => {
  t.after(() => {
    h.clock.offsetMs = 0;
  });
  const res = await create();
  const upload = await h.app.uploads.getByMediaId(h.account.id, res.MediaId);
  // Housekeeping expires a credential unused a minute past its life.
  h.clock.offsetMs = 3_061_000;
  await h.app.uploads.sweep();
  h.clock.offsetMs = 0;
  assert.equal((await mediaInfo(res.MediaId)).MediaBasicInfo.Status, 'Expired');
  const refreshed = await call(rpc(h), 'RefreshUploadMedia', { MediaId: res.MediaId });
  assert.equal((await mediaInfo(res.MediaId)).MediaBasicInfo.Status, 'Init');
  const { oss, address } = ossFrom(refreshed);
  assert.equal(address.FileName, upload.storageKey);
  await oss.put(address.FileName, hexLines(1000));
  assert.equal((await mediaInfo(res.MediaId)).MediaBasicInfo.Status, 'Normal');
});
