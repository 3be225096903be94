// Seed 000, area_type=2: the pre-signed upload call answers the documented
// OSS shape, and the documented PostObject command
//   curl --request POST '{host}' --form 'key="{dir}"' --form 'OSSAccessKeyId="{accessid}"'
//        --form 'policy="{policy}"' --form 'signature="{signature}"'
//        --form 'success_action_status="200"' --form 'file=@"{path}"'
// (run with the real curl binary) stores the file under data.oss.data_path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { md5, mintegralPresign, objectFile, seedCurlPost, serviceSeconds, tempFiles, uploadByDataPath } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-seed-oss-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test('area_type=2 answers the seed response shape: data {area_type, file_name, file_md5, ttl 300, oss {method POST, accessid, host, expire, signature, policy, dir, data_path}}', async () => {
  const content = 'id\n1\n';
  const res = await mintegralPresign(h, { area_type: '2', file_name: 'test.txt', file_md5: md5(content) });
  assert.equal(res.status, 200);
  assert.equal(res.body.code, 200);
  assert.equal(res.body.msg, 'success');
  const d = res.body.data;
  assert.deepEqual(Object.keys(d).sort(), ['area_type', 'file_md5', 'file_name', 'oss', 'ttl']);
  assert.equal(d.area_type, 2);
  assert.equal(d.file_name, 'test.txt');
  assert.equal(d.file_md5, md5(content));
  assert.equal(d.ttl, 300);
  const o = d.oss;
  assert.deepEqual(Object.keys(o).sort(), ['accessid', 'data_path', 'dir', 'expire', 'host', 'method', 'policy', 'signature'].sort());
  assert.equal(o.method, 'POST');
  for (const f of ['accessid', 'host', 'signature', 'policy', 'dir', 'data_path']) assert.equal(typeof o[f], 'string', f);
  assert.ok(Number.isInteger(o.expire), 'expire is an integer timestamp');
  // Seconds, not milliseconds: ttl seconds from now.
  assert.ok(Math.abs(o.expire - (serviceSeconds(h) + 300)) <= 2, `expire ${o.expire}`);
  assert.equal(o.host, `${h.url}/audiencehub-cn`);
  assert.ok(o.dir.endsWith('/test.txt'));
  assert.equal(o.data_path, `oss://audiencehub-cn/${o.dir}`);
  // The policy is base64 JSON naming the exact key, as OSS expects.
  const policy = JSON.parse(Buffer.from(o.policy, 'base64').toString('utf8'));
  assert.ok(Array.isArray(policy.conditions));
  assert.equal(Math.floor(Date.parse(policy.expiration) / 1000), o.expire, 'expire is the policy expiration');
});

test("the seed's curl --form PostObject command uploads the file; the upload is READY with its MD5 and size under data_path", async () => {
  const content = Array.from({ length: 500 }, (_, i) => `8a5b0c1d2e3f4a5b6c7d8e9f0a1b${String(i).padStart(4, '0')}`).join('\n') + '\n';
  const path = join(dir, 'audience.txt');
  writeFileSync(path, content);
  const o = (await mintegralPresign(h, { area_type: '2', file_name: 'audience.txt', file_md5: md5(content) })).body.data.oss;

  assert.equal((await uploadByDataPath(h, o.data_path)).status, 'PENDING');
  const out = await seedCurlPost(o, path);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '', 'success_action_status 200 answers an empty body (an error would print its XML here)');

  const u = await uploadByDataPath(h, o.data_path);
  assert.equal(u.status, 'READY');
  assert.equal(u.md5, md5(content));
  assert.equal(u.size, Buffer.byteLength(content));
  assert.equal(u.format, 'text');
  assert.equal(u.cluster_id, 2);
  assert.equal(u.storage_key, o.dir);
  assert.equal(readFileSync(objectFile(h, u), 'utf8'), content);
  assert.deepEqual(tempFiles(h), []);
});
