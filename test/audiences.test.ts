// The audience engine on the embedded default: SQLite metadata, the
// in-memory dictionary with its files, the disk object store.
import { after, before, test } from 'node:test';
import { audienceCases } from './support/audience-cases.js';
import { closeHarness } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ jobs: true });
});
after(async () => closeHarness(h));

audienceCases((name, fn, opts) => test(name, { timeout: opts?.timeout ?? 60_000 }, () => fn(h)));
