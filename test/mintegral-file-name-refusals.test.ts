// File names are checked when the credential is asked for: a name that could
// steer a storage key anywhere, or that no file system keeps as given, is
// refused naming file_name, and no upload is issued.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';
import { listAll, md5, mintegralPresign } from './support/front-door.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const md = md5('a\n');

const cases: Array<[string, string]> = [
  ['a parent-directory name', encodeURIComponent('..')],
  ['a name with ..', encodeURIComponent('../../etc/passwd')],
  ['a name with .. inside', encodeURIComponent('a..txt')],
  ['a slash', encodeURIComponent('dir/test.txt')],
  ['a backslash', encodeURIComponent('dir\\test.txt')],
  ['a NUL byte', 'test%00.txt'],
  ['a newline', 'test%0A.txt'],
  ['1,000 characters', 'a'.repeat(996) + '.txt'],
  ['a leading space', '%20test.txt'],
  ['a trailing space', 'test.txt%20'],
  ['an empty name', ''],
];

for (const area of ['1', '2']) {
  for (const [what, encoded] of cases) {
    test(`area_type=${area}: ${what} is refused with code 400 naming file_name`, async () => {
      const before = (await listAll(h)).length;
      const res = await mintegralPresign(h, `area_type=${area}&file_name=${encoded}&file_md5=${md}`);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 400);
      assert.match(res.body.msg, /file_name/);
      assert.equal(res.body.data, null);
      assert.equal((await listAll(h)).length, before, 'no upload was issued');
    });
  }
}

test('a missing file_name is refused naming file_name', async () => {
  const res = await mintegralPresign(h, `area_type=1&file_md5=${md}`);
  assert.equal(res.status, 400);
  assert.match(res.body.msg, /file_name.*required/);
});

test('255 bytes is the longest name accepted', async () => {
  const ok = await mintegralPresign(h, { area_type: '1', file_name: 'a'.repeat(251) + '.txt', file_md5: md });
  assert.equal(ok.body.code, 200, JSON.stringify(ok.body));
  const tooLong = await mintegralPresign(h, { area_type: '1', file_name: 'a'.repeat(252) + '.txt', file_md5: md });
  assert.equal(tooLong.body.code, 400);
  assert.match(tooLong.body.msg, /file_name.*255/);
});
