import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.js';

test('defaults: port 8080 on loopback, two disk clusters, 5 GiB uploads, 300 s Mintegral ttl', () => {
  const c = loadConfig({}, {});
  assert.equal(c.port, 8080);
  assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
  assert.deepEqual(c.clusters.map((x) => [x.id, x.backend]), [[1, 'disk'], [2, 'disk']]);
  assert.equal(c.uploads.maxBytes, 5 * 1024 ** 3);
  assert.equal(c.mintegral.ttlSeconds, 300);
  assert.deepEqual(c.tencentCloud.regions, ['ap-bangkok', 'ap-hongkong', 'ap-singapore']);
});

test('flags beat environment, which beats the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ah-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ port: 7000, uploads: { maxBytes: 1000 } }));
  assert.equal(loadConfig({ config: file }, {}).port, 7000);
  assert.equal(loadConfig({ config: file }, {}).uploads.maxBytes, 1000);
  assert.equal(loadConfig({ config: file }, { AUDIENCEHUB_PORT: '7001' }).port, 7001);
  assert.equal(loadConfig({ config: file, port: '7002' }, { AUDIENCEHUB_PORT: '7001' }).port, 7002);
  assert.equal(loadConfig({ config: file, port: '7002' }, {}).publicUrl, 'http://127.0.0.1:7002');
});

test('invalid configuration is refused with the key named', () => {
  assert.throws(() => loadConfig({ port: 'abc' }, {}), /port/);
  const dir = mkdtempSync(join(tmpdir(), 'ah-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ clusters: [{ id: 1, name: 'a', backend: 'disk', bucket: 'docs', region: 'x' }] }));
  assert.throws(() => loadConfig({ config: file }, {}), /reserved/);
  writeFileSync(file, JSON.stringify({ clusters: [{ id: 1, name: 'a', backend: 's3', bucket: 'bucket-a', region: 'x' }] }));
  assert.throws(() => loadConfig({ config: file }, {}), /s3/);
  const s3 = { region: 'x', accessKeyId: 'a', secretAccessKey: 'b' };
  writeFileSync(file, JSON.stringify({ clusters: [{ id: 1, name: 'a', backend: 's3', bucket: 'bucket-a', region: 'x', s3 }, { id: 2, name: 'b', backend: 'disk', bucket: 'bucket-b', region: 'y' }] }));
  assert.throws(() => loadConfig({ config: file }, {}), /tencentCloud.clusterId names cluster 1, which uses the s3 backend/);
});

test('database.url: PostgreSQL from flag or environment, with a master key; SQLite without a url', () => {
  assert.equal(loadConfig({}, {}).database.url, undefined);
  const key = Buffer.alloc(32, 1).toString('base64');
  const url = 'postgres://u@127.0.0.1:5432/ah';
  assert.equal(loadConfig({}, { AUDIENCEHUB_DATABASE_URL: url, AUDIENCEHUB_MASTER_KEY: key }).database.url, url);
  assert.equal(loadConfig({ databaseUrl: `${url}2` }, { AUDIENCEHUB_DATABASE_URL: url, AUDIENCEHUB_MASTER_KEY: key }).database.url, `${url}2`);
  assert.throws(() => loadConfig({ databaseUrl: url }, {}), /master key/);
  assert.throws(() => loadConfig({ databaseUrl: 'mysql://x/y' }, { AUDIENCEHUB_MASTER_KEY: key }), /postgres/);
});

test('tables: no sources by default, a 100 M row cap; sources are checked whole at start-up', () => {
  assert.deepEqual(loadConfig({}, {}).tables, { maxRows: 100_000_000, sources: {} });
  const dir = mkdtempSync(join(tmpdir(), 'ah-config-'));
  const file = join(dir, 'c.json');
  const withTables = (tables: unknown) => {
    writeFileSync(file, JSON.stringify({ tables }));
    return loadConfig({ config: file }, {});
  };
  const c = withTables({
    maxRows: 5000,
    sources: {
      crm: { kind: 'sqlite', path: 'crm.db', accounts: ['*'] },
      dw: { kind: 'postgres', url: 'postgres://reader@db:5432/dw', schema: ['public', 'sales'], accounts: ['1001', 1002] },
      idle: { kind: 'sqlite', path: '/data/idle.db' },
    },
  });
  assert.equal(c.tables.maxRows, 5000);
  assert.equal(c.tables.sources.crm.path, join(process.cwd(), 'crm.db'), 'a relative path is resolved at start-up');
  assert.deepEqual(c.tables.sources.dw.accounts, ['1001', '1002']);
  assert.equal(c.tables.sources.idle.accounts, undefined, 'without accounts, no account may read it');
  assert.throws(() => withTables({ sources: { crm: { kind: 'mysql', path: 'x' } } }), /tables.sources.crm.kind must be "sqlite" or "postgres"/);
  assert.throws(() => withTables({ sources: { crm: { kind: 'sqlite' } } }), /tables.sources.crm.path is required/);
  assert.throws(() => withTables({ sources: { crm: { kind: 'sqlite', path: 'x', acounts: ['*'] } } }), /tables.sources.crm.acounts is not a key of a table source/);
  assert.throws(() => withTables({ sources: { dw: { kind: 'postgres', url: 'mysql://x/y' } } }), /tables.sources.dw.url must be a postgres/);
  assert.throws(() => withTables({ sources: { dw: { kind: 'postgres', url: 'postgres://x/y', schema: [] } } }), /tables.sources.dw.schema/);
  assert.throws(() => withTables({ sources: { crm: { kind: 'sqlite', path: 'x', accounts: '*' } } }), /tables.sources.crm.accounts must be a list/);
  assert.throws(() => withTables({ sources: { crm: { kind: 'sqlite', path: 'x', accounts: ['acme'] } } }), /"acme" is neither an account id nor "\*"/);
  assert.throws(() => withTables({ sources: { 'no spaces': { kind: 'sqlite', path: 'x' } } }), /an alias is 1 to 64 letters/);
  assert.throws(() => withTables({ maxRows: 0 }), /tables.maxRows must be a positive integer/);
});

test('events: GMT+8 days and a 30-day KEYWORD window by default; a file changes either, and a wrong value is refused by its key', () => {
  assert.deepEqual(loadConfig({}, {}).events, { utcOffsetMinutes: 480, keywordWindowDays: 30 });
  const dir = mkdtempSync(join(tmpdir(), 'ah-config-'));
  const file = join(dir, 'c.json');
  const withEvents = (events: unknown) => {
    writeFileSync(file, JSON.stringify({ events }));
    return loadConfig({ config: file }, {});
  };
  assert.deepEqual(withEvents({ keywordWindowDays: 7 }).events, { utcOffsetMinutes: 480, keywordWindowDays: 7 });
  assert.throws(() => withEvents({ keywordWindowDays: 0 }), /events.keywordWindowDays must be a whole number of days from 1 to 365/);
  assert.throws(() => withEvents({ keywordWindowDays: 400 }), /events.keywordWindowDays/);
  assert.throws(() => withEvents({ utcOffsetMinutes: 900 }), /events.utcOffsetMinutes/);
});
