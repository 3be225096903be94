// Object keys on the wire cannot climb out of the store: `..` segments,
// percent-encoded dots and slashes, backslashes and NUL bytes in a store URL
// are refused before any signature or disk path is looked at, signed or not,
// and nothing outside the data folder is touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { presignS3Url } from '../src/protocols/s3-sigv4.js';
import { startHarness, type Harness } from './support/harness.js';
import { allObjectFiles, httpRequest, postSignedOssForm, xmlCode, xmlMessage } from './support/front-door.js';

let h: Harness;
let outside: string;
let victim: string;
let climb: string;
before(async () => {
  h = await startHarness();
  // A folder beside the data folder with a file a traversal would reach.
  outside = mkdtempSync(join(tmpdir(), 'ah-outside-'));
  victim = join(outside, 'victim.txt');
  writeFileSync(victim, 'untouched\n');
  // From objects/<bucket>/ up to the temp folder and into `outside`.
  climb = relative(join(h.config.dataDir, 'objects', 'audiencehub-intl'), outside);
  assert.match(climb, /^\.\.\/\.\.\/\.\.\//);
});
after(async () => {
  await h.close();
  rmSync(outside, { recursive: true, force: true });
});

function unchanged() {
  assert.equal(readFileSync(victim, 'utf8'), 'untouched\n');
  assert.equal(existsSync(join(outside, 'new.txt')), false);
  assert.deepEqual(allObjectFiles(h), []);
}

const enc = (s: string) => s.replace(/\./g, '%2e').replace(/\//g, '%2F');

test('PUT, GET and POST to /audiencehub-intl/../../etc/passwd are refused naming the key', async () => {
  for (const method of ['PUT', 'GET', 'POST', 'DELETE']) {
    const r = await httpRequest(h, method, '/audiencehub-intl/../../etc/passwd', method === 'PUT' || method === 'POST' ? 'owned\n' : undefined);
    assert.equal(r.status, 400, `${method}: ${r.body}`);
    assert.equal(xmlCode(r.body), 'InvalidArgument');
    assert.match(xmlMessage(r.body)!, /object key/);
    assert.doesNotMatch(r.body, /root:/);
  }
  unchanged();
});

test('every spelling of a climb to a file outside the data folder is refused', async () => {
  const paths = [
    `/audiencehub-intl/${climb}/victim.txt`,
    `/audiencehub-intl/${climb}/new.txt`,
    `/audiencehub-intl/${climb.replace(/\.\./g, '%2e%2e')}/victim.txt`,
    `/audiencehub-intl/${climb.replace(/\.\./g, '%2E%2E')}/new.txt`,
    `/audiencehub-intl/${enc(climb)}%2Fvictim.txt`,
    `/audiencehub-intl/x/${climb.replace(/\//g, '%5C')}%5Cvictim.txt`,
    `/audiencehub-intl/./x/victim.txt`,
    `/audiencehub-intl//${climb}/victim.txt`,
    `/audiencehub-intl/x%00/victim.txt`,
    `/audiencehub-intl/${outside}/victim.txt`.replace('//', '/'),
  ];
  for (const p of paths) {
    const put = await httpRequest(h, 'PUT', p, 'owned\n');
    assert.ok(put.status === 400 || put.status === 403, `${p}: ${put.status} ${put.body}`);
    const get = await httpRequest(h, 'GET', p);
    assert.ok(get.status >= 400, `${p}: GET ${get.status}`);
    assert.doesNotMatch(get.body, /untouched/, `${p} leaked the file`);
  }
  unchanged();
});

test('a climbing key is refused even when correctly signed with the store credential', async () => {
  const cred = h.app.storeCredentials.forBucket('audiencehub-intl');
  for (const key of [`${climb}/new.txt`, '../../etc/passwd', `a/../../${basename(outside)}/new.txt`]) {
    const url = presignS3Url({ method: 'PUT', endpoint: h.url, bucket: 'audiencehub-intl', key, region: 'us-east-1', accessKeyId: cred.accessKeyId, secretAccessKey: cred.secret, expiresSeconds: 300, now: new Date(h.app.now()) });
    const r = await httpRequest(h, 'PUT', url.slice(h.url.length), 'owned\n');
    assert.equal(r.status, 400, `${key}: ${r.body}`);
    assert.equal(xmlCode(r.body), 'InvalidArgument');
  }
  unchanged();
});

test('an OSS form whose key climbs is refused, even with a policy signed for that key', async () => {
  const key = `${relative(join(h.config.dataDir, 'objects', 'audiencehub-cn'), outside)}/new.txt`;
  assert.deepEqual(await postSignedOssForm(h, key, 'owned\n'), { status: 403, code: 'AccessDenied' });
  unchanged();
});
