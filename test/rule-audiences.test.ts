// Rule audiences on the embedded default: SQLite metadata, the DuckDB event
// store, the in-memory dictionary. The cases: test/support/rule-audience-cases.ts.
import { after, before, test } from 'node:test';
import { closeHarness } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';
import { ruleAudienceCases } from './support/rule-audience-cases.js';

let h: Harness;
before(async () => {
  h = await startHarness({ jobs: true });
});
after(async () => closeHarness(h));

ruleAudienceCases((name, fn, opts) => test(name, { timeout: opts?.timeout ?? 60_000 }, () => fn(h)));
