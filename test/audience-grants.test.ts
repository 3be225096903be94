// Sharing audiences between accounts through the native API: an owner grants
// an audience read-only; the grantee sees it apart from its own audiences and
// may combine it with them; nothing else of it is the grantee's. Run on the
// embedded default (SQLite) and on PostgreSQL, like the audience cases.
//
// The job runner is started and paused by each case (withJobs), so that a
// grant can be revoked, or the audience deleted, after a recompute is asked
// for and before its job runs: the job validates the inputs again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startJobs } from '../src/worker/handlers.js';
import type { DefineCase } from './support/audience-cases.js';
import { api, builtAudience, finishedChange, members, phones, refusal } from './support/audiences.js';
import { closeHarness } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';
import { onPostgres } from './support/pg-harness.js';

type Account = { id: string; secret: string };

let seq = 0;
const unique = (p: string) => `${p}-${++seq}-${Date.now()}`;

/** Runs `fn` with the job runner going; `pause` stops it (waiting for the job in hand), `resume` starts it again. */
async function withJobs(h: Harness, fn: (jobs: { pause(): Promise<void>; resume(): void }) => Promise<void>): Promise<void> {
  let runner: ReturnType<typeof startJobs> | undefined = startJobs(h.app, { pollMs: 50 });
  const jobs = {
    pause: async () => {
      await runner?.stop();
      runner = undefined;
    },
    resume: () => {
      runner ??= startJobs(h.app, { pollMs: 50 });
    },
  };
  try {
    await fn(jobs);
  } finally {
    await runner?.stop();
  }
}

const owner = (h: Harness): Account => h.account;
const phoneAudience = async (h: Harness, as: Account, from: number, to: number) => (await builtAudience(h, { name: unique('set'), ids: { id_type: 'phone', values: phones(from, to) } }, as.secret)).id as number;
const share = (h: Harness, audienceId: number, accountIds: string[], as: Account = owner(h)) => api(h, 'POST', `/v1/audiences/${audienceId}/grants`, { account_ids: accountIds }, as.secret);
const combine = async (h: Harness, as: Account, spec: { include: number[][]; exclude?: number[][] }) => {
  const c = await builtAudience(h, { name: unique('combo'), type: 'COMBINE', combine: spec }, as.secret);
  assert.equal(c.status, 'SUCCESS', JSON.stringify(c));
  return c;
};
function grantCases(define: DefineCase): void {
  define('an owner shares an audience; the grantee lists it and combines it with its own, sizes exact', async (h) => {
    await withJobs(h, async () => {
      const grantee = await h.newAccount(unique('grantee'));
      const shared = await phoneAudience(h, owner(h), 0, 100);
      const own = await phoneAudience(h, grantee, 50, 150);

      const first = await share(h, shared, [grantee.id, grantee.id]);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.deepEqual(first.body.added, [grantee.id]);
      assert.deepEqual(first.body.items.map((g: { account_id: string }) => g.account_id), [grantee.id]);
      const again = await share(h, shared, [grantee.id]);
      assert.equal(again.status, 200, 'granting again what is granted changes nothing');
      assert.deepEqual(again.body.added, []);
      assert.equal(again.body.items[0].created_at, first.body.items[0].created_at);
      const listed = await api(h, 'GET', `/v1/audiences/${shared}/grants`);
      assert.deepEqual(listed.body.items.map((g: { account_id: string }) => g.account_id), [grantee.id]);

      const seen = await api(h, 'GET', '/v1/shared-audiences', undefined, grantee.secret);
      assert.equal(seen.status, 200, JSON.stringify(seen.body));
      const item = seen.body.items.find((a: { id: number }) => a.id === shared);
      assert.deepEqual(
        { ...item, shared_at: undefined },
        { id: shared, owner_account_id: h.account.id, name: item.name, type: 'CUSTOMER_FILE', status: 'SUCCESS', size: 100, shared_at: undefined },
      );
      assert.equal((await api(h, 'GET', `/v1/shared-audiences/${shared}`, undefined, grantee.secret)).body.size, 100);
      const own2 = (await api(h, 'GET', '/v1/audiences?limit=500', undefined, grantee.secret)).body.items.map((a: { id: number }) => a.id);
      assert.deepEqual(own2, [own], "the grantee's own list holds its own audiences only");
      const stranger = await h.newAccount(unique('stranger'));
      assert.deepEqual(refusal(await api(h, 'GET', `/v1/shared-audiences/${shared}`, undefined, stranger.secret)), [404, 'AudienceNotFound', 'audience_id']);
      assert.deepEqual((await api(h, 'GET', '/v1/shared-audiences', undefined, stranger.secret)).body.items, []);

      // [0,100) shared, [50,150) own.
      const and = await combine(h, grantee, { include: [[shared], [own]] });
      assert.equal(and.size, 50);
      assert.equal((await combine(h, grantee, { include: [[shared, own]] })).size, 150);
      assert.equal((await combine(h, grantee, { include: [[own]], exclude: [[shared]] })).size, 50);
      assert.equal(await members(h, and.id, 'phone', phones(49, 51).concat(phones(99, 101)), grantee.secret), '0110');
      const estimate = await api(h, 'POST', '/v1/audiences/estimate', { type: 'COMBINE', combine: { include: [[shared], [own]] } }, grantee.secret);
      assert.equal(estimate.status, 200, JSON.stringify(estimate.body));
      assert.equal(estimate.body.size, 50);
      // The owner's audience is untouched and still only the owner's to manage.
      const mine = (await api(h, 'GET', `/v1/audiences/${shared}`)).body;
      assert.deepEqual([mine.size, mine.version], [100, 1]);
    });
  });

  define('a grantee can change, rename, export, read members of and delete nothing of a shared audience: AudienceNotFound, as before', async (h) => {
    await withJobs(h, async () => {
      const grantee = await h.newAccount(unique('grantee'));
      const shared = await phoneAudience(h, owner(h), 0, 10);
      const other = await phoneAudience(h, grantee, 0, 10);
      assert.equal((await share(h, shared, [grantee.id])).status, 201);
      const as = (method: string, path: string, body?: unknown) => api(h, method, path, body, grantee.secret);
      const notFound = [404, 'AudienceNotFound', 'audience_id'];
      assert.deepEqual(refusal(await as('GET', `/v1/audiences/${shared}`)), notFound);
      assert.deepEqual(refusal(await as('PATCH', `/v1/audiences/${shared}`, { name: 'mine now' })), notFound);
      assert.deepEqual(refusal(await as('POST', `/v1/audiences/${shared}/changes`, { operation: 'append', ids: { id_type: 'phone', values: phones(10, 11) } })), notFound);
      assert.deepEqual(refusal(await as('GET', `/v1/audiences/${shared}/versions`)), notFound);
      assert.deepEqual(refusal(await as('POST', `/v1/audiences/${shared}/exports`, { id_type: 'phone_md5' })), notFound);
      assert.deepEqual(refusal(await as('POST', `/v1/audiences/${shared}/members`, { id_type: 'phone', ids: phones(0, 1) })), notFound);
      assert.deepEqual(refusal(await as('POST', '/v1/audiences/overlap', { audience_ids: [other, shared] })), notFound);
      assert.deepEqual(refusal(await as('POST', `/v1/audiences/${shared}/grants`, { account_ids: [h.account.id] })), notFound, 'a grantee cannot share it on');
      assert.deepEqual(refusal(await as('GET', `/v1/audiences/${shared}/grants`)), notFound);
      assert.deepEqual(refusal(await as('DELETE', `/v1/audiences/${shared}/grants/${grantee.id}`)), notFound);
      assert.deepEqual(refusal(await as('DELETE', `/v1/audiences/${shared}`)), notFound);
      const kept = (await api(h, 'GET', `/v1/audiences/${shared}`)).body;
      assert.deepEqual([kept.name.startsWith('set-'), kept.size, kept.version], [true, 10, 1]);
    });
  });

  define('grant refusals name the field: an unknown account by its index, the owner itself, an audience not the caller\'s; nothing is granted', async (h) => {
    await withJobs(h, async () => {
      const grantee = await h.newAccount(unique('grantee'));
      const shared = await phoneAudience(h, owner(h), 0, 5);
      const theirs = await phoneAudience(h, grantee, 0, 5);
      assert.deepEqual(refusal(await share(h, shared, [grantee.id, '999999999999'])), [404, 'AccountNotFound', 'account_ids[1]']);
      assert.deepEqual(refusal(await share(h, shared, [grantee.id, h.account.id])), [400, 'InvalidParameter', 'account_ids[1]']);
      assert.deepEqual(refusal(await share(h, shared, [])), [400, 'InvalidParameter', 'account_ids']);
      assert.deepEqual(refusal(await share(h, theirs, [grantee.id])), [404, 'AudienceNotFound', 'audience_id'], "another account's audience");
      assert.deepEqual(refusal(await share(h, 999_999_999, [grantee.id])), [404, 'AudienceNotFound', 'audience_id']);
      assert.deepEqual((await api(h, 'GET', `/v1/audiences/${shared}/grants`)).body.items, [], 'a refused call granted nothing');
      assert.deepEqual(refusal(await api(h, 'DELETE', `/v1/audiences/${shared}/grants/${grantee.id}`)), [404, 'NotFound', 'account_id']);
      // Without a grant, another account's audience is no input.
      const r = await api(h, 'POST', '/v1/audiences', { name: unique('bad'), type: 'COMBINE', combine: { include: [[theirs]] } });
      assert.deepEqual(refusal(r), [404, 'AudienceNotFound', 'combine.include[0][0]']);
    });
  });

  define('a grant revoked before a recompute: that change ends in ERROR naming the input; the COMBINE keeps its version', async (h) => {
    await withJobs(h, async (jobs) => {
      const grantee = await h.newAccount(unique('grantee'));
      const shared = await phoneAudience(h, owner(h), 0, 100);
      const own = await phoneAudience(h, grantee, 50, 150);
      await share(h, shared, [grantee.id]);
      const c = await combine(h, grantee, { include: [[own]], exclude: [[shared]] });
      assert.equal(c.size, 50);

      await jobs.pause();
      const asked = await api(h, 'POST', `/v1/audiences/${c.id}/changes`, { operation: 'combine' }, grantee.secret);
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      const revoked = await api(h, 'DELETE', `/v1/audiences/${shared}/grants/${grantee.id}`);
      assert.equal(revoked.status, 204);
      jobs.resume();
      const done = await finishedChange(h, c.id, asked.body.id, grantee.secret);
      assert.equal(done.status, 'ERROR', JSON.stringify(done));
      assert.equal(done.error.code, 'AudienceNotFound');
      assert.match(done.error.message, new RegExp(`audience ${shared} .*\\(combine\\.exclude\\[0\\]\\[0\\]\\)`));
      const kept = (await api(h, 'GET', `/v1/audiences/${c.id}`, undefined, grantee.secret)).body;
      assert.deepEqual([kept.status, kept.version, kept.size], ['SUCCESS', 1, 50]);
      assert.equal(await members(h, c.id, 'phone', phones(99, 101), grantee.secret), '01');

      assert.deepEqual((await api(h, 'GET', '/v1/shared-audiences', undefined, grantee.secret)).body.items, []);
      // Asked now, the recompute is refused at once.
      assert.deepEqual(refusal(await api(h, 'POST', `/v1/audiences/${c.id}/changes`, { operation: 'combine' }, grantee.secret)), [404, 'AudienceNotFound', 'combine.exclude[0][0]']);
      // Shared again, it computes.
      await share(h, shared, [grantee.id]);
      const again = await api(h, 'POST', `/v1/audiences/${c.id}/changes`, { operation: 'combine' }, grantee.secret);
      const ok = await finishedChange(h, c.id, again.body.id, grantee.secret);
      assert.deepEqual([ok.status, ok.version, ok.size], ['SUCCESS', 2, 50]);
    });
  });

  define('the owner deletes a shared audience: its grants go, the grantee\'s COMBINE keeps its version, a recompute errors', async (h) => {
    await withJobs(h, async (jobs) => {
      const grantee = await h.newAccount(unique('grantee'));
      const shared = await phoneAudience(h, owner(h), 0, 30);
      await share(h, shared, [grantee.id]);
      const c = await combine(h, grantee, { include: [[shared]] });
      assert.equal(c.size, 30);

      await jobs.pause();
      const asked = await api(h, 'POST', `/v1/audiences/${c.id}/changes`, { operation: 'combine' }, grantee.secret);
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      assert.equal((await api(h, 'DELETE', `/v1/audiences/${shared}`)).status, 204);
      const left = await h.app.db.selectFrom('audience_grants').select('grantee_account_id').where('audience_id', '=', shared).execute();
      assert.deepEqual(left, [], 'the grants went with the audience');
      jobs.resume();
      const done = await finishedChange(h, c.id, asked.body.id, grantee.secret);
      assert.equal(done.status, 'ERROR', JSON.stringify(done));
      assert.equal(done.error.code, 'AudienceNotFound');
      assert.match(done.error.message, /combine\.include\[0\]\[0\]/);
      const kept = (await api(h, 'GET', `/v1/audiences/${c.id}`, undefined, grantee.secret)).body;
      assert.deepEqual([kept.status, kept.version, kept.size], ['SUCCESS', 1, 30]);
      assert.equal(await members(h, c.id, 'phone', phones(0, 1), grantee.secret), '1', 'its own bitmap still answers');
      assert.deepEqual((await api(h, 'GET', '/v1/shared-audiences', undefined, grantee.secret)).body.items, []);
      assert.deepEqual(refusal(await api(h, 'POST', `/v1/audiences/${c.id}/changes`, { operation: 'combine' }, grantee.secret)), [404, 'AudienceNotFound', 'combine.include[0][0]']);
    });
  });

  define('a cycle through another account\'s audience is refused: the walk follows every definition, whatever account holds it', async (h) => {
    await withJobs(h, async () => {
      const grantee = await h.newAccount(unique('grantee'));
      const base = await phoneAudience(h, owner(h), 0, 10);
      const outer = (await combine(h, owner(h), { include: [[base]] })).id;
      await share(h, outer, [grantee.id]);
      const theirs = (await combine(h, grantee, { include: [[outer]] })).id;
      assert.equal((await share(h, theirs, [h.account.id], grantee)).status, 201);
      const cycle = await api(h, 'POST', `/v1/audiences/${outer}/changes`, { operation: 'combine', combine: { include: [[base, theirs]] } });
      assert.deepEqual(refusal(cycle), [400, 'InvalidParameter', 'combine.include[0][1]']);
      assert.match(cycle.body.error.message, /cycle/);
    });
  });
}

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => closeHarness(h));
grantCases((name, fn) => test(name, { timeout: 60_000 }, () => fn(h)));

const pg = onPostgres();
grantCases((name, fn) => pg.test(`PostgreSQL: ${name}`, fn, { timeout: 60_000 }));
