// The job queue on a real SQLite file, with a clock the test moves: claims,
// leases, backoff, giving up; and the runner driving handlers to completion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type Db } from '../infra/db/index.js';
import type { UploadCallbackPayload } from './catalog.js';
import { JOB_KINDS } from './catalog.js';
import { backoffMs, JobQueue, JobRunner, type JobContext } from './jobs.js';

let dir: string;
let db: Db;
let clock = 1_700_000_000_000;
const now = () => clock;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audiencehub-jobs-'));
  db = await openSqlite(dir);
});
after(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const payload = (n: number): UploadCallbackPayload => ({ uploadId: `up_${n}`, event: 'completed', url: 'http://127.0.0.1/hook', keyId: 'AHK', body: `{"n":${n}}` });
const LEASE = JOB_KINDS['upload-callback'].leaseMs;

test('backoff doubles from the base and is capped at an hour', () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(1000, a)), [1000, 2000, 4000, 8000]);
  assert.equal(backoffMs(1000, 40), 3_600_000);
});

test('a claimed job is leased; failures come back after the backoff until the last attempt fails it', async () => {
  const q = new JobQueue(db, now);
  const id = await q.enqueue('upload-callback', payload(1), { maxAttempts: 3 });
  const first = await q.claim();
  assert.deepEqual([first?.id, first?.attempt, first?.payload], [id, 1, payload(1)]);
  assert.equal(Number((await q.get(id))?.lease_until), clock + LEASE);
  assert.equal(await q.claim(), undefined, 'a leased job is not claimed twice');

  assert.equal(await q.fail(first!, 'HTTP 500', 100), 'retry');
  assert.equal((await q.get(id))?.status, 'queued');
  clock += 99;
  assert.equal(await q.claim(), undefined, 'not due before the backoff');
  clock += 1;
  const second = await q.claim();
  assert.equal(second?.attempt, 2);
  assert.equal(await q.fail(second!, 'HTTP 502', 100), 'retry');
  clock += 200;
  const third = await q.claim();
  assert.equal(third?.attempt, 3);
  assert.equal(await q.fail(third!, 'HTTP 503', 100), 'failed');
  const row = await q.get(id);
  assert.deepEqual([row?.status, row?.last_error, Number(row?.attempts)], ['failed', 'HTTP 503', 3]);
  clock += 10_000;
  assert.equal(await q.claim(), undefined);
});

test('a job whose lease ran out is claimed again, and the first holder can no longer settle it', async () => {
  const q = new JobQueue(db, now);
  const id = await q.enqueue('upload-callback', payload(2), { maxAttempts: 5 });
  const dead = await q.claim();
  clock += LEASE + 1;
  const again = await q.claim();
  assert.deepEqual([again?.id, again?.attempt], [id, 2]);
  await q.complete(dead!);
  assert.equal((await q.get(id))?.status, 'running', "the stale holder's outcome is ignored");
  await q.complete(again!);
  assert.equal((await q.get(id))?.status, 'done');
});

test('a holder that dies on the last attempt leaves a failed job, not a claimable one', async () => {
  const q = new JobQueue(db, now);
  const id = await q.enqueue('upload-callback', payload(3), { maxAttempts: 1 });
  await q.claim();
  clock += LEASE + 1;
  assert.equal(await q.claim(), undefined);
  assert.equal(await q.failAbandoned(), 1);
  const row = await q.get(id);
  assert.equal(row?.status, 'failed');
  assert.match(String(row?.last_error), /lease/);
});

test('two runners claiming at once get the job once', async () => {
  const q = new JobQueue(db, now);
  const id = await q.enqueue('upload-callback', payload(4), { maxAttempts: 1 });
  const claims = await Promise.all([q.claim(), q.claim(), q.claim()]);
  assert.deepEqual(claims.filter(Boolean).map((c) => c!.id), [id]);
  await q.complete(claims.find(Boolean)!);
});

test('the runner retries a throwing handler with backoff until it succeeds', { timeout: 10_000 }, async () => {
  const q = new JobQueue(db, Date.now);
  const seen: JobContext[] = [];
  const runner = new JobRunner(
    q,
    {
      'upload-callback': async (_p, ctx) => {
        seen.push(ctx);
        if (ctx.attempt < 3) throw new Error(`refused ${ctx.attempt}`);
      },
    },
    { pollMs: 10, concurrency: 2, backoffBaseMs: { 'upload-callback': 20 } },
  );
  runner.start();
  const id = await q.enqueue('upload-callback', payload(5), { maxAttempts: 5 });
  while ((await q.get(id))?.status !== 'done') await new Promise((r) => setTimeout(r, 10));
  await runner.stop();
  assert.deepEqual(
    seen.map((c) => [c.jobId, c.attempt]),
    [
      [id, 1],
      [id, 2],
      [id, 3],
    ],
  );
  assert.equal((await q.get(id))?.last_error, null);
});
