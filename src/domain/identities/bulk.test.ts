// A sanity check at ingest scale: one million raw phone numbers in mixed
// formats normalize through one reused batch. No timing assertion: timing
// belongs in bench/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyBatch, normalizeInto } from './normalize.js';

const FORMATS = [
  (n: string) => n,
  (n: string) => `+86${n}`,
  (n: string) => `86 ${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`,
  (n: string) => `${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}\r`,
  (n: string) => ` 0086${n} `,
];

test('one million raw phone numbers in mixed formats normalize, and equal numbers give equal keys', () => {
  const batch = new KeyBatch();
  const total = 1_000_000;
  let ok = 0;
  let xor = 0;
  for (let i = 0; i < total; i++) {
    const number = `1${3 + (i % 7)}${String(i).padStart(9, '0')}`;
    if (!normalizeInto('phone', FORMATS[i % FORMATS.length](number), batch)) assert.fail(`${number}: ${batch.reason}`);
    ok += batch.count === 3 ? 1 : 0;
    xor ^= batch.bytes[0];
  }
  assert.equal(ok, total);
  assert.equal(typeof xor, 'number');

  const first = new KeyBatch();
  normalizeInto('phone', '13912345678', first);
  for (const f of FORMATS) {
    normalizeInto('phone', f('13912345678'), batch);
    assert.deepEqual(batch.bytes, first.bytes, f('13912345678'));
  }
});
