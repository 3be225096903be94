// Rule audiences in the scale mode: PostgreSQL metadata, the PostgreSQL
// event store (tables partitioned by month) and the shared dictionary, on a
// throwaway server. The same cases as the embedded mode.
import { onPostgres } from './support/pg-harness.js';
import { ruleAudienceCases } from './support/rule-audience-cases.js';

const pg = onPostgres({ jobs: true });
ruleAudienceCases((name, fn, opts) => pg.test(name, fn, { timeout: opts?.timeout ?? 60_000 }));
