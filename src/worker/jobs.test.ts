// The job queue on a real SQLite file: the shared cases (test/support/job-queue-cases.ts)
// plus the backoff schedule itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobQueueCases } from '../../test/support/job-queue-cases.js';
import { openSqlite, type Db } from '../infra/db/index.js';
import { backoffMs } from './jobs.js';

let dir: string;
let db: Db;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audiencehub-jobs-'));
  db = await openSqlite(dir);
});
after(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('backoff doubles from the base and is capped at an hour', () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(1000, a)), [1000, 2000, 4000, 8000]);
  assert.equal(backoffMs(1000, 40), 3_600_000);
});

jobQueueCases((name, fn, opts) => test(name, opts ?? {}, () => fn(db)));
