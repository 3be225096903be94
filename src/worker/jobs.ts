// A small durable job queue over the `jobs` table, and the runner that works it.
//
// A job is `queued` until due, then claimed by one runner with a conditional
// UPDATE that also sets a lease (`running`, lease_until, attempts + 1). The
// handler's outcome is written back only if the claim is still the runner's
// own: `done`, or `queued` again with exponential backoff, or `failed` with
// last_error once max_attempts is spent. A runner that dies mid-job leaves the
// lease to run out; the job is then claimed again. Everything is in the table,
// so a restart loses nothing (handlers must be idempotent).
import type { ExpressionBuilder, Selectable } from 'kysely';
import { isPostgres, type Db } from '../infra/db/index.js';
import { afterCommit } from '../infra/db/transaction.js';
import type { Database, JobsTable } from '../infra/db/schema.js';
import { JOB_KINDS, type JobKind, type JobPayloads } from './catalog.js';

export interface EnqueueOptions {
  maxAttempts: number;
  delayMs?: number;
  /** Enqueue inside this transaction, so the job commits with the change that caused it. */
  tx?: Db;
  /** The account the job works for; its jobs are listed through the API. */
  accountId?: string;
  /** What it works on, e.g. `audience:12`. */
  subject?: string;
}

export interface ClaimedJob<K extends JobKind = JobKind> {
  id: number;
  kind: K;
  payload: JobPayloads[K];
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
}

export interface JobContext {
  jobId: number;
  attempt: number;
  maxAttempts: number;
  /** Aborted when this attempt lost its lease (another runner may hold the job now) or timed out. */
  signal: AbortSignal;
  /** Records what the attempt is doing, for the API; written with the next heartbeat. */
  progress(p: Record<string, unknown>): void;
  /**
   * Throws LeaseLost unless this attempt still holds the job. Call it inside
   * the transaction that writes the job's result, so that a runner which lost
   * its lease (it stalled, another one took over) never writes over the other.
   */
  assertHeld(tx: Db): Promise<void>;
}

export type JobHandlers = { [K in JobKind]: (payload: JobPayloads[K], ctx: JobContext) => Promise<void> };

/** Called once when a job has failed for good (no attempt left), to record the failure where users look. */
export type JobGiveUps = { [K in JobKind]?: (payload: JobPayloads[K], error: string) => Promise<void> };

export class LeaseLost extends Error {
  constructor(jobId: number) {
    super(`job ${jobId}: this attempt no longer holds the job's lease`);
    this.name = 'LeaseLost';
  }
}

/** Longest wait between two attempts, however many have failed. */
const MAX_BACKOFF_MS = 3_600_000;

export function backoffMs(baseMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
}

export class JobQueue {
  private wakers = new Set<() => void>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async enqueue<K extends JobKind>(kind: K, payload: JobPayloads[K], opts: EnqueueOptions): Promise<number> {
    const at = this.now();
    const row = await (opts.tx ?? this.db)
      .insertInto('jobs')
      .values({
        kind,
        payload: JSON.stringify(payload),
        status: 'queued',
        run_at: at + (opts.delayMs ?? 0),
        attempts: 0,
        max_attempts: opts.maxAttempts,
        lease_until: null,
        last_error: null,
        created_at: at,
        updated_at: at,
        account_id: opts.accountId ?? null,
        subject: opts.subject ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // Inside a transaction the job is visible to other connections only once it commits.
    afterCommit(opts.tx ?? this.db, () => {
      for (const wake of this.wakers) wake();
    });
    return Number(row.id);
  }

  /**
   * Called on every enqueue in this process, so an idle runner need not wait
   * for its next poll. Called once the job is visible: at the insert, or
   * when the transaction it was enqueued in (through transaction() of
   * src/infra/db/transaction.ts) has committed.
   */
  onEnqueue(wake: () => void): () => void {
    this.wakers.add(wake);
    return () => this.wakers.delete(wake);
  }

  /** Claims the job due first, or answers undefined. Safe against other runners, in or out of process. */
  async claim(): Promise<ClaimedJob | undefined> {
    for (let tries = 0; tries < 5; tries++) {
      const got = isPostgres(this.db) ? await this.db.transaction().execute((tx) => this.claimOnce(tx, true)) : await this.claimOnce(this.db, false);
      if (got !== 'lost') return got && toClaimed(got);
      // Someone else claimed it between the two statements: look again.
    }
    return undefined;
  }

  /**
   * Picks the due job and claims it with a conditional UPDATE. On PostgreSQL
   * this runs in a transaction and the pick is FOR UPDATE SKIP LOCKED, so
   * runners racing for work take different jobs instead of the same one.
   */
  private async claimOnce(db: Db, skipLocked: boolean): Promise<Selectable<JobsTable> | undefined | 'lost'> {
    const at = this.now();
    const due = this.dueAt(at);
    const pick = db.selectFrom('jobs').select(['id', 'kind']).where(due).orderBy('run_at').orderBy('id').limit(1);
    const candidate = await (skipLocked ? pick.forUpdate().skipLocked() : pick).executeTakeFirst();
    if (!candidate) return undefined;
    const lease = JOB_KINDS[candidate.kind as JobKind]?.leaseMs ?? 60_000;
    const res = await db
      .updateTable('jobs')
      .set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), lease_until: at + lease, heartbeat_at: at, progress: null, updated_at: at }))
      .where('id', '=', candidate.id)
      .where(due)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return 'lost';
    return db.selectFrom('jobs').selectAll().where('id', '=', candidate.id).executeTakeFirstOrThrow();
  }

  private dueAt(at: number) {
    return (eb: ExpressionBuilder<Database, 'jobs'>) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', at)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', at), eb('attempts', '<', eb.ref('max_attempts'))]),
      ]);
  }

  async complete(job: ClaimedJob): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ status: 'done', lease_until: null, last_error: null, updated_at: this.now() })
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .where('attempts', '=', job.attempt)
      .execute();
  }

  /** Records a failed run: queued again after the backoff, or failed for good when no attempt is left. */
  async fail(job: ClaimedJob, error: string, baseDelayMs: number): Promise<'retry' | 'failed'> {
    const at = this.now();
    const last = job.attempt >= job.maxAttempts;
    await this.db
      .updateTable('jobs')
      .set(
        last
          ? { status: 'failed', lease_until: null, last_error: error, updated_at: at }
          : { status: 'queued', run_at: at + backoffMs(baseDelayMs, job.attempt), lease_until: null, last_error: error, updated_at: at },
      )
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .where('attempts', '=', job.attempt)
      .execute();
    return last ? 'failed' : 'retry';
  }

  /**
   * Extends the lease of a running attempt and records its progress. False
   * when the attempt no longer holds the job (its lease ran out and another
   * runner claimed it, or it was finished elsewhere).
   */
  async heartbeat(job: ClaimedJob, leaseMs: number, progress?: string): Promise<boolean> {
    const at = this.now();
    const res = await this.db
      .updateTable('jobs')
      .set(progress === undefined ? { lease_until: at + leaseMs, heartbeat_at: at } : { lease_until: at + leaseMs, heartbeat_at: at, progress })
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .where('attempts', '=', job.attempt)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Throws LeaseLost unless `job`'s attempt is still the running one; meant for the result's transaction. */
  async assertHeld(tx: Db, job: ClaimedJob): Promise<void> {
    const row = await tx.selectFrom('jobs').select(['status', 'attempts']).where('id', '=', job.id).executeTakeFirst();
    if (!row || row.status !== 'running' || Number(row.attempts) !== job.attempt) throw new LeaseLost(job.id);
  }

  /**
   * A job whose holder died during its last allowed attempt cannot be
   * claimed again; it has failed. Returns those jobs, so their give-up
   * handlers can run.
   */
  async failAbandoned(): Promise<ClaimedJob[]> {
    const at = this.now();
    const stale = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'running')
      .where('lease_until', '<', at)
      .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
      .execute();
    const failed: ClaimedJob[] = [];
    for (const row of stale) {
      const res = await this.db
        .updateTable('jobs')
        .set({ status: 'failed', lease_until: null, last_error: 'the lease of the last attempt expired before it finished', updated_at: at })
        .where('id', '=', row.id)
        .where('status', '=', 'running')
        .where('attempts', '=', row.attempts)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) failed.push(toClaimed(row));
    }
    return failed;
  }

  /**
   * At the start of the only process working this database (the embedded
   * mode), every running job belongs to a process that is gone: make them
   * due now instead of waiting out their leases. Their attempt stays counted.
   */
  async reclaimOrphans(): Promise<number> {
    const at = this.now();
    const res = await this.db
      .updateTable('jobs')
      .set({ lease_until: at - 1, updated_at: at })
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async list(accountId: string, opts: { status?: string; kind?: string; subject?: string; limit?: number; after?: number } = {}): Promise<{ items: Selectable<JobsTable>[]; next: string | null }> {
    const limit = opts.limit ?? 50;
    let q = this.db.selectFrom('jobs').selectAll().where('account_id', '=', accountId);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    if (opts.subject) q = q.where('subject', '=', opts.subject);
    if (opts.after !== undefined) q = q.where('id', '<', opts.after);
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    const items = rows.slice(0, limit);
    return { items, next: rows.length > limit ? String(items[items.length - 1].id) : null };
  }

  async get(id: number): Promise<Selectable<JobsTable> | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }
}

function toClaimed(row: Selectable<JobsTable>): ClaimedJob {
  return {
    id: Number(row.id),
    kind: row.kind as JobKind,
    payload: JSON.parse(row.payload),
    attempt: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
  };
}

export interface RunnerOptions {
  /** Run when a job has failed for good. */
  giveUps?: JobGiveUps;
  /** How often an idle runner looks for due jobs (retries come due without an enqueue). */
  pollMs?: number;
  concurrency?: number;
  /** Base of the exponential backoff, per kind. */
  backoffBaseMs: { [K in JobKind]?: number };
  onError?: (e: unknown, job?: ClaimedJob) => void;
}

export class JobRunner {
  private stopped = true;
  private loops: Promise<void>[] = [];
  private waiters = new Set<() => void>();
  private unsubscribe: (() => void) | undefined;
  /** Enqueues seen in this process; and the jobs of the latest ones this runner has not claimed (may be claimed elsewhere). */

  constructor(
    private readonly queue: JobQueue,
    /** Every kind in the service (handlers.ts); tests may run a subset. */
    private readonly handlers: Partial<JobHandlers>,
    private readonly opts: RunnerOptions,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.queue.onEnqueue(() => this.wakeAll());
    for (let i = 0; i < (this.opts.concurrency ?? 4); i++) this.loops.push(this.loop());
  }

  /** Stops claiming and waits for the jobs in hand to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wakeAll();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let worked = false;
      try {
        worked = await this.runOnce();
        if (!worked) for (const job of await this.queue.failAbandoned()) await this.giveUp(job, 'the lease of the last attempt expired before it finished');
      } catch (e) {
        this.opts.onError?.(e);
      }
      if (!worked && !this.stopped) await this.idle(this.opts.pollMs ?? 1000);
    }
  }

  /** Sleeps `ms`, or until an enqueue in this process, or stop. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Claims and runs one due job; false when there was none. */
  async runOnce(): Promise<boolean> {
    const job = await this.queue.claim();
    if (!job) return false;
    const spec = JOB_KINDS[job.kind];
    const abort = new AbortController();
    let progress: string | undefined;
    let lastProgressAt = 0;
    let beating = Promise.resolve();
    const lease = spec?.leaseMs ?? 60_000;
    // Heartbeats keep the lease while the attempt runs; a heartbeat that finds
    // the job no longer ours aborts the attempt.
    const beat = () => {
      beating = beating.then(async () => {
        const p = progress;
        progress = undefined;
        const held = await this.queue.heartbeat(job, lease, p).catch(() => true);
        if (!held) abort.abort(new LeaseLost(job.id));
      });
    };
    const timer = setInterval(beat, Math.max(50, Math.floor(lease / 3)));
    try {
      if (!spec) throw new Error(`no job kind ${job.kind}`);
      const ctx: JobContext = {
        jobId: job.id,
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        signal: abort.signal,
        progress: (p) => {
          progress = JSON.stringify(p);
          // Written at once when the last write is a second old, so that a
          // short job still shows its stages; otherwise with the next heartbeat.
          const at = Date.now();
          if (at - lastProgressAt >= 1000) {
            lastProgressAt = at;
            beat();
          }
        },
        assertHeld: (tx) => this.queue.assertHeld(tx, job),
      };
      await withTimeout(this.run(job, ctx), spec.timeoutMs, abort);
      clearInterval(timer);
      await beating;
      await this.queue.complete(job);
    } catch (e) {
      clearInterval(timer);
      await beating;
      this.opts.onError?.(e, job);
      const message = e instanceof Error ? e.message : String(e);
      const outcome = await this.queue.fail(job, message, this.opts.backoffBaseMs[job.kind] ?? 1000);
      if (outcome === 'failed' && !(e instanceof LeaseLost)) await this.giveUp(job, message);
    }
    return true;
  }

  private async giveUp(job: ClaimedJob, error: string): Promise<void> {
    const hook = this.opts.giveUps?.[job.kind] as ((p: unknown, error: string) => Promise<void>) | undefined;
    if (!hook) return;
    try {
      await hook(job.payload, error);
    } catch (e) {
      this.opts.onError?.(e, job);
    }
  }

  private run(job: ClaimedJob, ctx: JobContext): Promise<void> {
    const handler = this.handlers[job.kind] as ((p: unknown, ctx: JobContext) => Promise<void>) | undefined;
    if (!handler) return Promise.reject(new Error(`this runner has no handler for jobs of kind ${job.kind}`));
    return handler(job.payload, ctx);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, abort: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`the job did not finish within ${ms} ms`);
      abort.abort(e);
      reject(e);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
