// Samples: the first invalid lines by line number, however rejections arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScanReport } from './report.js';
import { scanParts } from './testing.js';

test('samples keep the lowest line numbers, sorted, capped', () => {
  const r = new ScanReport(3);
  for (const line of [10, 4, 12, 2, 7, 1]) r.reject(line, `r${line}`);
  assert.deepEqual(r.samples.map((s) => s.line), [1, 2, 4]);
  assert.equal(r.invalidLines, 6);
});

test('a scan keeps the first 100 invalid lines and counts them all', async () => {
  const input = Array.from({ length: 1000 }, (_, i) => (i % 2 ? `id${i}\n` : `bad\0${i}\n`)).join('');
  const { lines, report } = await scanParts([input]);
  assert.equal(lines.length, 500);
  assert.equal(report.invalidLines, 500);
  assert.equal(report.samples.length, 100);
  assert.deepEqual(report.samples.map((s) => s.line), Array.from({ length: 100 }, (_, i) => 2 * i + 1));
  assert.equal(report.bytes, Buffer.byteLength(input));
});
