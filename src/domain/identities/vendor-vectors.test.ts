// The vendors' own test vectors (API-NOTES.md, Tencent custom audience file
// page, DataNexus OAID page, Mintegral postback parameters), exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeLine } from './normalize.js';
import type { HashedTypeName, IdTypeName } from './types.js';

function keysOf(type: IdTypeName, line: string): Map<HashedTypeName, string> {
  const r = normalizeLine(type, line);
  assert.ok(r.ok, `${type} ${JSON.stringify(line)} refused: ${r.ok ? '' : r.reason}`);
  return new Map(r.keys.map((k) => [k.type, k.bytes.toString('hex')]));
}

const vectors: Array<{ source: string; type: IdTypeName; input: string; key: HashedTypeName; hex: string }> = [
  { source: 'Tencent HASH_IDFA', type: 'idfa', input: 'FF1999CD-7177-4937-A474-74937A102630', key: 'idfa_md5', hex: '2c010ed96aef2fc34983e1e7e9176b7e' },
  { source: 'Tencent HASH_IMEI', type: 'imei', input: 'a000002c9060f7', key: 'imei_md5', hex: 'f2d5a650733ca8c27d502b1c08da14e5' },
  { source: 'Tencent HASH_MAC', type: 'mac', input: '02:00:00:00:00:00', key: 'mac_md5', hex: 'e3f5536a141811db40efd6400f1d0a4e' },
  { source: 'Tencent HASH_MOBILE_PHONE', type: 'phone', input: '13500000000', key: 'phone_md5', hex: '4dbeaa3acd2620411c7ba4fd78bb32d0' },
  { source: 'Tencent HASH_OAID', type: 'oaid', input: '1fe9a970-efbb-29e0-0bdd-f5dbbf751ab5', key: 'oaid_md5', hex: '83e9158a4fb54c0e1ef0b238639a23ae' },
  {
    source: 'Tencent MD5_SHA256_OAID',
    type: 'oaid',
    input: '1fe9a970-efbb-29e0-0bdd-f5dbbf751ab5',
    key: 'oaid_md5_sha256',
    hex: 'a58f9fffa86c12e6fb43f5232a46d53ef06196f4be138d185a09b1294c736c50',
  },
  {
    source: 'Tencent MD5_SHA256_OAID from HASH_OAID',
    type: 'oaid_md5',
    input: '83e9158a4fb54c0e1ef0b238639a23ae',
    key: 'oaid_md5_sha256',
    hex: 'a58f9fffa86c12e6fb43f5232a46d53ef06196f4be138d185a09b1294c736c50',
  },
  { source: 'Mintegral md5_idfa', type: 'idfa', input: '3E0046F7-8BD4-4F3E-9F91-358B137D2BF0', key: 'idfa_md5', hex: '77d06cb28c1771e8019be4f4fb6e1938' },
  { source: 'Mintegral md5_gaid', type: 'gaid', input: '7268ceb0-5411-4004-b7cb-bd1fee4b6277', key: 'gaid_md5', hex: '7c687d7812ae6ca319aecea51d0d7750' },
  { source: 'Mintegral md5_imei', type: 'imei', input: '869634020728636', key: 'imei_md5', hex: 'ed0427f06978ac06d73e2d6f2049aa9d' },
  { source: 'Mintegral md5_devid', type: 'android_id', input: 'd0d4845ae4495a83', key: 'android_id_md5', hex: '1ebf70337adb6df4b70300edc27c24c8' },
];

for (const v of vectors) {
  test(`${v.source}: ${v.type} ${v.input} → ${v.key} ${v.hex}`, () => {
    assert.equal(keysOf(v.type, v.input).get(v.key), v.hex);
  });
}

test('the vendor normalization is applied before hashing: case and separators of the raw input do not matter', () => {
  const cases: Array<[IdTypeName, string, HashedTypeName, string]> = [
    ['idfa', 'ff1999cd-7177-4937-a474-74937a102630', 'idfa_md5', '2c010ed96aef2fc34983e1e7e9176b7e'],
    ['imei', 'A000002C9060F7', 'imei_md5', 'f2d5a650733ca8c27d502b1c08da14e5'],
    ['mac', '02-00-00-00-00-00', 'mac_md5', 'e3f5536a141811db40efd6400f1d0a4e'],
    ['mac', '020000000000', 'mac_md5', 'e3f5536a141811db40efd6400f1d0a4e'],
    ['phone', '+86 135-0000-0000', 'phone_md5', '4dbeaa3acd2620411c7ba4fd78bb32d0'],
    ['phone', ' 13500000000\r', 'phone_md5', '4dbeaa3acd2620411c7ba4fd78bb32d0'],
  ];
  for (const [type, input, key, hex] of cases) assert.equal(keysOf(type, input).get(key), hex, `${type} ${JSON.stringify(input)}`);
});

test('the vendor digests are accepted in either case and decode to the same bytes', () => {
  const cases: Array<[IdTypeName, string]> = [
    ['idfa_md5', '2c010ed96aef2fc34983e1e7e9176b7e'],
    ['imei_md5', 'F2D5A650733CA8C27D502B1C08DA14E5'],
    ['mac_md5', 'E3f5536a141811db40efd6400f1d0a4e'],
    ['phone_md5', '4DBEAA3ACD2620411C7BA4FD78BB32D0'],
    ['oaid_md5_sha256', 'A58F9FFFA86C12E6FB43F5232A46D53EF06196F4BE138D185A09B1294C736C50'],
  ];
  for (const [type, hex] of cases) assert.equal(keysOf(type, hex).get(type as HashedTypeName), hex.toLowerCase(), type);
});
