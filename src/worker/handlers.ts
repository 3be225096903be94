// The handler for every job kind of the catalog, and the runner that `serve`
// (and tests) start beside housekeeping.
import type { App } from '../app.js';
import { JobRunner, type JobHandlers, type RunnerOptions } from './jobs.js';
import { uploadCallbackHandler } from './upload-callback.js';

export function jobHandlers(app: App): JobHandlers {
  return {
    'upload-callback': uploadCallbackHandler(app),
    'audience-change': (p, ctx) => app.builder.run(p.changeId, ctx),
    'audience-export': (p, ctx) => app.exports.run(p.exportId, ctx),
    'events-load': (p, ctx) => app.events.runLoad(p.loadId, ctx),
  };
}

export interface StartJobsOptions {
  pollMs?: number;
  concurrency?: number;
  log?: { warn(obj: object, msg: string): void };
}

export function startJobs(app: App, opts: StartJobsOptions = {}): JobRunner {
  const runnerOpts: RunnerOptions = {
    pollMs: opts.pollMs,
    concurrency: opts.concurrency,
    backoffBaseMs: { 'upload-callback': app.config.ice.callbackBaseDelayMs, 'audience-change': 2000, 'audience-export': 2000, 'events-load': 2000 },
    giveUps: {
      'audience-change': (p, e) => app.builder.giveUp(p.changeId, e),
      'audience-export': (p, e) => app.exports.giveUp(p.exportId, e),
      'events-load': (p, e) => app.events.giveUp(p.loadId, e),
    },
    onError: (e, job) => opts.log?.warn({ err: e, jobId: job?.id, kind: job?.kind, attempt: job?.attempt }, 'job attempt failed'),
  };
  const runner = new JobRunner(app.jobs, jobHandlers(app), runnerOpts);
  runner.start();
  return runner;
}
