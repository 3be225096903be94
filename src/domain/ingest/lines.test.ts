// The line rules, one table row per rule, in text and byte output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reasons } from './lines.js';
import { scanParts } from './testing.js';

const BOM = '\uFEFF';

interface Case {
  name: string;
  input: Array<string | Buffer>;
  lines: Array<[number, string]>;
  invalid?: Array<[number, string]>;
  blank?: number;
  total: number;
  maxLineBytes?: number;
}

const CASES: Case[] = [
  { name: 'LF line ends', input: ['a\nb\nc\n'], lines: [[1, 'a'], [2, 'b'], [3, 'c']], total: 3 },
  { name: 'CRLF line ends', input: ['a\r\nb\r\n'], lines: [[1, 'a'], [2, 'b']], total: 2 },
  { name: 'mixed LF and CRLF', input: ['a\r\nb\nc\r\n'], lines: [[1, 'a'], [2, 'b'], [3, 'c']], total: 3 },
  { name: 'a last line without a line end', input: ['a\nb'], lines: [[1, 'a'], [2, 'b']], total: 2 },
  { name: 'a last line of only CR', input: ['a\r'], lines: [[1, 'a']], total: 1 },
  { name: 'an empty file', input: [''], lines: [], total: 0 },
  { name: 'a UTF-8 BOM at the start is dropped', input: [`${BOM}abc\ndef\n`], lines: [[1, 'abc'], [2, 'def']], total: 2 },
  { name: 'a BOM after the first line is kept (the normalizer judges it)', input: [`a\n${BOM}b\n`], lines: [[1, 'a'], [2, `${BOM}b`]], total: 2 },
  { name: 'a file of only a BOM is one blank line', input: [BOM], lines: [], blank: 1, total: 1 },
  { name: 'blank lines are skipped but counted', input: ['a\n\n\r\n  \n\t \r\nb\n'], lines: [[1, 'a'], [6, 'b']], blank: 4, total: 6 },
  { name: 'spaces and tabs around a line are trimmed', input: ['  a \t\n\tb\r\n c d \n'], lines: [[1, 'a'], [2, 'b'], [3, 'c d']], total: 3 },
  { name: 'non-ASCII UTF-8 lines pass', input: ['é\n中文\n😀\n'], lines: [[1, 'é'], [2, '中文'], [3, '😀']], total: 3 },
  {
    name: 'a NUL byte makes the line invalid, and the scan goes on',
    input: [Buffer.from('a\nb\0c\nd\n')],
    lines: [[1, 'a'], [3, 'd']],
    invalid: [[2, reasons.nul]],
    total: 3,
  },
  {
    name: 'invalid UTF-8 (a Latin-1 é) is "mixed encodings"',
    input: [Buffer.concat([Buffer.from('a\ncaf'), Buffer.from([0xe9]), Buffer.from('\né\n')])],
    lines: [[1, 'a'], [3, 'é']],
    invalid: [[2, reasons.encoding]],
    total: 3,
  },
  {
    name: 'a truncated multi-byte character at the end of the file is invalid',
    input: [Buffer.concat([Buffer.from('a\n'), Buffer.from([0xe4, 0xb8])])],
    lines: [[1, 'a']],
    invalid: [[2, reasons.encoding]],
    total: 2,
  },
  {
    name: 'a line longer than the limit is invalid; one at the limit passes, with or without CR',
    input: ['aaaa\naaaaa\nbbbb\r\nbbbbb\r\nc\n'],
    maxLineBytes: 4,
    lines: [[1, 'aaaa'], [3, 'bbbb'], [5, 'c']],
    invalid: [[2, reasons.tooLong(4)], [4, reasons.tooLong(4)]],
    total: 5,
  },
  {
    name: 'the limit counts UTF-8 bytes, not characters',
    input: ['éé\néée\n'],
    maxLineBytes: 4,
    lines: [[1, 'éé']],
    invalid: [[2, reasons.tooLong(4)]],
    total: 2,
  },
  {
    name: 'a too-long line spread over chunks is refused once, and the next line is read',
    input: ['ok\nxxxx', 'xxxx', 'xxxx\nnext', '\n'],
    maxLineBytes: 5,
    lines: [[1, 'ok'], [3, 'next']],
    invalid: [[2, reasons.tooLong(5)]],
    total: 3,
  },
  {
    name: 'a too-long last line without a line end is counted',
    input: ['ok\n', 'xxxxxxxx'],
    maxLineBytes: 5,
    lines: [[1, 'ok']],
    invalid: [[2, reasons.tooLong(5)]],
    total: 2,
  },
];

for (const output of ['text', 'bytes'] as const) {
  for (const c of CASES) {
    test(`${c.name} (${output})`, async () => {
      const { lines, report } = await scanParts(c.input, { output, maxLineBytes: c.maxLineBytes });
      assert.deepEqual(lines, c.lines);
      assert.deepEqual(report.samples.map((s) => [s.line, s.reason]), c.invalid ?? []);
      assert.equal(report.invalidLines, (c.invalid ?? []).length);
      assert.equal(report.blankLines, c.blank ?? 0);
      assert.equal(report.lines, c.total);
      assert.equal(report.delivered, c.lines.length);
      assert.equal(report.bytes, c.input.reduce((n, p) => n + Buffer.byteLength(p), 0));
    });
  }
}

test('a 1 MB line is refused at the default 64 KiB limit without being kept whole', async () => {
  const big = 'x'.repeat(1_000_000);
  for (const parts of [[`a\n${big}\nb\n`], ['a\n', ...Array.from({ length: 16 }, (_, i) => big.slice(i * 62_500, (i + 1) * 62_500)), '\nb\n']]) {
    const { lines, report } = await scanParts(parts);
    assert.deepEqual(lines, [[1, 'a'], [3, 'b']]);
    assert.deepEqual(report.samples, [{ line: 2, reason: reasons.tooLong(65_536) }]);
    assert.equal(report.lines, 3);
  }
});

test('batches hold at most batchLines lines and every line arrives once, in order', async () => {
  const input = Array.from({ length: 1000 }, (_, i) => `id${i}\n`).join('');
  const { lines, batches } = await scanParts([input.slice(0, 2500), input.slice(2500)], { batchLines: 64 });
  assert.equal(lines.length, 1000);
  assert.equal(batches, Math.ceil(1000 / 64));
  lines.forEach(([no, text], i) => assert.deepEqual([no, text], [i + 1, `id${i}`]));
});
