// Every kind of background job, with its payload and its limits. The handler
// map (handlers.ts) is typed against this catalog, so a kind without a handler,
// or a handler reading the wrong payload, does not compile.
import type { UploadEvent } from '../domain/uploads/types.js';

/** POST an upload's completion or failure to the client's callback URL, signed. */
export interface UploadCallbackPayload {
  uploadId: string;
  event: UploadEvent;
  url: string;
  /** The access key whose secret signs the POST: the one that created the upload. */
  keyId: string;
  /** Built when the event happened, so that every retry sends the same bytes. */
  body: string;
}

export interface JobPayloads {
  'upload-callback': UploadCallbackPayload;
  /** Work one audience change (src/domain/audiences/build.ts). */
  'audience-change': { changeId: number };
  /** Write one audience export (src/domain/audiences/exports.ts). */
  'audience-export': { exportId: string };
  /** Load one uploaded file of behaviour events (src/domain/events/loader.ts). */
  'events-load': { loadId: number };
}

export type JobKind = keyof JobPayloads;

export interface JobKindSpec {
  /** A run taking longer than this is treated as failed. */
  timeoutMs: number;
  /** How long a claim holds the job; past it another runner may claim it again (the holder died). */
  leaseMs: number;
}

export const JOB_KINDS: { [K in JobKind]: JobKindSpec } = {
  // The POST itself times out after 10 s; the rest is bookkeeping.
  'upload-callback': { timeoutMs: 15_000, leaseMs: 60_000 },
  // A 5 GB file takes minutes; heartbeats every 10 s keep the lease, so a
  // dead worker's change is taken over within half a minute.
  'audience-change': { timeoutMs: 2 * 3_600_000, leaseMs: 30_000 },
  'audience-export': { timeoutMs: 2 * 3_600_000, leaseMs: 30_000 },
  // 100 M events load in minutes; heartbeats keep the lease meanwhile.
  'events-load': { timeoutMs: 4 * 3_600_000, leaseMs: 30_000 },
};
