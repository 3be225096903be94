// PAI CreateGroup Source 3 over real HTTP: audiences from tables the operator
// configured (config `tables.sources`), on a SQLite file this test makes and
// on a real PostgreSQL table. The seed's error cases (unknown Project 404,
// not allowed 403, unknown table or column 404, bad Filter 400), injection
// attempts refused with the table intact, read-only sessions, the row cap,
// and nothing kept after any refusal: no audience, no group row, no staging
// object.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { TableSources } from '../src/domain/tables/sources.js';
import { allObjectFiles, bucketOf, closeHarness, waitFor } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';
import { createGroup, pai, type Pai } from './support/pai.js';
import { phones } from './support/audiences.js';
import { startPostgres, stopPostgres } from './support/postgres.js';

const create = createGroup;

function ok(r: Pai) {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.ErrorCode, 0, JSON.stringify(r.body));
  return r.body.Data;
}

function refused(r: Pai, code: number, message: RegExp) {
  assert.equal(r.body.ErrorCode, code, JSON.stringify(r.body));
  assert.equal(r.status, code);
  assert.equal(r.body.Data, null);
  assert.match(r.body.ErrorMessage, message);
}

async function settled(h: Harness, id: string, secret?: string) {
  return waitFor(`group ${id}`, async () => {
    const g = ok(await pai(h, 'GET', `/GetGroup?Id=${id}`, { secret }));
    return g.Status === 0 || g.Status === 3 ? g : undefined;
  }, 30_000);
}

/** The first file report of the group's last change: what ingest counted. */
async function reportOf(h: Harness, id: string) {
  const change = await h.app.audiences.lastChange(Number(id));
  return change!.reports[0].report!;
}

/** Nothing of the account's refused creates is left: no audience, no group row, no staging object once the trash is swept. */
async function assertNothingKept(h: Harness, accountId: string) {
  assert.deepEqual(await h.app.db.selectFrom('audiences').select('id').where('account_id', '=', accountId).execute(), []);
  assert.deepEqual(await h.app.db.selectFrom('pai_groups').select('audience_id').where('account_id', '=', accountId).execute(), []);
  const held = await h.app.db.selectFrom('object_trash').select(['object_key', 'delete_after']).where('object_key', 'like', `staging/${accountId}/%`).execute();
  assert.ok(held.every((r) => Number(r.delete_after) <= h.app.now()), `every staging object of the account is due for deletion: ${JSON.stringify(held)}`);
  await h.app.trash.sweep();
  const left = allObjectFiles(h).filter((f) => f.includes(join(bucketOf(h, 1), 'staging', accountId)));
  assert.deepEqual(left, []);
}

// ---- The SQLite database the operator points a source at. ----

const dir = mkdtempSync(join(tmpdir(), 'ah-tables-'));
const crm = join(dir, 'crm.db');
const LINE_BREAK = `${phones(100, 101)[0]}\n${phones(101, 102)[0]}`;

function makeCrm() {
  const db = new SQLite(crm);
  db.exec(`
    create table users (id integer primary key, phone text, ds text, tier text);
    create table Numbers (Phone integer);
    create table x (v text);
    insert into x values ('keep me');
  `);
  const add = db.prepare('insert into users (phone, ds, tier) values (?, ?, ?)');
  phones(0, 10).forEach((p, i) => add.run(p, '20220101', i < 4 ? 'gold' : 'plain'));
  phones(10, 15).forEach((p) => add.run(p, '20220102', 'plain'));
  add.run(phones(10, 11)[0], '20220102', 'plain'); // a duplicate
  add.run(null, '20220102', 'plain'); // no phone: not read
  add.run('not-a-phone', '20220102', 'plain');
  add.run(LINE_BREAK, '20220102', 'plain'); // one value, never two ids
  add.run(`${phones(102, 103)[0]},${phones(103, 104)[0]}`, '20220102', 'plain');
  const num = db.prepare('insert into Numbers values (?)');
  for (const p of phones(20, 23)) num.run(BigInt(p));
  db.close();
}

function crmCounts() {
  const db = new SQLite(crm, { readonly: true });
  try {
    return { users: (db.prepare('select count(*) n from users').get() as { n: number }).n, x: (db.prepare('select count(*) n from x').get() as { n: number }).n };
  } finally {
    db.close();
  }
}

describe('PAI CreateGroup Source 3 on SQLite', () => {
  let h: Harness;
  before(async () => {
    makeCrm();
    h = await startHarness({
      jobs: true,
      patch: (c) => {
        c.tables.sources = {
          crm: { kind: 'sqlite', path: crm, accounts: ['*'] },
          // Written down without accounts: no account may read it.
          closed: { kind: 'sqlite', path: crm },
          others: { kind: 'sqlite', path: crm, accounts: ['1000000001'] },
          missing: { kind: 'sqlite', path: join(dir, 'no-such.db'), accounts: ['*'] },
        };
      },
    });
  });
  after(async () => {
    if (h) await closeHarness(h);
    rmSync(dir, { recursive: true, force: true });
  });

  test('without Filter: every non-null value of the column, GetGroup and ListGroups show the source', async () => {
    const g = ok(await create(h, { Name: 'crm all', Source: 3, Project: 'crm', Table: 'users', Column: 'phone', PhoneNumber: true }));
    assert.equal(g.Source, 3);
    assert.deepEqual([g.Project, g.Table, g.Column, g.Filter], ['crm', 'users', 'phone', '']);
    const done = await settled(h, g.Id);
    assert.equal(done.Status, 0, JSON.stringify(done));
    assert.equal(done.Amount, 15, 'phones 0 to 14, the duplicate once');
    const report = await reportOf(h, g.Id);
    // not-a-phone, the value with a line break and the one with a comma: each one invalid line.
    assert.equal(report.invalidLines, 3, JSON.stringify(report));
    assert.equal(report.validLines, 16);
    const listed = ok(await pai(h, 'GET', '/ListGroups?Source=3&Name=crm%20all')).Groups;
    assert.equal(listed.length, 1);
    assert.deepEqual([listed[0].Project, listed[0].Table, listed[0].Column, listed[0].Amount], ['crm', 'users', 'phone', 15]);
  });

  test("with PAI's Filter example ds=20220101", async () => {
    const g = ok(await create(h, { Name: 'crm day one', Source: 3, Project: 'crm', Table: 'users', Column: 'phone', Filter: 'ds=20220101', PhoneNumber: true }));
    assert.equal(g.Filter, 'ds=20220101');
    const done = await settled(h, g.Id);
    assert.equal(done.Status, 0, JSON.stringify(done));
    assert.equal(done.Amount, 10);
    assert.equal(done.Filter, 'ds=20220101');
    assert.equal((await reportOf(h, g.Id)).invalidLines, 0);
  });

  test('Filter with AND, OR, IN, BETWEEN, LIKE and NOT; names in any case', async () => {
    const cases: Array<[string, number]> = [
      ["tier = 'gold' OR ds BETWEEN '20220102' AND '20220102'", 4 + 5],
      ["TIER IN ('gold') AND NOT ds <> '20220101'", 4],
      ["phone LIKE '1380000000_' AND ds = 20220101", 10],
      ["ds = '20220102' AND phone NOT LIKE '%,%'", 5],
    ];
    for (const [i, [filter, amount]] of cases.entries()) {
      const g = ok(await create(h, { Name: `crm filter ${i}`, Source: 3, Project: 'crm', Table: 'USERS', Column: 'Phone', Filter: filter, PhoneNumber: true }));
      const done = await settled(h, g.Id);
      assert.equal(done.Status, 0, `${filter}: ${JSON.stringify(done)}`);
      assert.equal(done.Amount, amount, filter);
    }
  });

  test('an INTEGER column is read exactly; PhoneNumber false types each value by its shape', async () => {
    const g = ok(await create(h, { Name: 'crm numbers', Source: 3, Project: 'crm', Table: 'numbers', Column: 'phone', PhoneNumber: false }));
    const done = await settled(h, g.Id);
    assert.equal(done.Status, 0, JSON.stringify(done));
    assert.equal(done.Amount, 3);
    assert.equal(done.PhoneNumber, false);
  });

  describe("the seed's errors, and nothing kept", () => {
    let acct: { id: string; secret: string };
    before(async () => {
      acct = await h.newAccount('pai-table-refusals');
    });
    const base = { Source: 3, Project: 'crm', Table: 'users', Column: 'phone', PhoneNumber: true };
    const cases: Array<{ name: string; body: Record<string, unknown>; code: number; match: RegExp }> = [
      { name: 'unknown Project', body: { Project: 'nope' }, code: 404, match: /^Project nope is not a table source of this deployment/ },
      { name: 'Project without accounts', body: { Project: 'closed' }, code: 403, match: /^this account may not read Project closed/ },
      { name: 'Project open to other accounts', body: { Project: 'others' }, code: 403, match: /may not read Project others/ },
      { name: 'unknown Table', body: { Table: 'nope' }, code: 404, match: /^Table: Project crm has no table nope/ },
      { name: 'SQLite internals are no table', body: { Table: 'sqlite_master', Column: 'name' }, code: 404, match: /^Table: Project crm has no table sqlite_master/ },
      { name: 'unknown Column', body: { Column: 'nope' }, code: 404, match: /^Column: table users has no column nope/ },
      { name: 'Project missing', body: { Project: undefined }, code: 400, match: /Project is required when Source is 3/ },
      { name: 'Table missing', body: { Table: '' }, code: 400, match: /Table is required when Source is 3/ },
      { name: 'Column missing', body: { Column: undefined }, code: 400, match: /Column is required when Source is 3/ },
      { name: 'Filter not parsed', body: { Filter: 'ds = = 1' }, code: 400, match: /^Filter: at character 6, expected a number or a 'quoted' string, found =/ },
      { name: 'Filter on an unknown column', body: { Filter: "region = 'x'" }, code: 400, match: /^Filter: at character 1, .*the table has no column region/ },
      { name: 'Filter over 4,000 characters', body: { Filter: `ds = '${'x'.repeat(4000)}'` }, code: 400, match: /Filter is 4007 characters; at most 4000/ },
      { name: 'Filter matching no row', body: { Filter: "tier LIKE 'G%'" }, code: 400, match: /^no row of table users matches Filter with a value in phone/ },
      { name: 'injection: a second statement', body: { Filter: '1=1; DROP TABLE x' }, code: 400, match: /^Filter: at character 1, expected a column name or \(, found the number 1/ },
      { name: 'injection: a tautology and a comment', body: { Filter: "ds = '' OR 1=1 --" }, code: 400, match: /^Filter: at character 12, expected a column name or \(/ },
      { name: 'injection: a subquery', body: { Filter: '(SELECT 1)' }, code: 400, match: /^Filter: at character 2, .*found the SQL keyword SELECT/ },
      { name: 'injection: a statement after a valid condition', body: { Filter: 'ds = 1; DELETE FROM users' }, code: 400, match: /found a semicolon/ },
      { name: 'injection: through Table', body: { Table: 'users; DROP TABLE x' }, code: 404, match: /has no table users; DROP TABLE x/ },
      { name: 'injection: through Column', body: { Column: 'phone FROM users; DROP TABLE x; --' }, code: 404, match: /has no column phone FROM users/ },
      { name: 'a database file that is not there', body: { Project: 'missing' }, code: 500, match: /table source missing could not be read/ },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        const r = await create(h, { Name: `refused ${c.name}`, ...base, ...c.body }, acct.secret);
        refused(r, c.code, c.match);
      });
    }

    test(`past tables.maxRows the read is refused`, async () => {
      const before = h.config.tables.maxRows;
      h.config.tables.maxRows = 12;
      try {
        refused(await create(h, { Name: 'too many', ...base }, acct.secret), 400, /^Table: table users has more than 12 rows with a value in phone; a read takes at most 12 \(tables.maxRows\): narrow it with Filter/);
        refused(await create(h, { Name: 'too many filtered', ...base, Filter: 'ds >= 0' }, acct.secret), 400, /^table users has more than 12 rows with a value in phone matching Filter/);
        // At the cap exactly, it is read.
        const g = ok(await create(h, { Name: 'at the cap', ...base, Filter: "ds = '20220101'" }, acct.secret));
        await pai(h, 'DELETE', `/DeleteGroup/${g.Id}`, { secret: acct.secret });
      } finally {
        h.config.tables.maxRows = before;
      }
    });

    test('a taken Name is refused before the table is read', async () => {
      const g = ok(await create(h, { Name: 'taken', ...base, Filter: "tier = 'gold'" }, acct.secret));
      refused(await create(h, { Name: 'taken', ...base }, acct.secret), 400, /already exists/);
      assert.equal((await settled(h, g.Id, acct.secret)).Amount, 4);
      ok(await pai(h, 'DELETE', `/DeleteGroup/${g.Id}`, { secret: acct.secret }));
    });

    test('the table is intact, and nothing of any refusal is kept', async () => {
      assert.deepEqual(crmCounts(), { users: 20, x: 1 });
      await assertNothingKept(h, acct.id);
    });

    test('failed creates are metered', async () => {
      const u = await h.app.usage.report(acct.id);
      const line = u.items.find((l) => l.api === 'pai.CreateGroup')!;
      assert.equal(line.ok, 2);
      assert.equal(line.failed, cases.length + 3);
    });
  });

  test('the accounts list of a source is honoured, account by account', async () => {
    const sources = new TableSources({ maxRows: 100, sources: { s: { kind: 'sqlite', path: crm, accounts: ['42', '43'] } } });
    try {
      const read = await sources.open('42', { project: 's', table: 'users', column: 'phone', filter: "tier = 'gold'" });
      const values: unknown[] = [];
      for await (const b of read.batches()) values.push(...b);
      assert.deepEqual(values.sort(), phones(0, 4));
      await assert.rejects(sources.open('44', { project: 's', table: 'users', column: 'phone' }), { code: 'Forbidden', field: 'Project' });
    } finally {
      await sources.close();
    }
  });
});

describe('PAI CreateGroup Source 3 on PostgreSQL', () => {
  const state: { h?: Harness; url?: string; skip: string } = { skip: 'SKIPPED: PostgreSQL was not started' };
  before(async () => {
    const server = await startPostgres();
    if (!server.ok) {
      state.skip = server.skip;
      return;
    }
    const url = await server.server.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('create table people (id serial primary key, mobile text, ds text, n integer)');
      for (const [i, p] of phones(30, 40).entries()) await c.query('insert into people (mobile, ds, n) values ($1, $2, $3)', [p, i < 6 ? '20220101' : '20220102', i]);
      await c.query('insert into people (mobile, ds, n) values (null, $1, 99)', ['20220101']);
      await c.query('create schema sales');
      await c.query('create table sales.orders (buyer bigint)');
      for (const p of phones(50, 54)) await c.query('insert into sales.orders values ($1)', [p]);
      await c.query('create schema secret');
      await c.query('create table secret.t (phone text)');
      await c.query(`insert into secret.t values ('13800000001')`);
      // A view that writes when read: a read-only session refuses it.
      await c.query('create table audit (at timestamptz)');
      await c.query(`create function sneaky() returns text language plpgsql as $$ begin insert into audit values (now()); return '13800000099'; end $$`);
      await c.query('create view sneaky_view as select sneaky() as phone');
    } finally {
      await c.end();
    }
    state.url = url;
    state.h = await startHarness({
      jobs: true,
      patch: (cfg) => {
        cfg.tables.sources = { dw: { kind: 'postgres', url, schema: ['public', 'sales'], accounts: ['*'] } };
      },
    });
  });
  after(async () => {
    if (state.h) await closeHarness(state.h);
    await stopPostgres();
  });

  const pgTest = (name: string, fn: (h: Harness) => Promise<void>) =>
    test(name, async (t) => {
      if (!state.h) return t.skip(state.skip);
      await fn(state.h);
    });

  pgTest('a PostgreSQL table with and without Filter; schema.table for a listed schema', async (h) => {
    const g = ok(await create(h, { Name: 'dw day one', Source: 3, Project: 'dw', Table: 'people', Column: 'mobile', Filter: 'ds=20220101', PhoneNumber: true }));
    const done = await settled(h, g.Id);
    assert.equal(done.Status, 0, JSON.stringify(done));
    assert.equal(done.Amount, 6, 'a number compared with a text column: PostgreSQL types the parameter from the column');
    assert.deepEqual([done.Project, done.Table, done.Column, done.Filter], ['dw', 'people', 'mobile', 'ds=20220101']);

    const all = ok(await create(h, { Name: 'dw all', Source: 3, Project: 'dw', Table: 'People', Column: 'MOBILE', PhoneNumber: true }));
    assert.equal((await settled(h, all.Id)).Amount, 10);

    const ranged = ok(await create(h, { Name: 'dw ranged', Source: 3, Project: 'dw', Table: 'people', Column: 'mobile', Filter: 'n BETWEEN 2 AND 4 OR n IN (8, 9)', PhoneNumber: true }));
    assert.equal((await settled(h, ranged.Id)).Amount, 5);

    const orders = ok(await create(h, { Name: 'dw orders', Source: 3, Project: 'dw', Table: 'sales.orders', Column: 'buyer', PhoneNumber: true }));
    const o = await settled(h, orders.Id);
    assert.equal(o.Status, 0, JSON.stringify(o));
    assert.equal(o.Amount, 4, 'bigint values read as text, exactly');
  });

  pgTest('refusals on PostgreSQL; sessions are read-only', async (h) => {
    const acct = await h.newAccount('pai-pg-refusals');
    const base = { Source: 3, Project: 'dw', Table: 'people', Column: 'mobile', PhoneNumber: true };
    refused(await create(h, { Name: 'r1', ...base, Table: 'secret.t', Column: 'phone' }, acct.secret), 404, /^Table: Project dw has no table secret.t/);
    refused(await create(h, { Name: 'r2', ...base, Table: 'nope' }, acct.secret), 404, /no table nope/);
    refused(await create(h, { Name: 'r3', ...base, Column: 'nope' }, acct.secret), 404, /^Column: table public.people has no column nope/);
    refused(await create(h, { Name: 'r4', ...base, Filter: "n = 'abc'" }, acct.secret), 400, /^Filter: the database refused it: invalid input syntax for type integer/);
    refused(await create(h, { Name: 'r5', ...base, Filter: "n LIKE '1%'" }, acct.secret), 400, /^Filter: the database refused it: operator does not exist/);
    refused(await create(h, { Name: 'r6', ...base, Filter: "ds = '' OR 1=1 --" }, acct.secret), 400, /^Filter: at character 12/);
    refused(await create(h, { Name: 'r7', ...base, Table: 'sneaky_view', Column: 'phone' }, acct.secret), 403, /^Table: reading table public.sneaky_view would write to the database/);
    const c = new pg.Client({ connectionString: state.url });
    await c.connect();
    try {
      assert.equal((await c.query('select count(*)::int n from audit')).rows[0].n, 0, 'the view could not write');
      assert.equal((await c.query('select count(*)::int n from people')).rows[0].n, 11);
    } finally {
      await c.end();
    }
    await assertNothingKept(h, acct.id);
  });
});
