// Per-line detection names a type only when the shape (and the hint) leave one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectType } from './detect.js';
import type { Family, IdTypeName } from './types.js';

const detected: Array<[string, IdTypeName, Array<Family | IdTypeName>?]> = [
  ['someone@example.com', 'email'],
  ['+44 20 7183 8750', 'phone_e164'],
  ['13500000000', 'phone'],
  ['135 0000 0000', 'phone'],
  ['8613500000000', 'phone'],
  ['869634020728636', 'imei'],
  ['a000002c9060f7', 'imei'],
  ['10001', 'qq'],
  ['13500000000', 'qq', ['qq']],
  ['02:00:00:00:00:00', 'mac'],
  ['FF1999CD-7177-4937-A474-74937A102630', 'idfa', ['idfa']],
  ['FF1999CD-7177-4937-A474-74937A102630', 'idfv', ['idfv', 'gaid']],
  ['7268ceb0-5411-4004-b7cb-bd1fee4b6277', 'gaid', ['gaid', 'idfa']],
  ['d0d4845ae4495a83', 'android_id', ['android_id']],
  ['4dbeaa3acd2620411c7ba4fd78bb32d0', 'phone_md5', ['phone']],
  ['4DBEAA3ACD2620411C7BA4FD78BB32D0', 'imei_md5', ['imei', 'oaid_md5_sha256']],
  ['a58f9fffa86c12e6fb43f5232a46d53ef06196f4be138d185a09b1294c736c50', 'oaid_md5_sha256', ['oaid']],
  ['a58f9fffa86c12e6fb43f5232a46d53ef06196f4be138d185a09b1294c736c50', 'email_sha256', ['email']],
  ['0123456789abcdef0123456789abcdef', 'caid', ['caid']],
];

for (const [line, type, hint] of detected) {
  test(`${line} is ${type}${hint ? ` given ${hint.join(',')}` : ''}`, () => {
    assert.deepEqual(detectType(line, hint), { ok: true, type });
  });
}

const ambiguous: Array<[string, IdTypeName[], Array<Family | IdTypeName>?]> = [
  ['FF1999CD-7177-4937-A474-74937A102630', ['idfa', 'idfv', 'oaid']],
  ['7268ceb0-5411-4004-b7cb-bd1fee4b6277', ['gaid', 'oaid']],
  ['d0d4845ae4495a83', ['android_id', 'oaid']],
  ['a58f9fffa86c12e6fb43f5232a46d53ef06196f4be138d185a09b1294c736c50', ['imei_sha256', 'imei_md5_sha256'], ['imei']],
  ['a58f9fffa86c12e6fb43f5232a46d53ef06196f4be138d185a09b1294c736c50', ['phone_sha256', 'phone_e164_sha256'], ['phone']],
];

for (const [line, candidates, hint] of ambiguous) {
  test(`${line} is ambiguous${hint ? ` even given ${hint.join(',')}` : ''}`, () => {
    const r = detectType(line, hint);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.deepEqual([...r.candidates].sort(), [...candidates].sort());
      assert.match(r.reason, /could be/);
    }
  });
}

test('32 hex digits without a hint could be an MD5 of any family, never a salted hash', () => {
  const r = detectType('4dbeaa3acd2620411c7ba4fd78bb32d0');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.ok(r.candidates.includes('phone_md5') && r.candidates.includes('imei_md5') && r.candidates.includes('caid'));
    assert.ok(!r.candidates.includes('imei_salted') && !r.candidates.includes('idfa_salted'));
  }
});

test('a line that fits no type, or none the hint allows, says so', () => {
  assert.match((detectType('hello world') as { reason: string }).reason, /matches no known id type/);
  assert.match((detectType('13500000000', ['email']) as { reason: string }).reason, /none of which the hint allows/);
  assert.match((detectType('  ') as { reason: string }).reason, /empty/);
});
