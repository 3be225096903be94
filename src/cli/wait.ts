// `--wait`: polls a change or an export until it is SUCCESS or ERROR, showing
// its status and, when its job reports one, the job's progress on stderr.
// Polls start fast (a small audience is done in well under a second) and back
// off to every two seconds for long jobs.
import { CliError, type Client } from './client.js';
import { statusLine, type ProgressMode } from './progress.js';
import { errorText, progressText } from './view.js';

type Obj = Record<string, any>;

const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 2000;
const FINISHED = new Set(['SUCCESS', 'ERROR']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Watched {
  /** What is being watched, for the status line: `change 5 of audience 12`. */
  label: string;
  /** One read of the thing; finished when its `status` is SUCCESS or ERROR. */
  read: () => Promise<Obj>;
}

/** Polls until finished; answers the last read. The caller decides what ERROR means for the exit code (see failed()). */
export async function waitFor(client: Client, w: Watched, mode: ProgressMode): Promise<Obj> {
  const line = statusLine(mode);
  let delay = FIRST_POLL_MS;
  let jobsReadable = true;
  try {
    for (;;) {
      const cur = await w.read();
      if (FINISHED.has(cur.status)) {
        line.show(`${w.label}: ${cur.status}`);
        return cur;
      }
      let progress = '';
      if (jobsReadable && cur.job_id !== undefined && cur.job_id !== null) {
        try {
          const job = await client.call<Obj>('GET', `/v1/jobs/${encodeURIComponent(String(cur.job_id))}`);
          progress = progressText(job.progress);
          if (job.status === 'queued' && job.attempts > 0 && job.last_error) progress = `retrying after: ${errorText(job.last_error)}`;
        } catch (e) {
          // Progress is a nicety: a service without the jobs route still has its status watched.
          if (!(e instanceof CliError) || e.exitCode !== 2) throw e;
          jobsReadable = false;
        }
      }
      line.show(`${w.label}: ${cur.status ?? 'unknown'}${progress ? ` ${progress}` : ''}`);
      await sleep(delay);
      delay = Math.min(MAX_POLL_MS, Math.round(delay * 1.5));
    }
  } finally {
    line.finish();
  }
}

/** The failure of a finished change or export, for exit code 1 with its error printed. */
export function failed(label: string, x: Obj): CliError {
  const e = x.error;
  if (e && typeof e === 'object' && e.code) return new CliError(`${label} failed: ${e.message ?? ''}`, String(e.code), 1);
  return new CliError(`${label} failed${e ? `: ${errorText(e)}` : ''}`, undefined, 1);
}
