// The other parameters of the pre-signed upload call: a missing or malformed
// area_type or file_md5 is refused with code 400 naming the parameter.
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
const cases: Array<[string, string, RegExp]> = [
  ['area_type missing', `file_name=t.txt&file_md5=${md}`, /area_type/],
  ['area_type not a number', `area_type=one&file_name=t.txt&file_md5=${md}`, /area_type/],
  ['area_type of no cluster', `area_type=3&file_name=t.txt&file_md5=${md}`, /area_type/],
  ['file_md5 missing', 'area_type=1&file_name=t.txt', /file_md5/],
  ['file_md5 not 32 hex digits', 'area_type=1&file_name=t.txt&file_md5=xyz', /file_md5/],
  ['file_md5 one digit short', `area_type=1&file_name=t.txt&file_md5=${md.slice(1)}`, /file_md5/],
];

for (const [what, qs, names] of cases) {
  test(`${what} is refused with code 400 naming the parameter`, async () => {
    const res = await mintegralPresign(h, qs);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 400);
    assert.match(res.body.msg, names);
    assert.equal((await listAll(h)).length, 0, 'no upload was issued');
  });
}

test('an upper-case file_md5 is accepted and answered in lower case', async () => {
  const res = await mintegralPresign(h, { area_type: '1', file_name: 't.txt', file_md5: md.toUpperCase() });
  assert.equal(res.body.code, 200, JSON.stringify(res.body));
  assert.equal(res.body.data.file_md5, md);
});
