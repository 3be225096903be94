// The audience engine in the scale mode: PostgreSQL metadata and the shared
// identity dictionary in PostgreSQL, on a throwaway server.
import { audienceCases } from './support/audience-cases.js';
import { onPostgres } from './support/pg-harness.js';

const pg = onPostgres({ jobs: true });
audienceCases((name, fn, opts) => pg.test(name, fn, { timeout: opts?.timeout ?? 60_000 }));
