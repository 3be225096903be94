// The PAI dialect's own SQL (the group join, escaped LIKE filters, the usage
// upsert) on PostgreSQL, the scale mode's metadata store.
import assert from 'node:assert/strict';
import { waitFor } from './support/front-door.js';
import { onPostgres } from './support/pg-harness.js';
import type { Harness } from './support/harness.js';

const pg = onPostgres({ jobs: true });

async function pai(h: Harness, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${h.account.secret}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${h.url}/api/PaiPlugin/2022-01-12${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
}

pg.test('groups are created, built, filtered, deleted and metered on PostgreSQL', async (h) => {
  const made = await pai(h, 'POST', '/CreateGroup', { Name: 'pg_100%', Source: 0, Text: '13800000000\n13800000001', PhoneNumber: true, Remark: 'r' });
  assert.equal(made.body.ErrorCode, 0, JSON.stringify(made.body));
  const id = made.body.Data.Id;
  const done = await waitFor('group built', async () => {
    const g = (await pai(h, 'GET', `/GetGroup?Id=${id}`)).body.Data;
    return g.Status === 0 || g.Status === 3 ? g : undefined;
  }, 30_000);
  assert.equal(done.Status, 0);
  assert.equal(done.Amount, 2);
  assert.equal((await pai(h, 'GET', '/ListGroups?Name=100%25')).body.Data.TotalCount, 1);
  assert.equal((await pai(h, 'GET', '/ListGroups?Name=pg%25x')).body.Data.TotalCount, 0);
  assert.equal((await pai(h, 'GET', '/ListGroups?Name=_')).body.Data.TotalCount, 1, 'an underscore matches only itself');
  assert.equal((await pai(h, 'GET', '/ListGroups?Status=0&PhoneNumber=true&Source=0&Remark=r')).body.Data.TotalCount, 1);
  assert.equal((await pai(h, 'POST', '/CreateGroup', { Source: 4 })).body.ErrorCode, 501);
  assert.equal((await pai(h, 'DELETE', `/DeleteGroup/${id}`)).body.ErrorCode, 0);
  const u = await h.app.usage.report(h.account.id);
  const create = u.items.find((l) => l.api === 'pai.CreateGroup')!;
  assert.deepEqual([create.ok, create.failed], [1, 1]);
  assert.equal(u.billableCalls, 1 + 1 + 1 + (u.items.find((l) => l.api === 'pai.GetGroup')?.ok ?? 0));
});
