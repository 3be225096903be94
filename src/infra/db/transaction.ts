// Transactions that can run code once they have committed. A job enqueued
// inside a transaction must wake the runners only after the commit: a runner
// on another connection (PostgreSQL) that looks earlier does not see the job
// yet and would leave it until its next poll.
import type { Db } from './index.js';

const pending = new WeakMap<object, Array<() => void>>();

/** db.transaction().execute(fn), then every afterCommit callback registered on its transaction. */
export async function transaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  const callbacks: Array<() => void> = [];
  const result = await db.transaction().execute((tx) => {
    pending.set(tx, callbacks);
    return fn(tx);
  });
  for (const cb of callbacks) cb();
  return result;
}

/**
 * Runs `cb` once `tx` has committed, when `tx` comes from transaction();
 * at once otherwise (outside a transaction, or in one opened directly).
 * Nothing runs for a transaction that rolls back.
 */
export function afterCommit(tx: Db, cb: () => void): void {
  const callbacks = pending.get(tx);
  if (callbacks) callbacks.push(cb);
  else cb();
}
