// A closed universe: ids only match the users the platform can reach, which
// the universe account's audiences define; everyone else's files are matched
// against them, and what does not match is counted, never added.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { builtAudience, lines, phones, uploadText } from './support/audiences.js';
import { closeHarness } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
let universe: { id: string; secret: string };
before(async () => {
  h = await startHarness({ jobs: true, patch: (c) => void (c.identities.universe = 'closed') });
  universe = await h.newAccount('reachable-users');
  h.config.identities.universeAccountId = universe.id;
});
after(async () => closeHarness(h));

test('in a closed universe a file matches only reachable users and counts the rest as unmatched', async () => {
  const client = await builtAudience(h, { name: 'before-universe', ids: { id_type: 'phone', values: phones(0, 10) } });
  assert.deepEqual([client.status, client.size], ['SUCCESS', 0]);
  assert.equal(client.last_change.reports[0].report.unmatched, 10);

  const up = await uploadText(h, 'reachable.txt', lines(phones(0, 600)), { secret: universe.secret });
  const all = await builtAudience(h, { name: 'universe', files: [{ upload_id: up, id_type: 'phone' }] }, universe.secret);
  assert.deepEqual([all.status, all.size, all.last_change.reports[0].report.new_ids], ['SUCCESS', 600, 600]);

  const mine = await builtAudience(h, { name: 'buyers', ids: { id_type: 'phone', values: phones(500, 800) } });
  assert.equal(mine.size, 100, 'only the 100 reachable phones are in the audience');
  const rep = mine.last_change.reports[0].report;
  assert.deepEqual([rep.valid_lines, rep.matched, rep.new_ids, rep.unmatched], [300, 100, 0, 200]);
});
