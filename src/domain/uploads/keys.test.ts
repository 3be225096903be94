import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../errors.js';
import { isSafeKey, storageKeyFor, validateFileName } from './keys.js';

test('plain file names are accepted, including non-ASCII ones', () => {
  for (const n of ['test.txt', 'audience 2024.csv.gz', '人群包.txt']) assert.equal(validateFileName(n), n);
});

test('file names that could steer a key are refused with the field named', () => {
  for (const n of ['../x.txt', 'a/b.txt', 'a\\b.txt', 'a\0.txt', '..', 'x'.repeat(1000), ' lead.txt', 'tab\t.txt', 'c1\u0085.txt', 'ls\u2028.txt', '']) {
    assert.throws(
      () => validateFileName(n),
      (e: unknown) => e instanceof AppError && e.field === 'file_name',
      `name ${JSON.stringify(n)} must be refused`,
    );
  }
});

test('storage keys are built from validated parts and are safe', () => {
  const key = storageKeyFor('1234567890', 'up_x', 'ids.txt', new Date('2026-01-02T03:04:05Z'));
  assert.equal(key, '1234567890/20260102/up_x/ids.txt');
  assert.ok(isSafeKey(key));
  for (const k of ['a//b', '../a', 'a/./b', '', 'a\\b']) assert.equal(isSafeKey(k), false, k);
});
