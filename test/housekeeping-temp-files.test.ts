// A process killed in the middle of an upload leaves its temporary file; the
// housekeeping round removes it once nobody has written to it for an hour,
// and never touches a file an upload is still writing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
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
