// The job queue's behaviours, defined once and run against each metadata
// store (SQLite in src/worker/jobs.test.ts, PostgreSQL in
// test/postgres-jobs.test.ts) with a clock the cases move.
import assert from 'node:assert/strict';
import type { Db } from '../../src/infra/db/index.js';
import { JOB_KINDS, type UploadCallbackPayload } from '../../src/worker/catalog.js';
import { JobQueue, JobRunner, LeaseLost, type ClaimedJob, type JobContext } from '../../src/worker/jobs.js';

export type DefineCase = (name: string, fn: (db: Db) => Promise<void>, opts?: { timeout?: number }) => void;

const payload = (n: number): UploadCallbackPayload => ({ uploadId: `up_${n}`, event: 'completed', url: 'http://127.0.0.1/hook', keyId: 'AHK', body: `{"n":${n}}` });
const LEASE = JOB_KINDS['upload-callback'].leaseMs;

export function jobQueueCases(define: DefineCase): void {
  let clock = 1_700_000_000_000;
  const now = () => clock;

  define('a claimed job is leased; failures come back after the backoff until the last attempt fails it', async (db) => {
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

  define('a job whose lease ran out is claimed again, and the first holder can no longer settle it', async (db) => {
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

  define('a holder that dies on the last attempt leaves a failed job, not a claimable one', async (db) => {
    const q = new JobQueue(db, now);
    const id = await q.enqueue('upload-callback', payload(3), { maxAttempts: 1 });
    await q.claim();
    clock += LEASE + 1;
    assert.equal(await q.claim(), undefined);
    assert.equal((await q.failAbandoned()).length, 1);
    const row = await q.get(id);
    assert.equal(row?.status, 'failed');
    assert.match(String(row?.last_error), /lease/);
  });

  define('a job enqueued inside a transaction that rolls back never exists', async (db) => {
    const q = new JobQueue(db, now);
    await assert.rejects(
      db.transaction().execute(async (tx) => {
        await q.enqueue('upload-callback', payload(4), { maxAttempts: 1, tx });
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await q.claim(), undefined);
  });

  define('eight claimers racing over 40 jobs claim each exactly once, none is left behind', async (db) => {
    const q = new JobQueue(db, now);
    const ids = new Set<number>();
    for (let n = 0; n < 40; n++) ids.add(await q.enqueue('upload-callback', payload(100 + n), { maxAttempts: 1 }));
    const claimed: ClaimedJob[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let job = await q.claim(); job; job = await q.claim()) {
          claimed.push(job);
          await q.complete(job);
        }
      }),
    );
    assert.deepEqual(claimed.map((j) => j.id).sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
  });

  define(
    'the runner retries a throwing handler with backoff until it succeeds',
    async (db) => {
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
        { pollMs: 10, concurrency: 3, backoffBaseMs: { 'upload-callback': 20 } },
      );
      runner.start();
      const id = await q.enqueue('upload-callback', payload(5), { maxAttempts: 5 });
      while ((await q.get(id))?.status !== 'done') await new Promise((r) => setTimeout(r, 10));
      await runner.stop();
      assert.deepEqual(seen.map((c) => [c.jobId, c.attempt]), [[id, 1], [id, 2], [id, 3]]);
      assert.equal((await q.get(id))?.last_error, null);
    },
    { timeout: 10_000 },
  );

  define('heartbeats keep the lease of a long attempt; once another runner holds the job the old attempt can neither beat nor write', async (db) => {
    const q = new JobQueue(db, now);
    const id = await q.enqueue('upload-callback', payload(6), { maxAttempts: 5, accountId: 'acct-1', subject: 'audience:1' });
    const job = (await q.claim())!;
    clock += LEASE - 1;
    assert.equal(await q.heartbeat(job, LEASE, JSON.stringify({ stage: 'scan', lines: 10 })), true);
    clock += LEASE - 1;
    assert.equal(await q.claim(), undefined, 'the heartbeat extended the lease');
    const row = await q.get(id);
    assert.deepEqual([row?.heartbeat_at, row?.progress, row?.subject], [clock - (LEASE - 1), '{"stage":"scan","lines":10}', 'audience:1']);
    await db.transaction().execute((tx) => q.assertHeld(tx, job));
    clock += 2;
    const other = (await q.claim())!;
    assert.equal(other.attempt, 2);
    assert.equal(await q.heartbeat(job, LEASE), false, 'the first attempt lost the job');
    await assert.rejects(db.transaction().execute((tx) => q.assertHeld(tx, job)), LeaseLost);
    const listed = await q.list('acct-1');
    assert.deepEqual(listed.items.map((j) => Number(j.id)), [id]);
    assert.equal((await q.list('someone-else')).items.length, 0, 'jobs are listed per account');
  });

  define(
    'a job that fails its last attempt runs its give-up handler once, with the last error',
    async (db) => {
      const q = new JobQueue(db, Date.now);
      const gaveUp: Array<[string, string]> = [];
      const runner = new JobRunner(
        q,
        {
          'upload-callback': async (_p, ctx) => {
            throw new Error(`refused ${ctx.attempt}`);
          },
        },
        { pollMs: 10, concurrency: 2, backoffBaseMs: { 'upload-callback': 5 }, giveUps: { 'upload-callback': async (p, e) => void gaveUp.push([p.uploadId, e]) } },
      );
      runner.start();
      const id = await q.enqueue('upload-callback', payload(7), { maxAttempts: 2 });
      while ((await q.get(id))?.status !== 'failed') await new Promise((r) => setTimeout(r, 10));
      await runner.stop();
      assert.deepEqual(gaveUp, [['up_7', 'refused 2']]);
    },
    { timeout: 10_000 },
  );
}
