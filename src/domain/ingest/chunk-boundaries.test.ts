// Wherever the source cuts its chunks, the scan sees the same lines: each
// input is scanned whole, then cut at every byte into two chunks, and into
// 1-byte chunks, in text and byte output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ScanOptions } from './scanner.js';
import { everySplit, scanParts, type Scanned } from './testing.js';

const BOM = '\uFEFF';

interface Case {
  name: string;
  input: Buffer;
  options?: ScanOptions;
  /** What the whole-input scan must give, so that a bug in both paths cannot pass. */
  lines: Array<[number, string]>;
}

const CASES: Case[] = [
  { name: 'inside a CRLF', input: Buffer.from('ab\r\ncd\r\n\r\nef\r\n'), lines: [[1, 'ab'], [2, 'cd'], [4, 'ef']] },
  { name: 'inside multi-byte UTF-8 characters', input: Buffer.from('é\n中文字\n😀x\nok\n'), lines: [[1, 'é'], [2, '中文字'], [3, '😀x'], [4, 'ok']] },
  { name: 'inside the BOM', input: Buffer.from(`${BOM}a1\r\nb2\n`), lines: [[1, 'a1'], [2, 'b2']] },
  { name: 'around NUL and bad UTF-8', input: Buffer.concat([Buffer.from('a\nb\0\nc'), Buffer.from([0xff]), Buffer.from('\nd')]), lines: [[1, 'a'], [4, 'd']] },
  { name: 'around a too-long line', input: Buffer.from('a\nbbbbbbbbbb\nc\nbbbbb\r\n'), options: { maxLineBytes: 5 }, lines: [[1, 'a'], [3, 'c'], [4, 'bbbbb']] },
  {
    name: 'inside a quoted CSV field',
    input: Buffer.from(`${BOM}"na,me",id\r\n"x ""y""\r\nz",1\r\n\r\nw,"2"\n"é,",3`),
    options: { csv: { header: true, column: 'id' } },
    lines: [[2, '1'], [5, '2'], [6, '3']],
  },
  {
    name: 'inside a quoted CSV id field',
    input: Buffer.from('"a,b",x\n"c\nd",y\n'),
    options: { csv: { header: false, column: 0 } },
    lines: [[1, 'a,b'], [2, 'c\nd']],
  },
];

function summary(s: Scanned) {
  const r = s.report;
  return { lines: s.lines, total: r.lines, blank: r.blankLines, invalid: r.invalidLines, samples: r.samples, bytes: r.bytes, header: r.header };
}

for (const c of CASES) {
  const outputs = c.options?.csv ? (['text'] as const) : (['text', 'bytes'] as const);
  for (const output of outputs) {
    test(`a chunk boundary ${c.name} changes nothing (${output})`, async () => {
      const whole = summary(await scanParts([c.input], { ...c.options, output }));
      assert.deepEqual(whole.lines, c.lines);
      for (const parts of everySplit(c.input)) {
        const cut = summary(await scanParts(parts, { ...c.options, output, batchLines: 2 }));
        assert.deepEqual(cut, whole, `cut into ${parts.map((p) => p.length).join('+')} bytes`);
      }
    });
  }
}
