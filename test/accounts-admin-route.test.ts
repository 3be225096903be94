// Accounts are made by an administrator: POST /v1/admin/accounts with the
// admin token answers the account and its one key pair (the secret shown only
// then). The secret is kept sealed: neither the metadata database's columns
// nor its files hold it in the clear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startHarness, type Harness } from './support/harness.js';
import { native } from './support/vendor-clients.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const admin = (body: unknown, token = h.app.adminToken) => native(h, 'POST', '/v1/admin/accounts', token, body);

test('POST /v1/admin/accounts creates an account and exactly one key pair, which then works', async () => {
  const r = await admin({ name: 'Acme Audiences' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['account', 'key']);
  const { account, key } = r.body;
  assert.match(account.id, /^[1-9]\d{9}$/);
  assert.equal(account.name, 'Acme Audiences');
  assert.equal(account.status, 'active');
  assert.ok(Math.abs(Date.parse(account.createdAt) - Date.now()) < 60_000);
  assert.deepEqual(Object.keys(key).sort(), ['access_key_id', 'secret']);
  assert.match(key.access_key_id, /^AHK[A-Z0-9]{21}$/);
  assert.match(key.secret, /^[A-Za-z0-9]{40}$/);

  const me = await native(h, 'GET', '/v1/account', key.secret);
  assert.equal(me.status, 200);
  assert.equal(me.body.id, account.id);
  const keys = await native(h, 'GET', '/v1/keys', key.secret);
  assert.equal(keys.body.items.length, 1);
  assert.equal(keys.body.items[0].id, key.access_key_id);
  assert.equal(keys.body.items[0].status, 'active');
  // The list never shows a secret.
  assert.ok(!JSON.stringify(keys.body).includes(key.secret));
});

test('GET /v1/admin/accounts lists the accounts, without secrets', async () => {
  const r = await native(h, 'GET', '/v1/admin/accounts', h.app.adminToken);
  assert.equal(r.status, 200);
  const names = r.body.items.map((a: { name: string }) => a.name);
  assert.ok(names.includes('test-account') && names.includes('Acme Audiences'), JSON.stringify(names));
  assert.ok(!JSON.stringify(r.body).includes(h.account.secret));
});

const refusals: Array<{ name: string; token: () => string | undefined; status: number; code: string }> = [
  { name: 'no admin token', token: () => undefined, status: 401, code: 'Unauthenticated' },
  { name: 'a wrong admin token', token: () => 'aht_' + 'x'.repeat(40), status: 403, code: 'Forbidden' },
  { name: "an account's own secret", token: () => h.account.secret, status: 403, code: 'Forbidden' },
  { name: 'the admin token with one character changed', token: () => h.app.adminToken.slice(0, -1) + (h.app.adminToken.endsWith('a') ? 'b' : 'a'), status: 403, code: 'Forbidden' },
];

for (const row of refusals) {
  test(`the admin routes refuse ${row.name}: HTTP ${row.status} ${row.code}, and create nothing`, async () => {
    const before = (await h.app.accounts.list()).length;
    const create = await native(h, 'POST', '/v1/admin/accounts', row.token(), { name: `not-created-${row.status}` });
    assert.equal(create.status, row.status);
    assert.equal(create.body.error.code, row.code);
    const list = await native(h, 'GET', '/v1/admin/accounts', row.token());
    assert.equal(list.status, row.status);
    assert.equal((await h.app.accounts.list()).length, before);
  });
}

test('a second account with the same name is refused with 409 AccountExists naming the field "name"', async () => {
  assert.equal((await admin({ name: 'Twice' })).status, 201);
  const r = await admin({ name: 'Twice' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'AccountExists');
  assert.equal(r.body.error.field, 'name');
  assert.match(r.body.error.message, /Twice/);
  assert.equal((await h.app.accounts.list()).filter((a) => a.name === 'Twice').length, 1);
});

const badNames: Array<[string, unknown]> = [
  ['an empty name', ''],
  ['a name starting with a space', ' padded'],
  ['a name of 129 characters', 'n'.repeat(129)],
  ['a name with a slash', 'a/b'],
];

for (const [label, name] of badNames) {
  test(`${label} is refused with 400 InvalidParameter naming the field "name"`, async () => {
    const r = await admin({ name });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'InvalidParameter');
    assert.equal(r.body.error.field, 'name');
  });
}

test('a missing name is refused with 400 naming the field "name"', async () => {
  const r = await admin({});
  assert.equal(r.status, 400);
  assert.equal(r.body.error.field, 'name');
});

test('the secret is stored sealed: no column of any table and no byte of the database files holds it', async () => {
  const r = await admin({ name: 'Sealed Inc' });
  const { key } = r.body as { key: { access_key_id: string; secret: string } };
  // A second key, made through the API, is sealed the same way.
  const second = (await native(h, 'POST', '/v1/keys', key.secret)).body as { access_key_id: string; secret: string };
  const secrets = [key.secret, second.secret];

  const db = new Database(join(h.config.dataDir, 'metadata.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>) {
        for (const [column, value] of Object.entries(row)) {
          const text = Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
          for (const s of secrets) assert.ok(!text.includes(s), `${name}.${column} holds a secret`);
        }
      }
    }
    const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(key.access_key_id) as Record<string, string>;
    assert.equal(row.account_id, r.body.account.id);
    assert.match(row.secret_enc, /^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    // Sealed, not lost: the master key opens it (signatures need the secret itself).
    assert.equal(h.app.sealer.open(row.secret_enc), key.secret);
  } finally {
    db.close();
  }

  for (const file of readdirSync(h.config.dataDir).filter((f) => f.startsWith('metadata.sqlite'))) {
    const bytes = readFileSync(join(h.config.dataDir, file)).toString('latin1');
    for (const s of secrets) assert.ok(!bytes.includes(s), `${file} holds a secret in the clear`);
  }
});
