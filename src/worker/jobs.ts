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
import type { Database, JobsTable } from '../infra/db/schema.js';
import { JOB_KINDS, type JobKind, type JobPayloads } from './catalog.js';

export interface EnqueueOptions {
  maxAttempts: number;
  delayMs?: number;
  /** Enqueue inside this transaction, so the job commits with the change that caused it. */
  tx?: Db;
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
}

export type JobHandlers = { [K in JobKind]: (payload: JobPayloads[K], ctx: JobContext) => Promise<void> };

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
      .values({ kind, payload: JSON.stringify(payload), status: 'queued', run_at: at + (opts.delayMs ?? 0), attempts: 0, max_attempts: opts.maxAttempts, lease_until: null, last_error: null, created_at: at, updated_at: at })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const wake of this.wakers) wake();
    return Number(row.id);
  }

  /** Called on every enqueue in this process, so an idle runner need not wait for its next poll. */
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
      .set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), lease_until: at + lease, updated_at: at }))
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

  /** A job whose holder died during its last allowed attempt cannot be claimed again; it has failed. */
  async failAbandoned(): Promise<number> {
    const at = this.now();
    const res = await this.db
      .updateTable('jobs')
      .set({ status: 'failed', lease_until: null, last_error: 'the lease of the last attempt expired before it finished', updated_at: at })
      .where('status', '=', 'running')
      .where('lease_until', '<', at)
      .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
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
  /** How often an idle runner looks for due jobs (retries come due without an enqueue). */
  pollMs?: number;
  concurrency?: number;
  /** Base of the exponential backoff, per kind. */
  backoffBaseMs: { [K in JobKind]: number };
  onError?: (e: unknown, job?: ClaimedJob) => void;
}

export class JobRunner {
  private stopped = true;
  private loops: Promise<void>[] = [];
  private waiters = new Set<() => void>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly handlers: JobHandlers,
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
        if (!worked) await this.queue.failAbandoned();
      } catch (e) {
        this.opts.onError?.(e);
      }
      if (!worked && !this.stopped) await this.idle();
    }
  }

  /** Sleeps until the next poll, an enqueue in this process, or stop. */
  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.opts.pollMs ?? 1000);
      this.waiters.add(done);
    });
  }

  /** Claims and runs one due job; false when there was none. */
  async runOnce(): Promise<boolean> {
    const job = await this.queue.claim();
    if (!job) return false;
    const spec = JOB_KINDS[job.kind];
    try {
      if (!spec) throw new Error(`no job kind ${job.kind}`);
      await withTimeout(this.run(job), spec.timeoutMs);
      await this.queue.complete(job);
    } catch (e) {
      this.opts.onError?.(e, job);
      await this.queue.fail(job, e instanceof Error ? e.message : String(e), this.opts.backoffBaseMs[job.kind] ?? 1000);
    }
    return true;
  }

  private run(job: ClaimedJob): Promise<void> {
    const handler = this.handlers[job.kind] as (p: unknown, ctx: JobContext) => Promise<void>;
    return handler(job.payload, { jobId: job.id, attempt: job.attempt, maxAttempts: job.maxAttempts });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the job did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
