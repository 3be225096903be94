// `audiencehub account create --name NAME --json` and the `key` commands, run
// for real as child processes against the data folder of a running service
// (the CLI works on the folder directly, like createuser on a database
// server). What they print must work against the service at once.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { cli, createUploadUrl, native, ROOT } from './support/vendor-clients.js';

let h: Harness;
let created: { account: { id: string; name: string; status: string; createdAt: string }; key: { access_key_id: string; secret: string } };

before(async () => {
  h = await startHarness();
  const r = await cli(['account', 'create', '--name', 'CLI Made', '--json', '--data-dir', h.config.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  created = JSON.parse(r.stdout);
});
after(() => h.close());

const dir = () => ['--data-dir', h.config.dataDir];

test('account create --json prints the account id and one key pair', () => {
  assert.deepEqual(Object.keys(created).sort(), ['account', 'key']);
  assert.match(created.account.id, /^[1-9]\d{9}$/);
  assert.equal(created.account.name, 'CLI Made');
  assert.equal(created.account.status, 'active');
  assert.deepEqual(Object.keys(created.key).sort(), ['access_key_id', 'secret']);
  assert.match(created.key.access_key_id, /^AHK[A-Z0-9]{21}$/);
  assert.match(created.key.secret, /^[A-Za-z0-9]{40}$/);
});

test('the printed key pair works against the running service at once, and is the only key of the account', async () => {
  const me = await native(h, 'GET', '/v1/account', created.key.secret);
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal(me.body.id, created.account.id);
  const keys = await native(h, 'GET', '/v1/keys', created.key.secret);
  assert.deepEqual(keys.body.items.map((k: { id: string }) => k.id), [created.key.access_key_id]);
  const tc = await createUploadUrl(h, { accessKeyId: created.key.access_key_id, secret: created.key.secret });
  assert.equal(tc.ok, true, JSON.stringify(tc));
});

describe('with the account made', { concurrency: true }, () => {
  test('a second account create with the same name fails (exit 2, AccountExists naming the name) and creates nothing', async () => {
    const r = await cli(['account', 'create', '--name', 'CLI Made', '--json', ...dir()]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^audiencehub: AccountExists: an account named "CLI Made" already exists\n$/);
    assert.equal((await h.app.accounts.list()).filter((a) => a.name === 'CLI Made').length, 1);
  });

  test('key create, rotate, revoke and list: the CLI changes what the service accepts', async () => {
    const acct = ['--account', created.account.id];
    const made = await cli(['key', 'create', ...acct, '--json', ...dir()]);
    assert.equal(made.code, 0, made.stderr);
    const second = JSON.parse(made.stdout) as { access_key_id: string; secret: string };
    assert.equal((await native(h, 'GET', '/v1/account', second.secret)).status, 200);

    const [rotated, revoked] = await Promise.all([
      cli(['key', 'rotate', ...acct, created.key.access_key_id, '--json', ...dir()]),
      cli(['key', 'revoke', ...acct, second.access_key_id, '--json', ...dir()]),
    ]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(revoked.code, 0, revoked.stderr);
    const fresh = JSON.parse(rotated.stdout) as { access_key_id: string; secret: string; revoked: string };
    assert.equal(fresh.revoked, created.key.access_key_id);
    assert.deepEqual(JSON.parse(revoked.stdout), { revoked: second.access_key_id });

    for (const old of [created.key.secret, second.secret]) {
      const r = await native(h, 'GET', '/v1/account', old);
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, 'RevokedKey');
    }
    assert.equal((await native(h, 'GET', '/v1/account', fresh.secret)).status, 200);

    const listed = await cli(['key', 'list', ...acct, '--json', ...dir()]);
    assert.equal(listed.code, 0, listed.stderr);
    const items = JSON.parse(listed.stdout).items as Array<{ id: string; status: string; revokedAt: string | null }>;
    assert.deepEqual(
      items.map((k) => [k.id, k.status]).sort(),
      [
        [created.key.access_key_id, 'revoked'],
        [second.access_key_id, 'revoked'],
        [fresh.access_key_id, 'active'],
      ].sort(),
    );
    assert.ok(!listed.stdout.includes(fresh.secret));
  });

  test('key commands on an account that does not exist fail with AccountNotFound (exit 2)', async () => {
    const r = await cli(['key', 'create', '--account', '1000000000', '--json', ...dir()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /AccountNotFound/);
  });

  const built = existsSync(join(ROOT, 'dist', 'cli', 'main.js'));
  test('the built bin/audiencehub.js does the same (needs `npm run build`)', { skip: !built && 'dist/ is not built' }, async () => {
    const r = await cli(['account', 'create', '--name', 'Built CLI', '--json', ...dir()], { built: true });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.account.name, 'Built CLI');
    const me = await native(h, 'GET', '/v1/account', out.key.secret);
    assert.equal(me.body.id, out.account.id);
  });
});
