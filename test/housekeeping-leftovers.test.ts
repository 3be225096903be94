// A process killed in the middle of an upload leaves its temporary file; the
// housekeeping round removes it once nobody has written to it for an hour,
// and never touches a file an upload is still writing. Multipart uploads
// nobody finished lose their parts once their upload is closed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Multipart, partsRootOf } from '../src/domain/uploads/multipart.js';
import { housekeepOnce } from '../src/worker/housekeeping.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h.close());

test('stale temporary files are removed, fresh ones kept', async () => {
  const tmp = join(h.config.dataDir, 'objects', '.tmp');
  mkdirSync(tmp, { recursive: true });
  const stale = join(tmp, 'stale-upload');
  const fresh = join(tmp, 'live-upload');
  writeFileSync(stale, 'half a file');
  writeFileSync(fresh, 'still arriving');
  const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
  utimesSync(stale, twoHoursAgo, twoHoursAgo);
  await housekeepOnce(h.app);
  assert.equal(existsSync(stale), false);
  assert.equal(existsSync(fresh), true);
});

test('the parts of a multipart upload nobody finished are removed once its upload can no longer be written', async () => {
  const up = await h.app.uploads.create({ accountId: h.account.id, clusterId: 2, dialect: 'aliyun-ice', fileName: 'ids.txt', ttlSeconds: 60 });
  const mp = new Multipart(h.app);
  const id = await mp.initiate(up);
  const part = Buffer.from('0123456789abcdef0123456789abcdef\n'.repeat(4000));
  await mp.uploadPart(up, id, '1', Readable.from([part]), part.length);
  const dir = join(partsRootOf(h.config.dataDir), id);
  assert.equal(existsSync(join(dir, '1')), true);
  await housekeepOnce(h.app);
  assert.equal(existsSync(dir), true, 'a live multipart upload is kept');
  h.clock.offsetMs = 2 * 86_400_000;
  try {
    await housekeepOnce(h.app);
  } finally {
    h.clock.offsetMs = 0;
  }
  assert.equal(existsSync(dir), false);
  const rows = await h.app.db.selectFrom('multipart_parts').selectAll().where('multipart_id', '=', id).execute();
  assert.equal(rows.length, 0);
});
