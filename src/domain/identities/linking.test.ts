// A raw id and every hashed form of it produce the same dictionary keys, so
// audiences uploaded in different forms of one id overlap exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KeyBatch, MAX_KEYS, normalizeInto, normalizeLine } from './normalize.js';
import type { HashedTypeName, IdTypeName } from './types.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function keys(type: IdTypeName, line: string): string[] {
  const r = normalizeLine(type, line);
  assert.ok(r.ok, `${type} ${JSON.stringify(line)} refused: ${r.ok ? '' : r.reason}`);
  return r.keys.map((k) => `${k.type}:${k.bytes.toString('hex')}`);
}

const PHONE = [
  'phone_md5:4dbeaa3acd2620411c7ba4fd78bb32d0',
  `phone_sha256:${sha256('13500000000')}`,
  `phone_e164_sha256:${sha256('+8613500000000')}`,
];

test('a raw mainland phone yields its MD5, its SHA-256 and the SHA-256 of its E.164 form', () => {
  assert.deepEqual(keys('phone', '13500000000'), PHONE);
});

test('a raw phone and its MD5 in any case produce the same phone_md5 key', () => {
  const fromRaw = keys('phone', '13500000000')[0];
  for (const hex of ['4dbeaa3acd2620411c7ba4fd78bb32d0', '4DBEAA3ACD2620411C7BA4FD78BB32D0', '4dBeAa3AcD2620411c7ba4fd78bb32d0']) {
    assert.deepEqual(keys('phone_md5', hex), [fromRaw]);
  }
});

test('the same number written every accepted way yields the same keys', () => {
  for (const line of ['13500000000', '135 0000 0000', '135-0000-0000', '+8613500000000', '+86 135 0000 0000', '8613500000000', '008613500000000', '(+86) 13500000000']) {
    assert.deepEqual(keys('phone', line), PHONE, line);
  }
  const e164 = keys('phone_e164', '+86 135 0000 0000');
  assert.deepEqual([...e164].sort(), [...PHONE].sort());
});

test('an E.164 number outside mainland China yields only its E.164 SHA-256', () => {
  assert.deepEqual(keys('phone_e164', '+44 20 7183 8750'), [`phone_e164_sha256:${sha256('+442071838750')}`]);
  assert.deepEqual(keys('phone_e164', '0044 20 7183 8750'), [`phone_e164_sha256:${sha256('+442071838750')}`]);
});

test('raw device ids yield every hashed form of their family, MD5-then-SHA-256 over the lower-case MD5 hex', () => {
  const imeiMd5 = md5('a000002c9060f7');
  assert.deepEqual(keys('imei', 'a000002c9060f7'), [`imei_md5:${imeiMd5}`, `imei_sha256:${sha256('a000002c9060f7')}`, `imei_md5_sha256:${sha256(imeiMd5)}`]);
  const idfa = 'FF1999CD-7177-4937-A474-74937A102630';
  assert.deepEqual(keys('idfa', idfa.toLowerCase()), [`idfa_md5:${md5(idfa)}`, `idfa_sha256:${sha256(idfa)}`, `idfa_md5_sha256:${sha256(md5(idfa))}`]);
  assert.deepEqual(keys('email', '  Someone@Example.COM '), [`email_sha256:${sha256('someone@example.com')}`]);
  assert.deepEqual(keys('qq', '10001'), [`qq_md5:${md5('10001')}`]);
  assert.deepEqual(keys('wx_openid', 'oABCdef_123-xyz7890ABCDEFghi'), [`wx_openid_md5:${md5('oABCdef_123-xyz7890ABCDEFghi')}`]);
});

test('an MD5 upload links to the MD5-then-SHA-256 upload of the same ids', () => {
  const raw = keys('imei', 'a000002c9060f7');
  const fromMd5 = keys('imei_md5', md5('a000002c9060f7').toUpperCase());
  assert.deepEqual(fromMd5, [raw[0], raw[2]]);
  assert.deepEqual(keys('imei_md5_sha256', sha256(md5('a000002c9060f7'))), [raw[2]]);
});

test('a hashed id that links to nothing else yields exactly its own key, as raw bytes', () => {
  const r = normalizeLine('phone_sha256', sha256('13500000000'));
  assert.ok(r.ok);
  assert.equal(r.keys.length, 1);
  assert.equal(r.keys[0].bytes.length, 32);
  const salted = normalizeLine('imei_salted', 'ab'.repeat(16));
  assert.ok(salted.ok);
  assert.equal(salted.keys[0].bytes.length, 16);
});

test('normalizeInto reuses one batch and matches normalizeLine', () => {
  const batch = new KeyBatch();
  assert.ok(normalizeInto('idfa', 'FF1999CD-7177-4937-A474-74937A102630', batch));
  assert.equal(batch.count, 3);
  assert.ok(batch.count <= MAX_KEYS);
  assert.equal(batch.types[0], 'idfa_md5' satisfies HashedTypeName);
  assert.equal(batch.key(0).toString('hex'), '2c010ed96aef2fc34983e1e7e9176b7e');
  assert.equal(normalizeInto('idfa', 'not an idfa', batch), false);
  assert.equal(batch.count, 0);
  assert.match(batch.reason, /8-4-4-4-12/);
  assert.ok(normalizeInto('phone_md5', '4dbeaa3acd2620411c7ba4fd78bb32d0', batch));
  assert.equal(batch.reason, '');
  assert.deepEqual(batch.key(0), Buffer.from('4dbeaa3acd2620411c7ba4fd78bb32d0', 'hex'));
});
