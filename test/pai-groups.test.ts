// The PAI audience-group dialect (seed 004) over real HTTP: the seed's own
// request shapes against our host under /api/PaiPlugin/2022-01-12, every
// validation rule the seed states, the 100 QPS ceiling, and usage metering.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CODES } from '../src/http/dialects/pai/errors.js';
import { waitFor } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';
import { createGroup, pai, type Pai } from './support/pai.js';
import { api, lines, phones, uploadText } from './support/audiences.js';

const create = createGroup;

function ok(r: Pai) {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.ErrorCode, 0, JSON.stringify(r.body));
  assert.equal(r.body.ErrorMessage, 'OK');
  assert.match(r.body.RequestId, /^[0-9a-f-]{36}$/);
  return r.body.Data;
}

/** GetGroup until the group has left PENDING/PROCESSING. */
async function settled(h: Harness, id: string, secret?: string) {
  return waitFor(`group ${id}`, async () => {
    const g = ok(await pai(h, 'GET', `/GetGroup?Id=${id}`, { secret }));
    return g.Status === 0 || g.Status === 3 ? g : undefined;
  }, 30_000);
}

describe('PAI audience groups', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ jobs: true });
  });
  after(async () => h?.close());

  test('CreateGroup from text (the seed example shape), GetGroup follows the engine to ready', async () => {
    const text = phones(0, 3).join('\n');
    const g = ok(await create(h, { Name: 'VIP customers', Source: 0, Text: text, PhoneNumber: true, Remark: 'top up over 100k' }));
    assert.match(g.Id, /^\d+$/);
    assert.equal(g.Name, 'VIP customers');
    assert.equal(g.Remark, 'top up over 100k');
    assert.equal(g.Source, 0);
    assert.equal(g.PhoneNumber, true);
    assert.equal(g.Text, '1380000****,1380000****,1380000****', 'numbers are kept and shown masked');
    assert.ok([1, 2].includes(g.Status), `pending or processing at first, got ${g.Status}`);
    assert.match(g.CreatedTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    for (const k of ['Algorithm', 'Amount', 'Column', 'Filter', 'InferenceJobId', 'Project', 'Table', 'UpdatedTime', 'Uri']) assert.ok(k in g, k);
    const done = await settled(h, g.Id);
    assert.equal(done.Status, 0);
    assert.equal(done.Amount, 3);
    // The audience underneath is the same one the native API shows.
    const native = await api(h, 'GET', `/v1/audiences/${g.Id}`);
    assert.equal(native.body.name, 'VIP customers');
    assert.equal(native.body.description, 'top up over 100k');
  });

  test('a text of non-phone ids (PhoneNumber false) is typed id by id', async () => {
    const g = ok(await create(h, { Name: 'emails', Source: 0, Text: 'a@example.com, b@example.com;c@example.com', PhoneNumber: false }));
    const done = await settled(h, g.Id);
    assert.equal(done.Status, 0, JSON.stringify(done));
    assert.equal(done.Amount, 3);
    assert.equal(done.PhoneNumber, false);
  });

  test('CreateGroup from a text file by its data path, in either scheme', async () => {
    const id = await uploadText(h, 'phones.txt', lines(phones(0, 5)));
    const up = (await api(h, 'GET', `/v1/uploads/${id}`)).body;
    const dataPath: string = up.data_path;
    const g = ok(await create(h, { Name: 'from file', Source: 1, Uri: dataPath, PhoneNumber: true }));
    assert.equal(g.Uri, dataPath);
    assert.equal((await settled(h, g.Id)).Amount, 5);
    const other = dataPath.startsWith('s3://') ? dataPath.replace(/^s3:/, 'oss:') : dataPath.replace(/^oss:/, 's3:');
    const g2 = ok(await create(h, { Name: 'from file, other scheme', Source: 1, Uri: other, PhoneNumber: true }));
    assert.equal((await settled(h, g2.Id)).Amount, 5);
  });

  test('CreateGroup from a CSV file by its ResourceUrl and Column', async () => {
    const id = await uploadText(h, 'phones.csv', 'name,phone\n' + phones(0, 4).map((p, i) => `u${i},${p}`).join('\n') + '\n');
    const url = `${h.url}/resource/phones.csv?sig=1`;
    await h.app.uploads.setResourceUrl(id, url);
    const g = ok(await create(h, { Name: 'from csv', Source: 2, Uri: url, Column: 'phone', PhoneNumber: true }));
    assert.equal(g.Column, 'phone');
    const done = await settled(h, g.Id);
    assert.equal(done.Status, 0, JSON.stringify(done));
    assert.equal(done.Amount, 4);
  });

  test('ListGroups: filters, pages from 1, 10 a page by default', async () => {
    const acct = await h.newAccount('pai-list');
    const made: string[] = [];
    for (let i = 0; i < 12; i++) {
      const g = ok(await create(h, { Name: `list-${i}`, Source: 0, Text: phones(i, i + 1)[0], PhoneNumber: i % 2 === 0, Remark: i < 3 ? 'gold tier' : 'plain' }, acct.secret));
      made.push(g.Id);
    }
    await settled(h, made[made.length - 1], acct.secret);
    for (const id of made) await settled(h, id, acct.secret);
    const first = ok(await pai(h, 'GET', '/ListGroups', { secret: acct.secret }));
    assert.equal(first.TotalCount, 12);
    assert.equal(first.PageNumber, 1);
    assert.equal(first.PageSize, 10);
    assert.equal(first.Groups.length, 10);
    const second = ok(await pai(h, 'GET', '/ListGroups?PageNumber=2&PageSize=10', { secret: acct.secret }));
    assert.equal(second.Groups.length, 2);
    const all = [...first.Groups, ...second.Groups].map((g: any) => g.Id).sort();
    assert.deepEqual(all, [...made].sort(), 'the pages cover every group once');
    const byName = ok(await pai(h, 'GET', '/ListGroups?Name=list-1', { secret: acct.secret }));
    assert.deepEqual(byName.Groups.map((g: any) => g.Name).sort(), ['list-1', 'list-10', 'list-11']);
    const byRemark = ok(await pai(h, 'GET', '/ListGroups?Remark=gold', { secret: acct.secret }));
    assert.equal(byRemark.TotalCount, 3);
    const phonesOnly = ok(await pai(h, 'GET', '/ListGroups?PhoneNumber=true&PageSize=100', { secret: acct.secret }));
    assert.equal(phonesOnly.TotalCount, 6);
    assert.ok(phonesOnly.Groups.every((g: any) => g.PhoneNumber === true));
    assert.equal(ok(await pai(h, 'GET', '/ListGroups?Source=0', { secret: acct.secret })).TotalCount, 12);
    assert.equal(ok(await pai(h, 'GET', '/ListGroups?Source=1', { secret: acct.secret })).TotalCount, 0);
    assert.equal(ok(await pai(h, 'GET', '/ListGroups?Status=0', { secret: acct.secret })).TotalCount, 12);
    assert.equal(ok(await pai(h, 'GET', '/ListGroups?Status=3', { secret: acct.secret })).TotalCount, 0);
    const wild = ok(await pai(h, 'GET', '/ListGroups?Name=%25', { secret: acct.secret }));
    assert.equal(wild.TotalCount, 0, 'a % in the filter is a literal, not a wildcard');
    // Another account sees none of them.
    assert.equal(ok(await pai(h, 'GET', '/ListGroups')).Groups.every((g: any) => !made.includes(g.Id)), true);
  });

  test('DeleteGroup by the seed path, and by Id in the query; then GetGroup answers 404', async () => {
    const g = ok(await create(h, { Name: 'to delete', Source: 0, Text: '13800000001', PhoneNumber: true }));
    const d = ok(await pai(h, 'DELETE', `/DeleteGroup/${g.Id}`));
    assert.equal(d.Id, g.Id);
    const gone = await pai(h, 'GET', `/GetGroup?Id=${g.Id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.ErrorCode, 404);
    assert.equal(gone.body.Data, null);
    assert.equal((await api(h, 'GET', `/v1/audiences/${g.Id}`)).status, 404, 'the audience went with it');
    const g2 = ok(await create(h, { Name: 'to delete 2', Source: 0, Text: '13800000002', PhoneNumber: true }));
    ok(await pai(h, 'DELETE', `/DeleteGroup?Id=${g2.Id}`));
    const again = await pai(h, 'DELETE', `/DeleteGroup/${g2.Id}`);
    assert.equal(again.body.ErrorCode, 404);
  });

  test('another account cannot read, list or delete a group', async () => {
    const g = ok(await create(h, { Name: 'private', Source: 0, Text: '13800000003', PhoneNumber: true }));
    const other = await h.newAccount('pai-other');
    assert.equal((await pai(h, 'GET', `/GetGroup?Id=${g.Id}`, { secret: other.secret })).body.ErrorCode, 404);
    assert.equal((await pai(h, 'DELETE', `/DeleteGroup/${g.Id}`, { secret: other.secret })).body.ErrorCode, 404);
    ok(await pai(h, 'GET', `/GetGroup?Id=${g.Id}`));
  });

  test('Bearer auth: missing or unknown keys are refused in the PAI envelope', async () => {
    const none = await pai(h, 'GET', '/ListGroups', { secret: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.ErrorCode, 401);
    assert.equal(typeof none.body.RequestId, 'string');
    const bad = await pai(h, 'GET', '/ListGroups', { secret: 'nope' });
    assert.equal(bad.body.ErrorCode, 401);
    const unknown = await pai(h, 'GET', '/NoSuchAction');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.ErrorCode, 404);
  });

  describe('every validation rule of the seed', () => {
    const foreignUri = 'oss://someone-elses-bucket/folder/file.txt';
    const cases: Array<{ name: string; method?: string; path?: string; body?: Record<string, unknown>; code: number; match: RegExp }> = [
      { name: 'text over 100 numbers', body: { Name: 'v1', Source: 0, Text: phones(0, 101).join('\n'), PhoneNumber: true }, code: 400, match: /101 ids; at most 100/ },
      { name: 'text missing for source 0', body: { Name: 'v2', Source: 0, PhoneNumber: true }, code: 400, match: /Text is required/ },
      { name: 'text of separators only', body: { Name: 'v2b', Source: 0, Text: ' ,\n ' }, code: 400, match: /Text holds no ids/ },
      { name: 'missing Uri for source 1', body: { Name: 'v3', Source: 1, PhoneNumber: true }, code: 400, match: /Uri is required when Source is 1/ },
      { name: 'missing Uri for source 2', body: { Name: 'v4', Source: 2, Column: 'phone' }, code: 400, match: /Uri is required when Source is 2/ },
      { name: 'missing Column for CSV', body: { Name: 'v5', Source: 2, Uri: 's3://x/y.csv', PhoneNumber: true }, code: 400, match: /Column is required when Source is 2/ },
      { name: 'missing Source', body: { Name: 'v6', Text: '13800000000' }, code: 400, match: /Source is required/ },
      { name: 'unknown Source', body: { Name: 'v7', Source: 9, Text: '13800000000' }, code: 400, match: /Source 9 is not one of/ },
      { name: 'Source not an integer', body: { Name: 'v8', Source: 'text' }, code: 400, match: /Source must be an integer/ },
      { name: 'PhoneNumber not a boolean', body: { Name: 'v9', Source: 0, Text: '1', PhoneNumber: 'yes' }, code: 400, match: /PhoneNumber must be true or false/ },
      { name: 'algorithm → NotAvailable', body: { Name: 'v10', Source: 4, Algorithm: 'user_recall', InferenceJobId: 'j1' }, code: 501, match: /Source 4 \(algorithm\).*not available/ },
      { name: 'table → not configured', body: { Name: 'v11', Source: 3, Project: 'p', Table: 't', Column: 'phone', Filter: 'ds=20220101' }, code: 403, match: /Source 3 \(table\): no table source is configured/ },
      { name: 'Uri in a bucket not ours', body: { Name: 'v12', Source: 1, Uri: foreignUri, PhoneNumber: true }, code: 403, match: /no permission to read/ },
      { name: 'Uri of no upload of ours', body: { Name: 'v13', Source: 1, Uri: 'https://bucket.region.aliyuncs.com/folder/file', PhoneNumber: true }, code: 403, match: /no permission to read/ },
      { name: 'Uri not a URI', body: { Name: 'v14', Source: 1, Uri: '/etc/passwd', PhoneNumber: true }, code: 400, match: /Uri must be oss:\/\// },
      { name: 'GetGroup without Id', method: 'GET', path: '/GetGroup', code: 400, match: /Id is required/ },
      { name: 'GetGroup over 1,000 characters', method: 'GET', path: `/GetGroup?Id=1&pad=${'x'.repeat(1000)}`, code: 400, match: /at most 1000/ },
      { name: 'GetGroup of an unknown Id', method: 'GET', path: '/GetGroup?Id=0bddaf8f-5628-427a-8652-5e24f6b4c35d', code: 404, match: /does not exist/ },
      { name: 'DeleteGroup without Id', method: 'DELETE', path: '/DeleteGroup', code: 400, match: /Id is required/ },
      { name: 'PageNumber 0', method: 'GET', path: '/ListGroups?PageNumber=0', code: 400, match: /PageNumber starts at 1/ },
      { name: 'PageSize 0', method: 'GET', path: '/ListGroups?PageSize=0', code: 400, match: /PageSize must be 1 to 100/ },
      { name: 'PageSize over 100', method: 'GET', path: '/ListGroups?PageSize=101', code: 400, match: /PageSize must be 1 to 100/ },
      { name: 'PageNumber not an integer', method: 'GET', path: '/ListGroups?PageNumber=two', code: 400, match: /PageNumber must be an integer/ },
      { name: 'Status filter unknown', method: 'GET', path: '/ListGroups?Status=7', code: 400, match: /Status 7 is not one of/ },
      { name: 'Source filter unknown', method: 'GET', path: '/ListGroups?Source=5', code: 400, match: /Source 5 is not one of/ },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        const r = await pai(h, c.method ?? 'POST', c.path ?? '/CreateGroup', { body: c.body });
        assert.equal(r.body.ErrorCode, c.code, JSON.stringify(r.body));
        assert.equal(r.status, c.code, 'the HTTP status is the ErrorCode');
        assert.equal(r.body.Data, null);
        assert.match(r.body.ErrorMessage, c.match);
      });
    }

    test('a Uri naming an upload that has not completed', async () => {
      const r0 = await api(h, 'POST', '/v1/uploads', { file_name: 'later.txt' });
      const r = await create(h, { Name: 'v15', Source: 1, Uri: r0.body.upload.data_path, PhoneNumber: true });
      assert.equal(r.body.ErrorCode, 400);
      assert.match(r.body.ErrorMessage, /only a READY upload/);
    });

    test("a Uri naming another account's upload is refused like a foreign one", async () => {
      const other = await h.newAccount('pai-uri-owner');
      const id = await uploadText(h, 'theirs.txt', lines(phones(0, 2)), { secret: other.secret });
      const theirs = (await api(h, 'GET', `/v1/uploads/${id}`, undefined, other.secret)).body.data_path;
      const r = await create(h, { Name: 'v16', Source: 1, Uri: theirs, PhoneNumber: true });
      assert.equal(r.body.ErrorCode, 403);
    });

    test('nothing is left behind by a refused create', async () => {
      const list = ok(await pai(h, 'GET', '/ListGroups?Name=v1&PageSize=100'));
      assert.deepEqual(list.Groups.filter((g: any) => /^v\d+$/.test(g.Name)), []);
    });
  });

  test('CreateGroup and DeleteGroup: 100 calls a second per account, then 429', async () => {
    const acct = await h.newAccount('pai-qps');
    // The ceiling counts calls, whatever their outcome. The service's clock
    // stands still through each burst, so that all 101 fall in one second
    // however loaded the machine is.
    h.clock.frozenAtMs = h.app.now();
    const rs = await Promise.all(Array.from({ length: 101 }, () => create(h, { Source: 9 }, acct.secret))).finally(() => {
      h.clock.frozenAtMs = undefined;
    });
    const codes = rs.map((r) => r.body.ErrorCode);
    assert.equal(codes.filter((c) => c === 429).length, 1, JSON.stringify(codes));
    assert.equal(codes.filter((c) => c === 400).length, 100);
    const limited = rs.find((r) => r.body.ErrorCode === 429)!;
    assert.equal(limited.status, 429);
    assert.match(limited.body.ErrorMessage, /100 calls per second/);
    // Other accounts and other calls are not held back.
    assert.equal((await create(h, { Source: 9 })).body.ErrorCode, 400);
    ok(await pai(h, 'GET', '/ListGroups', { secret: acct.secret }));
    h.clock.frozenAtMs = h.app.now();
    const ds = await Promise.all(Array.from({ length: 101 }, () => pai(h, 'DELETE', '/DeleteGroup/999999', { secret: acct.secret }))).finally(() => {
      h.clock.frozenAtMs = undefined;
    });
    assert.equal(ds.filter((r) => r.body.ErrorCode === 429).length, 1);
  });

  test('usage: failed creates and deletes are counted, failed gets are not; GET /v1/usage reports them', async () => {
    const acct = await h.newAccount('pai-usage');
    const g = ok(await create(h, { Name: 'metered', Source: 0, Text: '13800000000', PhoneNumber: true }, acct.secret));
    assert.equal((await create(h, { Name: 'bad', Source: 4 }, acct.secret)).body.ErrorCode, 501);
    assert.equal((await create(h, { Name: 'bad', Source: 0, Text: phones(0, 101).join(',') }, acct.secret)).body.ErrorCode, 400);
    ok(await pai(h, 'GET', `/GetGroup?Id=${g.Id}`, { secret: acct.secret }));
    assert.equal((await pai(h, 'GET', '/GetGroup?Id=424242', { secret: acct.secret })).body.ErrorCode, 404);
    assert.equal((await pai(h, 'GET', '/GetGroup', { secret: acct.secret })).body.ErrorCode, 400);
    assert.equal((await pai(h, 'DELETE', '/DeleteGroup/424242', { secret: acct.secret })).body.ErrorCode, 404);
    ok(await pai(h, 'DELETE', `/DeleteGroup/${g.Id}`, { secret: acct.secret }));
    ok(await pai(h, 'GET', '/ListGroups', { secret: acct.secret }));
    // Unauthenticated calls have no account to count against.
    await pai(h, 'POST', '/CreateGroup', { body: { Source: 9 }, secret: null });

    const r = await api(h, 'GET', '/v1/usage', undefined, acct.secret);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const u = r.body;
    assert.equal(u.month, new Date().toISOString().slice(0, 7));
    const line = (a: string) => u.items.find((l: any) => l.api === a);
    assert.deepEqual({ ok: line('pai.CreateGroup').ok, failed: line('pai.CreateGroup').failed }, { ok: 1, failed: 2 });
    assert.deepEqual({ ok: line('pai.GetGroup').ok, failed: line('pai.GetGroup').failed }, { ok: 1, failed: 0 });
    assert.deepEqual({ ok: line('pai.DeleteGroup').ok, failed: line('pai.DeleteGroup').failed }, { ok: 1, failed: 1 });
    assert.equal(line('pai.ListGroups').billable, false);
    assert.equal(u.billable_calls, 6);
    assert.equal(u.free_calls, 1000);
    assert.equal(u.free_calls_used, 6);
    assert.equal(u.charged_calls, 0);
    assert.equal(u.amount, 0);
    assert.equal((await api(h, 'GET', '/v1/usage?month=2020-01', undefined, acct.secret)).body.billable_calls, 0);
    assert.equal((await api(h, 'GET', '/v1/usage?month=2020-13', undefined, acct.secret)).status, 400);
  });

  test('usage: past the 1,000 free calls a month, calls are charged', async () => {
    const acct = await h.newAccount('pai-usage-free');
    for (let i = 0; i < 1003; i++) await h.app.usage.record(acct.id, 'pai.GetGroup', 'ok');
    const u = (await api(h, 'GET', '/v1/usage', undefined, acct.secret)).body;
    assert.equal(u.billable_calls, 1003);
    assert.equal(u.free_calls_used, 1000);
    assert.equal(u.charged_calls, 3);
    assert.equal(u.amount, 0.003);
  });
});

test('docs/errors.md has a PAI section listing every row of the PAI error map', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('PAI'));
  assert.ok(section, 'docs/errors.md has a "## PAI" section');
  const rows = section.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split('|').map((c) => c.trim()));
  const missing = Object.entries(CODES).filter(([ours, n]) => !rows.some((r) => r.includes(`\`${ours}\``) && r.includes(String(n))));
  assert.deepEqual(missing, []);
});
