// The audience engine's behaviours through the native API, defined once and
// run on SQLite with the embedded dictionary (test/audiences.test.ts) and on
// PostgreSQL with the shared dictionary (test/postgres-audiences.test.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { housekeepOnce } from '../../src/worker/housekeeping.js';
import { allObjectFiles, waitFor } from './front-door.js';
import type { Harness } from './harness.js';
import { api, builtAudience, changeAudience, createAudience, finishedChange, lines, members, phones, uploadText } from './audiences.js';

export type DefineCase = (name: string, fn: (h: Harness) => Promise<void>, opts?: { timeout?: number }) => void;

const md5hex = (s: string) => createHash('md5').update(s).digest('hex');
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');
let seq = 0;
const unique = (p: string) => `${p}-${++seq}-${Date.now()}`;

/** The bitmaps and staging files in the store, after housekeeping has deleted what is due. */
async function serviceObjects(h: Harness): Promise<string[]> {
  await housekeepOnce(h.app);
  return allObjectFiles(h).filter((f) => /\/(audiences|staging|exports)\//.test(f));
}

export function audienceCases(define: DefineCase): void {
  define('raw phones and MD5 phones of the same people make audiences that overlap exactly; the report counts every line', async (h) => {
    const raw = phones(0, 1000);
    const rawFile = ['phone', ...raw.slice(0, 600).map((p, i) => (i % 3 === 0 ? `+86 ${p.slice(0, 3)} ${p.slice(3, 7)} ${p.slice(7)}` : p)), '', 'not-a-phone', raw[5], '12345'].join('\r\n') + '\r\n';
    const up1 = await uploadText(h, 'raw.csv', rawFile);
    const a = await builtAudience(h, { name: unique('raw'), files: [{ upload_id: up1, id_type: 'phone', csv: { column: 'phone' } }] });
    assert.equal(a.status, 'SUCCESS', JSON.stringify(a));
    assert.equal(a.size, 600);
    const rep = a.last_change.reports[0].report;
    assert.equal(rep.lines, 605, 'header + 600 + blank + 3 more');
    assert.equal(rep.valid_lines, 601);
    assert.equal(rep.invalid_lines, 2);
    assert.equal(rep.duplicates, 1);
    assert.equal(rep.user_count, 600);
    assert.deepEqual(rep.samples.map((s: { line: number }) => s.line), [603, 605]);
    assert.ok(rep.samples.every((s: { reason: string }) => s.reason.length > 5));

    const up2 = await uploadText(h, 'md5.txt', lines(raw.slice(300, 1000).map((p) => md5hex(p).toUpperCase())));
    const b = await builtAudience(h, { name: unique('md5'), files: [{ upload_id: up2, id_type: 'phone_md5' }] });
    assert.equal(b.size, 700);
    assert.equal(b.last_change.reports[0].report.matched, 300, 'the MD5s of the raw phones already uploaded are known users');
    const o = await api(h, 'POST', '/v1/audiences/overlap', { audience_ids: [a.id, b.id] });
    assert.equal(o.status, 200, JSON.stringify(o.body));
    const count = (ids: number[], list: Array<{ audience_ids: number[]; count: number }>) => list.find((x) => x.audience_ids.join() === ids.join())!.count;
    assert.equal(count([a.id, b.id], o.body.intersections), 300);
    assert.equal(count([a.id], o.body.regions), 300);
    assert.equal(count([b.id], o.body.regions), 400);
    // Membership both ways, by any form of the id.
    assert.equal(await members(h, a.id, 'phone_sha256', [sha256hex(raw[0]), sha256hex(raw[999]), 'zz']), '100');
    const look = await api(h, 'POST', '/v1/audiences/lookup', { id_type: 'phone', id: `+86${raw[400]}` });
    assert.deepEqual(look.body.audience_ids.sort(), [a.id, b.id].sort());
  });

  define('id_type detect types each line by its shape; a hint narrows what the shape alone cannot tell', async (h) => {
    const phone = phones(0, 1)[0];
    const content = lines([phone, 'Someone@Example.com', '356938035643809', md5hex('13900000000'), 'what is this?']);
    const up = await uploadText(h, 'mixed-types.txt', content);
    const a = await builtAudience(h, { name: unique('detect'), files: [{ upload_id: up, id_type: 'detect' }] });
    assert.equal(a.status, 'SUCCESS', JSON.stringify(a));
    assert.equal(a.size, 3);
    const rep = a.last_change.reports[0].report;
    assert.deepEqual(rep.samples.map((x: { line: number }) => x.line), [4, 5]);
    assert.match(rep.samples[0].reason, /could be .*phone_md5/);
    assert.equal(await members(h, a.id, 'email_sha256', [sha256hex('someone@example.com')]), '1');
    const hinted = await builtAudience(h, { name: unique('hinted'), files: [{ upload_id: up, id_type: 'detect', detect_hint: ['phone'] }] });
    assert.equal(hinted.size, 2, 'with the phone hint: the phone and the phone MD5');
    assert.equal(await members(h, hinted.id, 'phone', ['13900000000', phone]), '11');
    const wrong = await api(h, 'POST', '/v1/audiences', { name: unique('bad-hint'), files: [{ upload_id: up, id_type: 'phone', detect_hint: ['phone'] }] });
    assert.deepEqual([wrong.body.error?.code, wrong.body.error?.field], ['InvalidParameter', 'files[0].detect_hint']);
  });

  define('inline ids, then append, remove and replace: each change a new version, earlier versions listed with their sizes', async (h) => {
    const a = await builtAudience(h, { name: unique('inline'), ids: { id_type: 'imei', values: ['86' + '1234567890123', '356938035643809', '490154203237518'] } });
    assert.equal(a.status, 'SUCCESS', JSON.stringify(a));
    assert.equal(a.size, 3);
    const up = await uploadText(h, 'more.txt', lines(phones(0, 50)));
    const appended = await changeAudience(h, a.id, { operation: 'append', files: [{ upload_id: up, id_type: 'phone' }] });
    assert.deepEqual([appended.status, appended.version, appended.size], ['SUCCESS', 2, 53]);
    const removed = await changeAudience(h, a.id, { operation: 'remove', ids: { id_type: 'phone_md5', values: phones(0, 10).map(md5hex) } });
    assert.deepEqual([removed.status, removed.version, removed.size], ['SUCCESS', 3, 43]);
    const replaced = await changeAudience(h, a.id, { operation: 'replace', ids: { id_type: 'phone', values: phones(100, 105) } });
    assert.deepEqual([replaced.status, replaced.version, replaced.size], ['SUCCESS', 4, 5]);
    const versions = (await api(h, 'GET', `/v1/audiences/${a.id}/versions`)).body.items;
    assert.deepEqual(versions.map((v: { version: number; size: number }) => [v.version, v.size]), [[4, 5], [3, 43], [2, 53], [1, 3]]);
    assert.equal(await members(h, a.id, 'phone', [...phones(100, 102), ...phones(20, 21)]), '110');
    // An earlier version stays readable until it is retired.
    const v2 = await api(h, 'POST', `/v1/audiences/${a.id}/members?version=2`, { id_type: 'phone', ids: [...phones(100, 102), ...phones(20, 21)] });
    assert.deepEqual([v2.body.version, v2.body.members], [2, '001']);
    const v9 = await api(h, 'POST', `/v1/audiences/${a.id}/members?version=9`, { id_type: 'phone', ids: phones(0, 1) });
    assert.deepEqual([v9.status, v9.body.error.code, v9.body.error.field], [404, 'VersionNotFound', 'version']);
    // The inline ids' staging objects are gone once their changes finished.
    assert.deepEqual((await serviceObjects(h)).filter((f) => f.includes('/staging/')), []);
  });

  define('COMBINE: include is an AND of ORs, exclude an AND of ORs taken away', async (h) => {
    const make = async (from: number, to: number) => (await builtAudience(h, { name: unique('set'), ids: { id_type: 'phone', values: phones(from, to) } })).id;
    const [x, y, z, w] = [await make(0, 100), await make(50, 150), await make(80, 200), await make(90, 95)];
    // (x ∪ y) ∩ z − w = [80,150) − [90,95) = 65 members
    const c = await builtAudience(h, { name: unique('combo'), type: 'COMBINE', combine: { include: [[x, y], [z]], exclude: [[w]] } });
    assert.equal(c.status, 'SUCCESS', JSON.stringify(c));
    assert.equal(c.size, 65);
    assert.equal(await members(h, c.id, 'phone', phones(79, 81).concat(phones(92, 93), phones(149, 151))), '01010');
  });

  define('COMBINE refusals name the field: missing, another account, not ready, itself, a cycle, 501 inputs; nothing is created', async (h) => {
    const mine = (await builtAudience(h, { name: unique('mine'), ids: { id_type: 'phone', values: phones(0, 5) } })).id;
    const other = await h.newAccount(unique('other'));
    const theirs = (await builtAudience(h, { name: unique('theirs'), ids: { id_type: 'phone', values: phones(0, 5) } }, other.secret)).id;
    const empty = (await api(h, 'POST', '/v1/audiences', { name: unique('empty') })).body.id;
    const before = (await api(h, 'GET', '/v1/audiences?limit=500')).body.items.length;
    const refuse = async (combine: unknown, code: string, field: RegExp | string) => {
      const r = await api(h, 'POST', '/v1/audiences', { name: unique('bad'), type: 'COMBINE', combine });
      assert.equal(r.body.error?.code, code, JSON.stringify(r.body));
      assert.match(r.body.error.field ?? '', typeof field === 'string' ? new RegExp(field.replace(/[[\].]/g, '\\$&')) : field);
    };
    await refuse({ include: [[mine, 999_999]] }, 'AudienceNotFound', 'combine.include[0][1]');
    await refuse({ include: [[mine]], exclude: [[theirs]] }, 'AudienceNotFound', 'combine.exclude[0][0]');
    await refuse({ include: [[empty]] }, 'AudienceNotReady', 'combine.include[0][0]');
    await refuse({ include: [Array.from({ length: 501 }, (_, i) => i + 1)] }, 'InvalidParameter', /^combine$/);
    await refuse({ include: [] }, 'InvalidParameter', 'combine.include');
    assert.equal((await api(h, 'GET', '/v1/audiences?limit=500')).body.items.length, before, 'no refused request made an audience');
    // Itself and cycles arise when a COMBINE is redefined.
    const c1 = (await builtAudience(h, { name: unique('c1'), type: 'COMBINE', combine: { include: [[mine]] } })).id;
    const c2 = (await builtAudience(h, { name: unique('c2'), type: 'COMBINE', combine: { include: [[c1]] } })).id;
    const self = await api(h, 'POST', `/v1/audiences/${c1}/changes`, { operation: 'combine', combine: { include: [[mine, c1]] } });
    assert.equal(self.body.error?.code, 'InvalidParameter');
    assert.match(self.body.error.message, /itself/);
    const cycle = await api(h, 'POST', `/v1/audiences/${c1}/changes`, { operation: 'combine', combine: { include: [[c2]] } });
    assert.equal(cycle.body.error?.code, 'InvalidParameter');
    assert.match(cycle.body.error.message, /cycle/);
    assert.equal((await api(h, 'GET', `/v1/audiences/${c1}/changes`)).body.items.length, 1, 'no refused change was recorded');
  });

  define('bad files end in ERROR with a reason, keep no version and leave no object', async (h) => {
    const objectsBefore = await serviceObjects(h);
    const cases: Array<[string, string | Buffer, Record<string, unknown>, RegExp]> = [
      ['none-valid.txt', 'hello\nworld\n', { id_type: 'phone_md5' }, /no line of the file is a valid phone_md5/],
      ['wrong-type.txt', lines(phones(0, 20)), { id_type: 'idfa' }, /valid idfa/],
      ['no-column.csv', 'a,b\n1,2\n', { id_type: 'phone', csv: { column: 'mobile' } }, /mobile/],
      ['blank.txt', '\n\n  \n', { id_type: 'phone' }, /holds no ids/],
    ];
    for (const [name, content, file, reason] of cases) {
      const up = await uploadText(h, name, content);
      const a = await builtAudience(h, { name: unique('bad'), files: [{ upload_id: up, ...file }] });
      assert.equal(a.status, 'ERROR', `${name}: ${JSON.stringify(a)}`);
      assert.match(a.error.message, reason, name);
      assert.equal(a.version, 0);
      assert.equal(a.size, null);
      assert.equal(a.last_change.status, 'ERROR');
      assert.equal((await api(h, 'GET', `/v1/audiences/${a.id}/versions`)).body.items.length, 0);
    }
    assert.deepEqual(await serviceObjects(h), objectsBefore, 'no bitmap or staging object was left');
  });

  define('a staged file (what the service received itself) builds like an upload and is deleted when its change finishes; a refused request deletes it too', async (h) => {
    const before = await serviceObjects(h);
    const acct = h.account.id;
    const file = await h.app.audiences.stage(acct, 1, Buffer.from(['mobile,x', ...phones(0, 30).map((p) => `${p},1`)].join('\n') + '\n'), { name: 'list.csv' });
    assert.ok((await serviceObjects(h)).some((f) => f.endsWith(file.objectKey)), 'staged in the store');
    const made = await h.app.audiences.create(acct, { name: unique('staged'), staged: [{ ...file, idType: 'phone', csv: { column: 'mobile' } }] });
    const done = await finishedChange(h, made.audience.id, made.change!.id);
    assert.equal(done.status, 'SUCCESS', JSON.stringify(done));
    assert.equal(done.size, 30);
    assert.deepEqual(done.inputs.files, [{ staged_file: 'list.csv', bytes: file.bytes, id_type: 'phone', csv: { column: 'mobile' } }]);
    const removed = await h.app.audiences.stage(acct, 1, Buffer.from(lines(phones(0, 10))), { name: 'drop.txt' });
    const change = await h.app.audiences.change(acct, made.audience.id, { operation: 'remove', staged: [{ ...removed, idType: 'phone' }] });
    assert.equal((await finishedChange(h, made.audience.id, change.id)).size, 20);

    // Each refusal deletes what it was given: the caller never cleans up.
    const one = () => h.app.audiences.stage(acct, 1, Buffer.from('13800000000\n'));
    await assert.rejects(h.app.audiences.create(acct, { name: made.audience.name, staged: [{ ...(await one()), idType: 'phone' }] }), /already exists/);
    await assert.rejects(h.app.audiences.create(acct, { name: unique('bad-type'), staged: [{ ...(await one()), idType: 'no_such_type' }] }), /not an id type/);
    await assert.rejects(h.app.audiences.change(acct, made.audience.id, { operation: 'combine', staged: [{ ...(await one()), idType: 'phone' }] }), /COMBINE/);
    const after = await serviceObjects(h);
    assert.deepEqual(after.filter((f) => f.includes('/staging/')), before.filter((f) => f.includes('/staging/')), 'no staging object is left');
  });

  define('inline ids holding a NUL byte or a line break, an unknown id type or an upload of another account are refused naming the field; nothing is created', async (h) => {
    const before = (await api(h, 'GET', '/v1/audiences?limit=500')).body.items.length;
    const other = await h.newAccount(unique('owner'));
    const theirs = await uploadText(h, 'theirs.txt', lines(phones(0, 3)), { secret: other.secret });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ ids: { id_type: 'phone', values: ['13800000000', 'a\u0000b'] } }, 'InvalidParameter', 'ids.values[1]'],
      [{ ids: { id_type: 'phone', values: ['13800000000\n13800000001'] } }, 'InvalidParameter', 'ids.values[0]'],
      [{ ids: { id_type: 'phone_number', values: ['13800000000'] } }, 'InvalidParameter', 'ids.id_type'],
      [{ files: [{ upload_id: theirs, id_type: 'phone' }] }, 'UploadNotFound', 'files[0].upload_id'],
    ];
    for (const [body, code, field] of cases) {
      const r = await api(h, 'POST', '/v1/audiences', { name: unique('refused'), ...body });
      assert.deepEqual([r.status >= 400, r.body.error?.code, r.body.error?.field], [true, code, field], JSON.stringify(r.body));
    }
    assert.equal((await api(h, 'GET', '/v1/audiences?limit=500')).body.items.length, before);
  });

  define('a long line, a Latin-1 line and a line of the wrong shape are counted and sampled; the good lines make the audience', async (h) => {
    const good = phones(0, 10);
    const content = Buffer.concat([Buffer.from(lines(good.slice(0, 5))), Buffer.from('x'.repeat(1 << 20) + '\n'), Buffer.from('13800000099\xe9\n', 'latin1'), Buffer.from(lines(good.slice(5)))]);
    const up = await uploadText(h, 'mixed.txt', content);
    const a = await builtAudience(h, { name: unique('mixed'), files: [{ upload_id: up, id_type: 'phone' }] });
    assert.equal(a.status, 'SUCCESS', JSON.stringify(a));
    assert.equal(a.size, 10);
    const rep = a.last_change.reports[0].report;
    assert.equal(rep.invalid_lines, 2);
    assert.deepEqual(rep.samples.map((s: { line: number }) => s.line), [6, 7]);
    assert.match(rep.samples[0].reason, /longer than/);
    assert.match(rep.samples[1].reason, /UTF-8/);
  });

  define('a failed append keeps the last good version and SUCCESS; the change says why', async (h) => {
    const a = await builtAudience(h, { name: unique('keep'), ids: { id_type: 'phone', values: phones(0, 10) } });
    const up = await uploadText(h, 'junk.txt', 'junk\n');
    const failed = await changeAudience(h, a.id, { operation: 'append', files: [{ upload_id: up, id_type: 'phone' }] });
    assert.equal(failed.status, 'ERROR');
    assert.match(failed.error.message, /no line of the file is a valid phone/);
    assert.equal(failed.reports[0].report.invalid_lines, 1);
    const after = (await api(h, 'GET', `/v1/audiences/${a.id}`)).body;
    assert.deepEqual([after.status, after.version, after.size, after.last_change.status], ['SUCCESS', 1, 10, 'ERROR']);
  });

  define('names are unique per account, an external id makes creation idempotent, rename and list filters work', async (h) => {
    const name = unique('named');
    const first = await createAudience(h, { name, external_id: `ext-${name}`, ids: { id_type: 'phone', values: phones(0, 3) } });
    const again = await api(h, 'POST', '/v1/audiences', { name: unique('other-name'), external_id: `ext-${name}`, ids: { id_type: 'phone', values: phones(0, 3) } });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.id);
    const dup = await api(h, 'POST', '/v1/audiences', { name, ids: { id_type: 'phone', values: phones(0, 3) } });
    assert.deepEqual([dup.status, dup.body.error.code, dup.body.error.field], [409, 'AudienceNameTaken', 'name']);
    const other = await h.newAccount(unique('acct'));
    assert.equal((await api(h, 'POST', '/v1/audiences', { name }, other.secret)).status, 201, 'another account may use the name');
    const renamed = await api(h, 'PATCH', `/v1/audiences/${first.id}`, { name: `${name}-renamed`, description: 'buyers' });
    assert.deepEqual([renamed.status, renamed.body.name, renamed.body.description], [200, `${name}-renamed`, 'buyers']);
    const found = await api(h, 'GET', `/v1/audiences?name=${encodeURIComponent(`${name}-ren`)}`);
    assert.deepEqual(found.body.items.map((a: { id: number }) => a.id), [first.id]);
    assert.equal((await api(h, 'GET', `/v1/audiences/${first.id}`, undefined, other.secret)).status, 404, "another account cannot read it");
  });

  define('deleting an audience deletes its bitmaps', async (h) => {
    const a = await builtAudience(h, { name: unique('doomed'), ids: { id_type: 'phone', values: phones(0, 5) } });
    await changeAudience(h, a.id, { operation: 'append', ids: { id_type: 'phone', values: phones(5, 9) } });
    const mine = async () => (await serviceObjects(h)).filter((f) => f.includes(`/audiences/${h.account.id}/${a.id}/`));
    assert.equal((await mine()).length, 2);
    assert.equal((await api(h, 'DELETE', `/v1/audiences/${a.id}`)).status, 204);
    assert.equal((await api(h, 'GET', `/v1/audiences/${a.id}`)).status, 404);
    h.clock.offsetMs += h.config.audiences.retireGraceMs + 1000;
    try {
      assert.deepEqual(await mine(), []);
    } finally {
      h.clock.offsetMs -= h.config.audiences.retireGraceMs + 1000;
    }
  });

  define('versions past the number kept are retired: listed with retired_at, unreadable, and their bitmaps deleted after the grace period', async (h) => {
    const keep = h.config.audiences.keepVersions;
    const a = await builtAudience(h, { name: unique('aging'), ids: { id_type: 'phone', values: phones(0, 1) } });
    for (let v = 2; v <= keep + 1; v++) await changeAudience(h, a.id, { operation: 'append', ids: { id_type: 'phone', values: phones(v, v + 1) } });
    const versions = (await api(h, 'GET', `/v1/audiences/${a.id}/versions`)).body.items as Array<{ version: number; retired_at: string | null }>;
    assert.deepEqual(versions.filter((v) => v.retired_at !== null).map((v) => v.version), [1]);
    assert.equal(versions.length, keep + 1);
    const bitmaps = async () => (await serviceObjects(h)).filter((f) => f.includes(`/audiences/${h.account.id}/${a.id}/`)).length;
    assert.equal(await bitmaps(), keep + 1, 'a retired bitmap stays through the grace period');
    h.clock.offsetMs += h.config.audiences.retireGraceMs + 1000;
    try {
      assert.equal(await bitmaps(), keep);
    } finally {
      h.clock.offsetMs -= h.config.audiences.retireGraceMs + 1000;
    }
  });

  define('export writes a gzip of hashed ids of the chosen type with a download link', async (h) => {
    const ids = phones(0, 25);
    const a = await builtAudience(h, { name: unique('export'), ids: { id_type: 'phone', values: ids } });
    const raw = await api(h, 'POST', `/v1/audiences/${a.id}/exports`, { id_type: 'phone' });
    assert.equal(raw.body.error?.code, 'InvalidParameter', 'raw ids are never stored, so cannot be exported');
    const started = await api(h, 'POST', `/v1/audiences/${a.id}/exports`, { id_type: 'phone_sha256' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await waitFor('export', async () => {
      const r = await api(h, 'GET', `/v1/exports/${started.body.id}`);
      return r.body.status === 'SUCCESS' || r.body.status === 'ERROR' ? r.body : undefined;
    });
    assert.equal(done.status, 'SUCCESS', JSON.stringify(done));
    assert.equal(done.lines, 25);
    const file = await fetch(done.url);
    assert.equal(file.status, 200);
    const got = gunzipSync(Buffer.from(await file.arrayBuffer())).toString().trim().split('\n').sort();
    assert.deepEqual(got, ids.map(sha256hex).sort());
  });

  define('every change is a job listed through the API with its subject and outcome', async (h) => {
    const a = await builtAudience(h, { name: unique('jobs'), ids: { id_type: 'phone', values: phones(0, 3) } });
    const jobs = await api(h, 'GET', `/v1/jobs?subject=audience:${a.id}`);
    assert.equal(jobs.status, 200);
    assert.equal(jobs.body.items.length, 1);
    const job = jobs.body.items[0];
    assert.deepEqual([job.id, job.kind, job.status, job.attempts], [a.last_change.job_id, 'audience-change', 'done', 1]);
    assert.equal((await api(h, 'GET', `/v1/jobs/${job.id}`)).body.id, job.id);
    const other = await h.newAccount(unique('nosy'));
    assert.equal((await api(h, 'GET', `/v1/jobs/${job.id}`, undefined, other.secret)).status, 404);
  });

  define('changes made while one runs are worked in order, one at a time', async (h) => {
    const a = await createAudience(h, { name: unique('queue'), ids: { id_type: 'phone', values: phones(0, 100) } });
    const c1 = (await api(h, 'POST', `/v1/audiences/${a.id}/changes`, { operation: 'remove', ids: { id_type: 'phone', values: phones(0, 50) } })).body;
    const c2 = (await api(h, 'POST', `/v1/audiences/${a.id}/changes`, { operation: 'append', ids: { id_type: 'phone', values: phones(0, 10) } })).body;
    const done2 = await finishedChange(h, a.id, c2.id);
    const done1 = await finishedChange(h, a.id, c1.id);
    assert.deepEqual([done1.version, done1.size, done2.version, done2.size], [2, 50, 3, 60]);
  });
}
