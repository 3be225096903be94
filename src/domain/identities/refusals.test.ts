// Invalid lines are refused with a reason the person who uploaded the file can act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeLine } from './normalize.js';
import type { IdTypeName } from './types.js';

const refused: Array<[IdTypeName, string, RegExp]> = [
  ['imei', '86963402072', /14 or 15 characters, this one has 11/],
  ['imei', '8696340207286361', /14 or 15 characters, this one has 16/],
  ['imei', '86963402072863x', /only digits/],
  ['imei', 'f2d5a650733ca8c27d502b1c08da14e5', /MD5 hash; upload it as imei_md5/],
  ['idfa', 'FF1999CD71774937-A474-74937A102630', /8-4-4-4-12 with hyphens/],
  ['idfa', 'FF1999CD-7177-4937-A47474937A-102630', /8-4-4-4-12 with hyphens/],
  ['idfa', 'FF1999CD-7177-4937-A474-74937A10263Z', /8-4-4-4-12/],
  ['idfa', 'FF1999CD7177 4937A47474937A102630', /8-4-4-4-12/],
  ['idfa', 'FF1999CD71774937A47474937A102630', /what an MD5 hash looks like; upload it as idfa_md5/],
  ['idfa', '00000000-0000-0000-0000-000000000000', /limited ad tracking/],
  ['gaid', '00000000-0000-0000-0000-000000000000', /limited ad tracking/],
  ['oaid', '00000000-0000-0000-0000-000000000000', /tracking off/],
  ['oaid', 'short', /16 to 64 characters, this one has 5/],
  ['mac', '02:00:00:00:00', /6 groups of 2 hex digits/],
  ['mac', '00:00:00:00:00:00', /all-zero/],
  ['android_id', '9774d56d682e549c', /share/],
  ['android_id', 'xyz', /8 to 16 hex digits/],
  ['phone', '1350000000', /11 digits, this one has 10/],
  ['phone', '135000000001', /11 digits, this one has 12/],
  ['phone', '23500000000', /starts with 13 to 19/],
  ['phone', '1350000000a', /only digits/],
  ['phone', '+85291234567', /not a mainland China \(\+86\) number; upload it as phone_e164/],
  ['phone_e164', '13500000000', /starts with \+ and the country code/],
  ['phone_e164', '+12345', /7 to 15 digits after the \+, this one has 5/],
  ['phone_e164', '+0123456789', /country code does not start with 0/],
  ['email', 'someone.example.com', /one @/],
  ['email', 'someone@example', /domain with a dot/],
  ['email', 'some one@example.com', /spaces/],
  ['qq', '0123456', /5 to 11 digits/],
  ['wx_openid', 'o-short', /8 to 128/],
  ['phone_md5', '4dbeaa3acd2620411c7ba4fd78bb32dz', /contains "z", which is not a hex digit/],
  ['phone_md5', '13500000000', /expects 32 hex digits \(an MD5\), this value has 11/],
  ['phone_md5', '4dbeaa3acd2620411c7ba4fd78bb32d', /expects 32 hex digits \(an MD5\), this value has 31/],
  ['imei_md5', 'd64db6590359b386397db4d8a61dbc8fbd586b8a0b822ee6bc19316402d583b4', /this value has 64; 64 hex digits would fit imei_sha256 or imei_md5_sha256/],
  ['oaid_md5_sha256', '83e9158a4fb54c0e1ef0b238639a23ae', /expects 64 hex digits \(a SHA-256 of an MD5\), this value has 32; 32 hex digits would fit oaid_md5/],
  ['email_sha256', 'not hex at all', /contains "n", which is not a hex digit/],
  ['phone', '', /empty/],
  ['phone', ' \r', /empty/],
];

for (const [type, line, reason] of refused) {
  test(`${type} refuses ${JSON.stringify(line)}`, () => {
    const r = normalizeLine(type, line);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, reason);
  });
}

test('an unknown type is refused by name, not thrown', () => {
  const r = normalizeLine('imsi' as IdTypeName, '460001234567890');
  assert.deepEqual(r, { ok: false, reason: 'unknown id type "imsi"' });
});
