// Rule audiences through the native API (cases run on both modes): behaviour data sent to the account,
// a USER_ACTION audience built from it (the right users, by any form of
// their ids), refreshed on demand and on its schedule (each run a version),
// a failing refresh keeping the last good version, a rule audience as a
// COMBINE input, the preview equal to what the audience gets, and every
// refusal naming its field with nothing created.
import assert from 'node:assert/strict';
import { err } from '../../src/errors.js';
import { housekeepOnce } from '../../src/worker/housekeeping.js';
import type { Harness } from './harness.js';
import { api, builtAudience, finishedChange, members, phones } from './audiences.js';
import { md5, waitFor } from './front-door.js';
import type { DefineCase } from './audience-cases.js';

let h: Harness;
let setId = 0;
const DAY = 86_400;
const nowS = () => Math.floor(h.app.now() / 1000);
const people = phones(0, 10);

/** Noon, GMT+8 (the vendor's days), `daysAgo` vendor days before today: far from any day boundary. */
const noonDaysAgo = (daysAgo: number) => Math.floor((nowS() + 8 * 3600) / DAY) * DAY - 8 * 3600 + 12 * 3600 - daysAgo * DAY;

/** One PURCHASE of `phone` at noon, `daysAgo` (at least 1) vendor days before today. */
const purchase = (phone: string, daysAgo: number, value = 100) => ({
  action_time: noonDaysAgo(daysAgo),
  user_id: { hash_phone: md5(phone) },
  action_type: 'PURCHASE',
  action_param: { value },
});

async function send(events: unknown[]) {
  const r = await h.app.events.send(h.account.id, 'user_actions', events, { actionSetId: setId });
  assert.deepEqual(r.refused, [], JSON.stringify(r.refused));
  return r;
}

const purchasers = (windowDays: number) => ({
  user_action_spec: { user_action_set_id: setId, match_rule_type: 'ACTION', extract_type: 'FILTER', time_window: windowDays, action_match_rule: { action_type: 'PURCHASE' } },
});

/** Each harness gets its action set and its first events once, before its first case. */
const prepared = new WeakMap<Harness, Promise<number>>();
async function prepare(harness: Harness): Promise<void> {
  h = harness;
  let ready = prepared.get(harness);
  if (!ready) {
    ready = (async () => {
      const id = (await harness.app.actionSets.create(harness.account.id, { name: 'shop', type: 'WEB' })).id;
      setId = id;
      // people 0-4 bought 1 to 5 days ago, 5-6 forty days ago, 7-9 never.
      await send([...people.slice(0, 5).map((p, i) => purchase(p, i + 1)), purchase(people[5], 40), purchase(people[6], 40)]);
      return id;
    })();
    prepared.set(harness, ready);
  }
  setId = await ready;
}

export function ruleAudienceCases(define: DefineCase): void {
  define('a USER_ACTION audience holds exactly the users of its rule, whatever form of id asks; the preview said the same size first', async (harness) => {
    await prepare(harness);
    const preview = await api(h, 'POST', '/v1/audiences/estimate', { type: 'USER_ACTION', rule: purchasers(30) });
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    assert.equal(preview.body.size, 5);
    const a = await builtAudience(h, { name: 'buyers-30d', type: 'USER_ACTION', rule: purchasers(30) });
    assert.equal(a.status, 'SUCCESS', JSON.stringify(a));
    assert.equal(a.size, 5);
    assert.deepEqual(a.rule, purchasers(30));
    assert.equal(a.refresh_every_hours, 24, 'a rule relative to today refreshes daily by default');
    assert.ok(Date.parse(a.next_refresh_at) > h.app.now());
    // The events named hashed phones; the raw phones are the same users.
    assert.equal(await members(h, a.id, 'phone', people), '1111100000');
    const wide = await builtAudience(h, { name: 'buyers-90d', type: 'USER_ACTION', rule: purchasers(90) });
    assert.equal(wide.size, 7);
  });

  define('refresh on demand and on schedule: each run a new version with its size; a failing refresh keeps the last good version and says why', async (harness) => {
    await prepare(harness);
    const a = await builtAudience(h, { name: 'buyers-7d', type: 'USER_ACTION', rule: purchasers(7), refresh_every_hours: 6 });
    assert.equal(a.size, 5);
    assert.equal(a.refresh_every_hours, 6);

    await send([purchase(people[7], 1)]);
    const r = await api(h, 'POST', `/v1/audiences/${a.id}/changes`, { operation: 'refresh' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal((await finishedChange(h, a.id, r.body.id)).size, 6);

    // Four days on, the schedule (every 6 hours) is due: housekeeping starts
    // the refresh, and the 7-day window has moved past three of the purchases.
    h.clock.offsetMs += 4 * DAY * 1000;
    await housekeepOnce(h.app);
    const refreshed = await waitFor('the scheduled refresh', async () => {
      const changes = (await api(h, 'GET', `/v1/audiences/${a.id}/changes`)).body.items;
      return changes.length === 3 && changes[0].status === 'SUCCESS' ? changes[0] : undefined;
    }, 30_000);
    assert.equal(refreshed.operation, 'refresh');
    assert.equal(refreshed.size, 3, 'people 0, 1 and 7 (now 5 and 6 days ago); 2, 3 and 4 (7 to 9 days ago) fell out');
    const versions = (await api(h, 'GET', `/v1/audiences/${a.id}/versions`)).body.items;
    assert.deepEqual(versions.map((v: { size: number }) => v.size), [3, 6, 5]);
    await housekeepOnce(h.app);
    assert.equal((await api(h, 'GET', `/v1/audiences/${a.id}/changes`)).body.items.length, 3, 'not due again until the period has passed');

    const store = h.app.eventStore;
    const users = store.users.bind(store);
    store.users = async () => {
      throw err('InvalidParameter', 'the event store refused the query');
    };
    try {
      const failed = await api(h, 'POST', `/v1/audiences/${a.id}/changes`, { operation: 'refresh' });
      const done = await finishedChange(h, a.id, failed.body.id);
      assert.equal(done.status, 'ERROR');
      assert.match(done.error.message, /refused the query/);
    } finally {
      store.users = users;
    }
    const kept = (await api(h, 'GET', `/v1/audiences/${a.id}`)).body;
    assert.equal(kept.status, 'SUCCESS');
    assert.equal(kept.size, 3);
    assert.equal(kept.version, 3);
  });

  define('a rule audience is a COMBINE input like any other', async (harness) => {
    await prepare(harness);
    const buyers = await builtAudience(h, { name: 'buyers-for-combine', type: 'USER_ACTION', rule: purchasers(90) });
    const list = await builtAudience(h, { name: 'crm-list', ids: { id_type: 'phone', values: people.slice(3, 10) } });
    const both = await builtAudience(h, { name: 'crm-buyers', type: 'COMBINE', combine: { include: [[buyers.id], [list.id]] } });
    assert.equal(both.status, 'SUCCESS', JSON.stringify(both));
    assert.equal(await members(h, both.id, 'phone', people), '0001111100');
  });

  define('a KEYWORD audience reads the configured window (events.keywordWindowDays, 30 days unless set)', async (harness) => {
    await prepare(harness);
    // people 7 searched 2 days ago, people 8 forty days ago, people 9 for something else.
    const search = (phone: string, daysAgo: number, keyword: string) => ({ action_time: noonDaysAgo(daysAgo), user_id: { hash_phone: md5(phone) }, action_type: 'SEARCH', keyword });
    await send([search(people[7], 2, '红茶 tea set'), search(people[8], 40, 'black TEA'), search(people[9], 2, 'coffee')]);
    const rule = { keyword_spec: { include_keyword: ['tea'] } };
    const a = await builtAudience(h, { name: 'tea-searchers-30d', type: 'KEYWORD', rule });
    assert.equal(a.status, 'SUCCESS', JSON.stringify(a));
    assert.equal(await members(h, a.id, 'phone', people), '0000000100');
    const events = h.app.config.events;
    const before = events.keywordWindowDays;
    events.keywordWindowDays = 60;
    try {
      const wide = await builtAudience(h, { name: 'tea-searchers-60d', type: 'KEYWORD', rule });
      assert.equal(await members(h, wide.id, 'phone', people), '0000000110', 'a 60-day window finds the search of 40 days ago');
    } finally {
      events.keywordWindowDays = before;
    }
  });

  define('PATCH sets the refresh period (null stops the schedule); a refused patch changes nothing, its refresh period included', async (harness) => {
    await prepare(harness);
    const a = await builtAudience(h, { name: 'buyers-patched', type: 'USER_ACTION', rule: purchasers(30) });
    const twelve = await api(h, 'PATCH', `/v1/audiences/${a.id}`, { refresh_every_hours: 12 });
    assert.equal(twelve.status, 200, JSON.stringify(twelve.body));
    assert.equal(twelve.body.refresh_every_hours, 12);
    assert.ok(Date.parse(twelve.body.next_refresh_at) <= h.app.now() + 12 * 3_600_000, 'the next refresh is within the new period');
    const off = await api(h, 'PATCH', `/v1/audiences/${a.id}`, { refresh_every_hours: null });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.deepEqual([off.body.refresh_every_hours, off.body.next_refresh_at], [null, null]);
    // A name another audience has: refused whole, the period left as it was.
    await builtAudience(h, { name: 'taken-name', ids: { id_type: 'phone', values: people.slice(0, 1) } });
    const clash = await api(h, 'PATCH', `/v1/audiences/${a.id}`, { name: 'taken-name', refresh_every_hours: 6 });
    assert.equal(clash.status, 409, JSON.stringify(clash.body));
    const now = (await api(h, 'GET', `/v1/audiences/${a.id}`)).body;
    assert.deepEqual([now.name, now.refresh_every_hours, now.next_refresh_at], ['buyers-patched', null, null]);
    // A file audience has no refresh period to set.
    const file = await builtAudience(h, { name: 'no-refresh', ids: { id_type: 'phone', values: people.slice(0, 1) } });
    const r = await api(h, 'PATCH', `/v1/audiences/${file.id}`, { refresh_every_hours: 6, name: 'no-refresh-2' });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.field, 'refresh_every_hours');
    assert.equal((await api(h, 'GET', `/v1/audiences/${file.id}`)).body.name, 'no-refresh');
  });

  define('refusals name the field and create nothing: a broken rule, a type mismatch, a rule on a file audience, another account\'s action set, refresh of a file audience', async (harness) => {
    await prepare(harness);
    const before = (await api(h, 'GET', '/v1/audiences?limit=500')).body.items.length;
    const other = await h.newAccount('rules-other');
    const theirs = (await h.app.actionSets.create(other.id, { name: 'theirs', type: 'WEB' })).id;
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ type: 'USER_ACTION', rule: { user_action_spec: { ...purchasers(181).user_action_spec } } }, 400, 'rule.user_action_spec.time_window'],
      [{ type: 'USER_ACTION', rule: {} }, 400, 'rule.user_action_spec'],
      [{ type: 'KEYWORD', rule: purchasers(30) }, 400, 'rule.user_action_spec'],
      [{ type: 'CUSTOMER_FILE', rule: purchasers(30) }, 400, 'rule'],
      [{ type: 'USER_ACTION', rule: { user_action_spec: { ...purchasers(30).user_action_spec, user_action_set_id: theirs } } }, 404, 'rule.user_action_spec.user_action_set_id'],
    ];
    for (const [body, status, field] of cases) {
      const r = await api(h, 'POST', '/v1/audiences', { name: `refused-${field}`, ...body });
      assert.equal(r.status, status, `${field}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.field, field, JSON.stringify(r.body));
    }
    const file = await builtAudience(h, { name: 'a-file', ids: { id_type: 'phone', values: people.slice(0, 2) } });
    const r = await api(h, 'POST', `/v1/audiences/${file.id}/changes`, { operation: 'refresh' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'operation');
    assert.equal((await api(h, 'GET', '/v1/audiences?limit=500')).body.items.length, before + 1, 'only the file audience made for the last case');
  });
}
