// The registry is consistent, and every vendor id-type name maps onto it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ID_TYPES, ID_TYPE_NAMES, lookupIdType, typesOfFamily } from './id-types.js';
import { KEY_SLOT, MAX_KEYS } from './normalize.js';
import { fromMintegral, fromTencent, MINTEGRAL_DEVICE_TYPE_OF, MINTEGRAL_DEVICE_TYPES, TENCENT_USER_ID_TYPES } from './vendor-maps.js';

test('every link points to a hashed type of the same family, and no line can yield more keys than a batch holds', () => {
  for (const name of ID_TYPE_NAMES) {
    const entry = ID_TYPES[name];
    assert.equal(entry.name, name);
    if (entry.kind === 'raw') assert.ok(entry.links.length > 0, `${name}: a raw id must be stored as some hash`);
    assert.ok(entry.links.length + (entry.kind === 'hashed' ? 1 : 0) <= MAX_KEYS, name);
    for (const link of entry.links) {
      const target = ID_TYPES[link.type];
      assert.equal(target.kind, 'hashed', `${name} → ${link.type}`);
      assert.equal(target.family, entry.family, `${name} → ${link.type}`);
    }
    if (entry.kind === 'hashed') for (const n of entry.hexLengths) assert.ok(n % 2 === 0 && n / 2 <= KEY_SLOT, name);
  }
});

test('every family has exactly one raw type except phone, which has the mainland and E.164 shapes', () => {
  const families = new Set(ID_TYPE_NAMES.map((n) => ID_TYPES[n].family));
  for (const f of families) {
    const raws = typesOfFamily(f).filter((e) => e.kind === 'raw').map((e) => e.name);
    assert.deepEqual(raws, f === 'phone' ? ['phone', 'phone_e164'] : f === 'caid' ? [] : [f], f);
  }
});

test('every Tencent user_id_type of API-NOTES.md maps onto the registry', () => {
  const listed =
    'HASH_IDFA HASH_IMEI HASH_MOBILE_PHONE IDFA IMEI WX_OPENID WX_UNIONID WECHAT_OPENID SALTED_HASH_IMEI SALTED_HASH_IDFA ' +
    'OAID HASH_OAID SHA256_MOBILE_PHONE MD5_SHA256_IMEI MD5_SHA256_IDFA MD5_SHA256_OAID CAID HASH_MAC MAC QQ HASH_QQ GDT_OPENID';
  for (const v of listed.split(' ')) assert.ok(lookupIdType(fromTencent(v) ?? ''), v);
  assert.equal(Object.keys(TENCENT_USER_ID_TYPES).length, listed.split(' ').length);
  assert.equal(fromTencent('HASH_MOBILE_PHONE'), 'phone_md5');
  assert.equal(fromTencent('WX_OPENID'), fromTencent('WECHAT_OPENID'));
  assert.equal(fromTencent('toString'), undefined);
  assert.equal(fromTencent('hash_imei'), undefined);
});

test('every Mintegral device_type maps onto the registry, and the numbers we answer with are API-NOTES.md numbers', () => {
  const expected: Record<number, string> = { 1: 'imei', 2: 'idfa', 3: 'gaid', 4: 'oaid', 6: 'imei_md5', 7: 'idfa_md5', 8: 'gaid_md5', 9: 'oaid_md5', 12: 'idfv', 13: 'idfv_md5' };
  for (const [n, type] of Object.entries(expected)) {
    assert.equal(fromMintegral(Number(n)), type, n);
    assert.equal(fromMintegral(n), type, n);
    assert.equal(MINTEGRAL_DEVICE_TYPE_OF[fromMintegral(Number(n))!], Number(n));
  }
  for (const type of Object.values(MINTEGRAL_DEVICE_TYPES)) assert.ok(lookupIdType(type), type);
  assert.equal(fromMintegral(5), undefined);
  assert.equal(fromMintegral('1e0'), undefined);
});
