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
