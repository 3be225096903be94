// POST /v1/audiences/estimate: the size an audience would have, with nothing
// created. A COMBINE estimate is exact (the audience later made from the same
// spec has that size); a CUSTOMER_FILE estimate reads the files against the
// dictionary without adding a key: known users exactly, plus the distinct
// ids it does not hold yet. Nothing is written: no audience, change, job,
// object or dictionary key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DictionaryStore } from '../src/infra/identities/index.js';
import { api, builtAudience, lines, phones, refusal, uploadText } from './support/audiences.js';
import { allObjectFiles, closeHarness, md5 as md5hex } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({ jobs: true });
});
after(async () => closeHarness(h));

let seq = 0;
const unique = (p: string) => `${p}-${++seq}-${Date.now()}`;
const make = async (from: number, to: number) => (await builtAudience(h, { name: unique('set'), ids: { id_type: 'phone', values: phones(from, to) } })).id as number;
const estimate = (body: unknown, secret?: string) => api(h, 'POST', '/v1/audiences/estimate', body, secret);
/** Everything an estimate must leave as it was. */
async function written(of: Harness = h) {
  const count = async (table: 'audiences' | 'audience_changes' | 'jobs' | 'audience_versions') => Number((await of.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const stats = (of.app.dictionary as DictionaryStore).stats();
  return {
    audiences: await count('audiences'),
    changes: await count('audience_changes'),
    versions: await count('audience_versions'),
    jobs: await count('jobs'),
    objects: allObjectFiles(of).sort(),
    users: stats.users,
    keys: stats.tables.reduce((n, t) => n + t.keys, 0),
  };
}

test('a COMBINE estimate is the size of the audience later created from the same spec; nothing is written', async () => {
  const [x, y, z, w] = [await make(0, 100), await make(50, 150), await make(80, 200), await make(90, 95)];
  const spec = { include: [[x, y], [z]], exclude: [[w]] };
  const before = await written();
  const r = await estimate({ type: 'COMBINE', combine: spec });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // (x ∪ y) ∩ z − w = [80,150) − [90,95)
  assert.equal(r.body.size, 65);
  assert.deepEqual(r.body.inputs, [
    { id: x, version: 1, size: 100 },
    { id: y, version: 1, size: 100 },
    { id: z, version: 1, size: 120 },
    { id: w, version: 1, size: 5 },
  ]);
  assert.deepEqual(await written(), before);
  const made = await builtAudience(h, { name: unique('made'), type: 'COMBINE', combine: spec });
  assert.deepEqual([made.status, made.size], ['SUCCESS', r.body.size]);

  const empty = (await api(h, 'POST', '/v1/audiences', { name: unique('empty') })).body.id;
  assert.deepEqual(refusal(await estimate({ type: 'COMBINE', combine: { include: [[x, 999_999_999]] } })), [404, 'AudienceNotFound', 'combine.include[0][1]']);
  assert.deepEqual(refusal(await estimate({ type: 'COMBINE', combine: { include: [[x]], exclude: [[empty]] } })), [409, 'AudienceNotReady', 'combine.exclude[0][0]']);
  assert.deepEqual(refusal(await estimate({ type: 'COMBINE' })), [400, 'MissingParameter', 'combine']);
  assert.deepEqual(refusal(await estimate({ type: 'COMBINE', combine: spec, files: [{ upload_id: 'up_x', id_type: 'phone' }] })), [400, 'InvalidParameter', 'files']);
  assert.deepEqual(refusal(await estimate({ type: 'COMBINE', combine: { include: [] } })), [400, 'InvalidParameter', 'combine.include']);
  const other = await h.newAccount(unique('other'));
  assert.deepEqual(refusal(await estimate({ type: 'COMBINE', combine: { include: [[x]] } }, other.secret)), [404, 'AudienceNotFound', 'combine.include[0][0]'], 'not shared: not an input');
});

test('a CUSTOMER_FILE estimate counts known users and distinct new ids, with the file\'s line counts; no key is added to the dictionary', async () => {
  // Phones from 1000 up: the ones the test above made known are below 200.
  await make(1000, 1100);
  // Known: [1050,1100) (50). New: [1100,1150) (50), ten of them twice; one
  // known phone repeated; two bad lines and a blank one.
  const content = lines([...phones(1050, 1150), ...phones(1120, 1130), phones(1060, 1061)[0], 'not-a-phone', '12345', '']);
  const up = await uploadText(h, 'estimate.txt', content);
  const before = await written();
  const r = await estimate({ type: 'CUSTOMER_FILE', files: [{ upload_id: up, id_type: 'phone' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    { ...r.body, files: undefined },
    { type: 'CUSTOMER_FILE', size: 100, known_users: 50, new_ids: 50, new_ids_exact: true, adds_new_ids: true, files: undefined },
  );
  const f = r.body.files[0];
  assert.deepEqual([f.upload_id, f.id_type, f.lines, f.blank_lines, f.valid_lines, f.invalid_lines, f.known_users, f.unmatched_lines], [up, 'phone', 114, 1, 111, 2, 50, 60]);
  assert.deepEqual(f.samples.map((s: { line: number }) => s.line), [112, 113]);
  assert.deepEqual(await written(), before, 'no audience, change, job, object, user or key');

  // A second file sharing new ids with the first: the union, each id once.
  const md5s = await uploadText(h, 'estimate-md5.txt', lines(phones(1140, 1170).map(md5hex)));
  const csv = await uploadText(h, 'estimate.csv', ['id,mobile', ...phones(1095, 1105).map((p, i) => `${i},${p}`)].join('\n') + '\n');
  const uploaded = await written();
  const two = await estimate({ type: 'CUSTOMER_FILE', files: [{ upload_id: up, id_type: 'phone' }, { upload_id: md5s, id_type: 'phone_md5' }] });
  assert.deepEqual([two.body.size, two.body.known_users, two.body.new_ids], [120, 50, 70]);
  const byColumn = await estimate({ type: 'CUSTOMER_FILE', files: [{ upload_id: csv, id_type: 'phone', csv: { column: 'mobile' } }] });
  assert.deepEqual([byColumn.body.size, byColumn.body.known_users, byColumn.body.new_ids, byColumn.body.files[0].header], [10, 5, 5, ['id', 'mobile']]);
  assert.deepEqual(await written(), uploaded);

  // The audience made from the file has the estimated size.
  const made = await builtAudience(h, { name: unique('from-file'), files: [{ upload_id: up, id_type: 'phone' }] });
  assert.deepEqual([made.status, made.size, made.last_change.reports[0].report.new_ids], ['SUCCESS', 100, 50]);
});

test('CUSTOMER_FILE estimate refusals name the file\'s field', async () => {
  const up = await uploadText(h, 'ids.txt', lines(phones(0, 3)));
  const bad = await uploadText(h, 'bad.txt', lines(['nothing', 'here']));
  const pending = (await api(h, 'POST', '/v1/uploads', { file_name: 'later.txt' })).body.upload.id;
  const file = (f: Record<string, unknown>) => estimate({ type: 'CUSTOMER_FILE', files: [{ upload_id: up, id_type: 'phone' }, f] });
  assert.deepEqual(refusal(await file({ upload_id: 'up_nope', id_type: 'phone' })), [404, 'UploadNotFound', 'files[1].upload_id']);
  assert.deepEqual(refusal(await file({ upload_id: pending, id_type: 'phone' })), [409, 'UploadNotReady', 'files[1].upload_id']);
  assert.deepEqual(refusal(await file({ upload_id: up, id_type: 'telephone' })), [400, 'InvalidParameter', 'files[1].id_type']);
  assert.deepEqual(refusal(await file({ upload_id: up, id_type: 'phone', detect_hint: ['phone'] })), [400, 'InvalidParameter', 'files[1].detect_hint']);
  assert.deepEqual(refusal(await file({ upload_id: bad, id_type: 'phone' })), [400, 'InvalidParameter', 'files[1].id_type']);
  assert.deepEqual(refusal(await estimate({ type: 'CUSTOMER_FILE' })), [400, 'MissingParameter', 'files']);
  assert.deepEqual(refusal(await estimate({ type: 'CUSTOMER_FILE', files: [{ upload_id: up, id_type: 'phone' }], combine: { include: [[1]] } })), [400, 'InvalidParameter', 'combine']);
  const other = await h.newAccount(unique('other'));
  assert.deepEqual(refusal(await estimate({ type: 'CUSTOMER_FILE', files: [{ upload_id: up, id_type: 'phone' }] }, other.secret)), [404, 'UploadNotFound', 'files[0].upload_id']);
});

test('past a million new ids the count is sampled, and stays within half a percent', { timeout: 120_000 }, async () => {
  const n = 1_300_000;
  const body = Buffer.alloc(n * 33);
  for (let i = 0; i < n; i++) body.write(`${md5hex(`estimate-sample-${i}`)}\n`, i * 33, 'latin1');
  const up = await uploadText(h, 'many.txt', body);
  const before = await written();
  const r = await estimate({ type: 'CUSTOMER_FILE', files: [{ upload_id: up, id_type: 'phone_md5' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.new_ids_exact, false);
  assert.ok(Math.abs(r.body.new_ids - n) / n < 0.005, `${r.body.new_ids} new ids estimated for ${n}`);
  assert.equal(r.body.files[0].valid_lines, n);
  assert.deepEqual(await written(), before);
});

test('in a closed universe another account\'s new ids never become users: the estimate is the known users', async () => {
  const closed = await startHarness({ jobs: true, patch: (c) => (c.identities.universe = 'closed') });
  try {
    // The first account made is the harness's own; the universe is defined by it.
    closed.app.config.identities.universeAccountId = closed.account.id;
    const universe = await builtAudience(closed, { name: unique('universe'), ids: { id_type: 'phone', values: phones(0, 100) } });
    assert.equal(universe.size, 100);
    const tenant = await closed.newAccount(unique('tenant'));
    const up = await uploadText(closed, 'tenant.txt', lines(phones(90, 130)), { secret: tenant.secret });
    const r = await api(closed, 'POST', '/v1/audiences/estimate', { type: 'CUSTOMER_FILE', files: [{ upload_id: up, id_type: 'phone' }] }, tenant.secret);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.size, r.body.known_users, r.body.new_ids, r.body.adds_new_ids], [10, 10, 30, false]);
    const made = await builtAudience(closed, { name: unique('tenant-aud'), files: [{ upload_id: up, id_type: 'phone' }] }, tenant.secret);
    assert.equal(made.size, r.body.size);
  } finally {
    await closeHarness(closed);
  }
});
