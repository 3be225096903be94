// File names with characters that mean something in URLs, forms or shells
// (+ % ? # & = ; ' [ ] and non-ASCII) go through both of the seed's curl
// commands unchanged: the key, file_name and data_path keep the exact name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './support/harness.js';
import { mintegralUpload, objectFile, seedCurlPost, seedCurlPut, uploadByDataPath } from './support/front-door.js';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'ah-names-'));
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = ['a+b.txt', '100%.csv', 'q?.txt', 'x#1.txt', "it's.txt", 'a&b=c.txt', 'semi;colon.txt', '[x].txt', 'Ωmega 😀.csv', '.hidden.txt'];

for (const name of names) {
  test(`${JSON.stringify(name)} uploads through the S3 URL and the OSS form under its own name`, async () => {
    const content = `${name}\n1\n`;
    const path = join(dir, 'file.txt');
    writeFileSync(path, content);

    const s3 = await mintegralUpload(h, 1, name, content);
    assert.equal(s3.file_name, name);
    const put = await seedCurlPut(s3.s3.method, path, s3.s3.url);
    assert.equal(put.stdout, '', put.stdout);
    const u1 = await uploadByDataPath(h, s3.s3.data_path);
    assert.equal(u1.status, 'READY');
    assert.equal(u1.file_name, name);
    assert.ok(u1.data_path.endsWith(`/${name}`), u1.data_path);
    assert.equal(readFileSync(objectFile(h, u1), 'utf8'), content);

    const oss = await mintegralUpload(h, 2, name, content);
    const post = await seedCurlPost(oss.oss, path);
    assert.equal(post.stdout, '', post.stdout);
    const u2 = await uploadByDataPath(h, oss.oss.data_path);
    assert.equal(u2.status, 'READY');
    assert.ok(u2.storage_key.endsWith(`/${name}`));
  });
}
