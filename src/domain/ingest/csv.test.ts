// CSV: RFC 4180 quoting, the id column by name or index, header detection, row errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../errors.js';
import { csvReasons, type CsvOptions } from './csv.js';
import { reasons } from './lines.js';
import { scanParts } from './testing.js';

interface Case {
  name: string;
  input: string | Buffer;
  csv: CsvOptions;
  lines: Array<[number, string]>;
  invalid?: Array<[number, string]>;
  header?: string[] | null;
  blank?: number;
  total?: number;
  maxLineBytes?: number;
}

const CASES: Case[] = [
  { name: 'column by header name', input: 'name,imei\nx,1\ny,2\n', csv: { header: true, column: 'imei' }, lines: [[2, '1'], [3, '2']], header: ['name', 'imei'] },
  { name: 'the header name is matched case-insensitively and trimmed', input: 'Name , " IMEI "\nx,1\n', csv: { header: true, column: 'imei ' }, lines: [[2, '1']], header: ['Name', ' IMEI '] },
  { name: 'column by index without a header', input: 'x,1\ny,2\n', csv: { header: false, column: 1 }, lines: [[1, '1'], [2, '2']], header: null },
  { name: 'column by index with a header', input: 'a,b\nx,1\n', csv: { header: true, column: 1 }, lines: [[2, '1']], header: ['a', 'b'] },
  { name: 'tab delimiter', input: 'a\tid\nx\t1\n', csv: { header: true, column: 'id', delimiter: '\t' }, lines: [[2, '1']] },
  { name: 'semicolon delimiter', input: 'a;id\nx,y;1\n', csv: { header: true, column: 'id', delimiter: ';' }, lines: [[2, '1']] },
  { name: 'quoted fields with delimiters and doubled quotes', input: 'a,id\n"x,""y""",1\n"p",  "2"  \n', csv: { header: true, column: 'id' }, lines: [[2, '1'], [3, '2']] },
  { name: 'a quoted id field with a delimiter and a doubled quote inside', input: '"a,""b""",x\n', csv: { header: false, column: 0 }, lines: [[1, 'a,"b"']] },
  {
    name: 'newlines inside quotes: the record keeps the number of its first line',
    input: 'note,id\n"line one\nline two\r\n\nline four",1\nplain,2\n',
    csv: { header: true, column: 'id' },
    lines: [[2, '1'], [6, '2']],
    total: 6,
  },
  { name: 'a quoted newline in the id field is kept as LF', input: '"a\r\nb"\n', csv: { header: false, column: 0 }, lines: [[1, 'a\nb']], total: 2 },
  { name: 'a quoted newline inside the header row', input: '"first\ncolumn",id\nx,1\n', csv: { header: true, column: 'id' }, lines: [[3, '1']], header: ['first\ncolumn', 'id'] },
  { name: 'CRLF rows and a BOM before the header', input: '\uFEFFid,x\r\n1,a\r\n2,b\r\n', csv: { header: true, column: 'id' }, lines: [[2, '1'], [3, '2']], header: ['id', 'x'] },
  { name: 'blank lines are skipped and counted; blank lines inside quotes are not', input: 'id\n\n1\n  \n"2\n\n"\n', csv: { header: true, column: 'id' }, lines: [[3, '1'], [5, '2\n\n']], blank: 2, total: 7 },
  { name: 'fields are trimmed of spaces and tabs', input: 'x, \t1 \n', csv: { header: false, column: 1 }, lines: [[1, '1']] },
  {
    name: 'a row with too few fields is invalid',
    input: 'a,b,id\nx,y,1\nx,y\nx\n',
    csv: { header: true, column: 'id' },
    lines: [[2, '1']],
    invalid: [[3, csvReasons.tooFew(2, '"id"')], [4, csvReasons.tooFew(1, '"id"')]],
  },
  { name: 'a quoted row with too few fields is invalid', input: '"x"\n', csv: { header: false, column: 1 }, lines: [], invalid: [[1, csvReasons.tooFew(1, '#1')]] },
  { name: 'an empty id field is invalid', input: 'x,,y\nx,"",y\n', csv: { header: false, column: 1 }, lines: [], invalid: [[1, csvReasons.emptyId('#1')], [2, csvReasons.emptyId('#1')]] },
  { name: 'text after a closing quote is invalid', input: '"a"b,1\nc,2\n', csv: { header: false, column: 1 }, lines: [[2, '2']], invalid: [[1, csvReasons.malformed]] },
  { name: 'a quote inside an unquoted field is text', input: 'a"b,1\n', csv: { header: false, column: 0 }, lines: [[1, 'a"b']] },
  { name: 'an unclosed quote at the end of the file', input: 'x,1\n"y,2\nz,3\n', csv: { header: false, column: 1 }, lines: [[1, '1']], invalid: [[2, csvReasons.unclosed]], total: 3 },
  {
    name: 'an unclosed quote is given up after the record limit, and reading resumes',
    input: '"a,1\nb,2\nc,3\nd,4\n',
    maxLineBytes: 8,
    csv: { header: false, column: 1 },
    lines: [[4, '4']],
    invalid: [[1, csvReasons.recordTooLong(8)]],
  },
  {
    name: 'a NUL inside an open quote refuses the record once, and reading resumes at the next line',
    input: Buffer.from('"a\nb\0\nc,1\nx,2\n'),
    csv: { header: false, column: 1 },
    lines: [[3, '1'], [4, '2']],
    invalid: [[1, `${reasons.nul} (line 2, inside a quoted field)`]],
  },
  { name: "header 'auto': a named column means a header", input: 'id\n1\n', csv: { header: 'auto', column: 'ID' }, lines: [[2, '1']], header: ['id'] },
  { name: "header 'auto': a first row with no digit in the id field is a header", input: 'name,imei\nx,861234567890123\n', csv: { header: 'auto', column: 1 }, lines: [[2, '861234567890123']], header: ['name', 'imei'] },
  { name: "header 'auto': a first row holding an id is data", input: 'x,861234567890123\ny,2\n', csv: { header: 'auto', column: 1 }, lines: [[1, '861234567890123'], [2, '2']], header: null },
  {
    name: "header 'auto': the caller's isId decides",
    input: 'imei\nabc\n',
    csv: { header: 'auto', column: 0, isId: (v) => /^[a-f]+$/.test(v) },
    lines: [[2, 'abc']],
    header: ['imei'],
  },
  { name: "header 'auto': a first row too short for the column is data, and invalid", input: 'x\ny,1\n', csv: { header: 'auto', column: 1 }, lines: [[2, '1']], invalid: [[1, csvReasons.tooFew(1, '#1')]], header: null },
];

for (const c of CASES) {
  test(`csv: ${c.name}`, async () => {
    const { lines, report } = await scanParts([c.input], { csv: c.csv, maxLineBytes: c.maxLineBytes });
    assert.deepEqual(lines, c.lines);
    assert.deepEqual(report.samples.map((s) => [s.line, s.reason]), c.invalid ?? []);
    if (c.header !== undefined) assert.deepEqual(report.header, c.header);
    assert.equal(report.blankLines, c.blank ?? 0);
    if (c.total !== undefined) assert.equal(report.lines, c.total);
  });
}

test('csv: a missing column is an error that names it and lists the header', async () => {
  await assert.rejects(scanParts(['name,IMEI,"a,b"\nx,1,2\n'], { csv: { header: true, column: 'oaid' } }), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'InvalidParameter');
    assert.equal(e.message, 'the CSV header has no column "oaid"; its columns are: "name", "IMEI", "a,b"');
    return true;
  });
});

test('csv: a column name without a header row, and CSV with byte output, are refused up front', async () => {
  await assert.rejects(scanParts(['1\n'], { csv: { header: false, column: 'id' } }), /needs a header row/);
  await assert.rejects(scanParts(['1\n'], { csv: { header: false, column: 0 }, output: 'bytes' }), /read as text/);
  await assert.rejects(scanParts(['1\n'], { csv: { header: false, column: -1 } }), /integer from 0/);
});
