// The Filter grammar: what it takes and the SQL it becomes, every refusal
// with its position, and the property that no part of the client's text
// ever reaches the SQL: compiled, a filter is column identifiers, this
// file's operators and keywords, and placeholders, on both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { AppError } from '../../errors.js';
import { FilterError, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_IN_VALUES, compileFilter, parseFilter } from './filter.js';
import { sqlCompiler } from './sources.js';
import { seededRandom } from '../../../test/support/random.js';

const COLUMNS = ['ds', 'phone', 'Region', 'region_code', 'select', 'a"b', '日期'];
const sqlite = sqlCompiler('sqlite');
const postgres = sqlCompiler('postgres');

function compiled(filter: string, engine = sqlite, columns = COLUMNS) {
  const q = sql`select ${sql.id('phone')} from ${sql.id('t')} where ${compileFilter(parseFilter(filter), columns)}`.compile(engine);
  return { where: q.sql.replace(/^select "phone" from "t" where /, ''), params: [...q.parameters] };
}

function refused(filter: string, columns = COLUMNS): FilterError {
  try {
    compileFilter(parseFilter(filter), columns);
  } catch (e) {
    assert.ok(e instanceof FilterError, `${filter}: ${String(e)}`);
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'InvalidParameter');
    assert.equal(e.field, 'Filter');
    return e;
  }
  assert.fail(`${JSON.stringify(filter)} was not refused`);
}

test("PAI's own example: ds=20220101", () => {
  assert.deepEqual(compiled('ds=20220101'), { where: '"ds" = ?', params: [20220101n] });
  assert.deepEqual(compiled('ds=20220101', postgres), { where: '"ds" = $1', params: [20220101n] });
});

test('every form of the grammar, and the SQL it becomes', () => {
  const cases: Array<[string, string, unknown[]]> = [
    ["ds = '20220101'", '"ds" = ?', ['20220101']],
    ['ds != 1', '"ds" <> ?', [1n]],
    ['ds <> 1', '"ds" <> ?', [1n]],
    ['ds < 1.5', '"ds" < ?', [1.5]],
    ['ds <= -2', '"ds" <= ?', [-2n]],
    ['ds > +3', '"ds" > ?', [3n]],
    ['ds >= 0', '"ds" >= ?', [0n]],
    ["ds IN (1, 2.5, 'x')", '"ds" in (?, ?, ?)', [1n, 2.5, 'x']],
    ['ds not in (1)', '"ds" not in (?)', [1n]],
    ['ds BETWEEN 1 AND 2', '"ds" between ? and ?', [1n, 2n]],
    ["ds NOT BETWEEN '2022' AND '2023'", '"ds" not between ? and ?', ['2022', '2023']],
    ['ds IS NULL', '"ds" is null', []],
    ['ds is not null', '"ds" is not null', []],
    ["phone LIKE '138%'", `"phone" like ? escape '\\'`, ['138%']],
    ["phone NOT LIKE '%0'", `"phone" not like ? escape '\\'`, ['%0']],
    ['ds = 1 AND phone IS NOT NULL OR ds = 2', '(("ds" = ? and "phone" is not null) or "ds" = ?)', [1n, 2n]],
    ['ds = 1 AND (phone IS NOT NULL OR ds = 2)', '("ds" = ? and ("phone" is not null or "ds" = ?))', [1n, 2n]],
    ['NOT ds = 1', 'not ("ds" = ?)', [1n]],
    ['not not ds = 1', 'not (not ("ds" = ?))', [1n]],
    ["ds = 'it''s'", '"ds" = ?', ["it's"]],
    ["ds = ''", '"ds" = ?', ['']],
    ["ds = '; DROP TABLE t --'", '"ds" = ?', ['; DROP TABLE t --']],
    ['"select" = 1', '"select" = ?', [1n]],
    ['"a""b" = 1', '"a""b" = ?', [1n]],
    ["日期 = '2022'", '"日期" = ?', ['2022']],
    ['REGION = 1', '"Region" = ?', [1n]],
    ['Region_Code = 1', '"region_code" = ?', [1n]],
    ['ds = 9007199254740993', '"ds" = ?', [9007199254740993n]],
    ['ds = -9223372036854775808', '"ds" = ?', [-9223372036854775808n]],
    ['  ds\t=\n1  ', '"ds" = ?', [1n]],
    ['((ds = 1))', '"ds" = ?', [1n]],
  ];
  for (const [filter, where, params] of cases) assert.deepEqual(compiled(filter), { where, params }, filter);
});

test('every refusal names the position and what was expected there', () => {
  const cases: Array<[string, number, RegExp]> = [
    // Statements, comments, subqueries, functions.
    ['1=1; DROP TABLE x', 1, /expected a column name or \(, found the number 1/],
    ['ds = 1; DROP TABLE x', 7, /expected AND, OR or the end of the filter, found a semicolon \(a filter is one condition; a second statement is not allowed\)/],
    ["ds = '' OR 1=1 --", 12, /expected a column name or \(, found the number 1/],
    ["ds = '' --", 9, /expected AND, OR or the end of the filter, found a comment \(--\) \(comments are not allowed\)/],
    ['ds = 1 /* x */', 8, /found a comment \(\/\*\)/],
    ['(SELECT 1)', 2, /expected a column name or \(, found the SQL keyword SELECT \(subqueries, statements and other SQL are not allowed/],
    ['ds IN (SELECT phone FROM t)', 8, /expected a number or a 'quoted' string, found the SQL keyword SELECT/],
    ['ds = (SELECT 1)', 6, /expected a number or a 'quoted' string, found \( \(subqueries are not allowed\)/],
    ["lower(ds) = 'a'", 6, /expected an operator after the column lower, found \( \(function calls are not allowed\)/],
    ['ds = 1 UNION SELECT 1', 8, /expected AND, OR or the end of the filter, found the SQL keyword UNION/],
    ['EXISTS (x)', 1, /found the SQL keyword EXISTS/],
    ['CASE WHEN 1 THEN 1 END = 1', 1, /found the SQL keyword CASE/],
    // Operators not in the grammar.
    ["ds || 'x' = 'y'", 4, /expected an operator after the column ds: =, !=, <>, <, <=, >, >=, IN, BETWEEN, IS or LIKE, found the character "\|"/],
    ['ds + 1 = 2', 4, /found the character "\+"/],
    ['ds == 1', 5, /expected a number or a 'quoted' string, found =/],
    ["ds ILIKE 'x'", 4, /found the SQL keyword ILIKE/],
    ["ds GLOB 'x'", 4, /found the SQL keyword GLOB/],
    ['ds = ds', 6, /expected a number or a 'quoted' string, found the name ds \(a text value is written in single quotes: 'text'\)/],
    ['ds = 1e5', 7, /expected AND, OR or the end of the filter, found the name e5/],
    ['ds = 0x10', 7, /found the name x10/],
    ['ds = TRUE', 6, /found the SQL keyword TRUE/],
    ['ds = :p', 6, /found the character ":"/],
    ['ds = ?', 6, /found the character "\?"/],
    ['ds = $1', 6, /found the character "\$"/],
    ['ds = `x`', 6, /found the character "`"/],
    // Incomplete or malformed.
    ['', 1, /expected a condition, found the end of the filter/],
    ['ds', 3, /expected an operator after the column ds.*found the end of the filter/],
    ['ds =', 5, /expected a number or a 'quoted' string, found the end of the filter/],
    ["ds = 'abc", 6, /found a string that is never closed \(the ' at character 6 has no closing '\)/],
    ['"ds = 1', 1, /found a quoted name that is never closed/],
    ['"" = 1', 1, /found an empty quoted name ""/],
    ['(ds = 1', 8, /expected a closing \) for the \( at character 1, or AND, OR, found the end of the filter/],
    ['ds = 1)', 7, /expected AND, OR or the end of the filter, found \)/],
    ['ds = 1 AND', 11, /expected a column name or \(, found the end of the filter/],
    ['ds = 1 ds = 2', 8, /expected AND, OR or the end of the filter, found the name ds/],
    ['ds IS 1', 7, /expected NULL or NOT NULL, found the number 1/],
    ['ds IS NOT 1', 11, /expected NULL, found the number 1/],
    ['ds NOT = 1', 8, /expected IN, BETWEEN or LIKE after NOT, found =/],
    ['ds IN 1', 7, /expected \( to open the list of IN, found the number 1/],
    ['ds IN ()', 8, /expected a number or a 'quoted' string, found \)/],
    ['ds IN (1 2)', 10, /expected , or \) in the list of IN, found the number 2/],
    ['ds BETWEEN 1 OR 2', 14, /expected AND between the two bounds of BETWEEN, found the keyword OR/],
    ['ds LIKE 1', 9, /expected a 'quoted' pattern after LIKE, found the number 1/],
    ['ds = 99999999999999999999', 6, /expected an integer that fits in 64 bits/],
    ['= 1', 1, /expected a column name or \(, found =/],
    ["'x' = ds", 1, /found the string 'x' \(a condition starts with a column: column = value\)/],
    // Columns.
    ['nope = 1', 1, /expected a column of the table \(ds, phone, Region, region_code, select, a"b, 日期\), found the name nope \(the table has no column nope\)/],
    ['ds = 1 OR "Ds" = 2', 11, /found the name "Ds" \(the table has no column "Ds"\)/],
    ['select = 1', 1, /found the SQL keyword SELECT/],
  ];
  for (const [filter, position, message] of cases) {
    const e = refused(filter);
    assert.equal(e.offset + 1, position, `${filter}: ${e.message}`);
    assert.match(e.message, new RegExp(`^Filter: at character ${position}, `), filter);
    assert.match(e.message, message, filter);
  }
});

test('a plain name matching columns that differ only in case must be quoted', () => {
  const cols = ['Phone', 'phone2', 'PHONE3', 'Code', 'CODE'];
  const e = refused('code = 1', cols);
  assert.match(e.message, /expected one of "Code", "CODE" in double quotes, found the name code \(it matches several columns that differ only in case\)/);
  assert.deepEqual(compiled('"CODE" = 1', sqlite, cols).where, '"CODE" = ?');
  assert.deepEqual(compiled('Code = 1', sqlite, cols).where, '"Code" = ?', 'an exact match wins');
  assert.deepEqual(compiled('phone = 1', sqlite, cols).where, '"Phone" = ?');
  assert.equal(refused('"phone" = 1', cols).offset, 0, 'a quoted name matches exactly');
});

test(`limits: ${MAX_FILTER_LENGTH} characters, ${MAX_FILTER_DEPTH} levels of nesting, ${MAX_IN_VALUES} values in IN`, () => {
  const long = `ds = '${'x'.repeat(MAX_FILTER_LENGTH - 7)}'`;
  assert.equal(long.length, MAX_FILTER_LENGTH);
  compiled(long);
  assert.match(refused(`${long} `).message, /expected at most 4000 characters, found 4001/);

  const nested = (n: number) => `${'('.repeat(n)}ds = 1${')'.repeat(n)}`;
  compiled(nested(MAX_FILTER_DEPTH));
  const deep = refused(nested(MAX_FILTER_DEPTH + 1));
  assert.equal(deep.offset, MAX_FILTER_DEPTH);
  assert.match(deep.message, /expected at most 32 levels of parentheses and NOT, found \(/);
  compiled(`${'NOT '.repeat(MAX_FILTER_DEPTH)}ds = 1`);
  assert.equal(refused(`${'NOT '.repeat(MAX_FILTER_DEPTH + 1)}ds = 1`).offset, MAX_FILTER_DEPTH * 4);
  // Depth is nesting, not count: many groups side by side are fine.
  compiled(Array.from({ length: 100 }, (_, i) => `(ds = ${i})`).join(' OR '));

  const list = (n: number) => `ds IN (${Array.from({ length: n }, (_, i) => i).join(',')})`;
  assert.equal(compiled(list(MAX_IN_VALUES)).params.length, MAX_IN_VALUES);
  const over = refused(list(MAX_IN_VALUES + 1));
  assert.match(over.message, /expected \) after at most 1000 values in IN, found ,/);
  assert.equal(list(MAX_IN_VALUES + 1)[over.offset], ',');
});

// ---- The property: no input ever reaches the SQL text. ----

/** A small deterministic generator, so a failure can be replayed. */
function prng(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}

/** Text meant to break out: quotes, statement ends, comments, keywords, placeholders, unicode. */
const NASTY = ["'", "''", '"', ';', '--', '/*', '*/', ' OR 1=1', 'DROP TABLE t', '); DELETE FROM t; --', '$1', '?', '\\', '%', '_', '\n', '\0', '日期', 'select', 'ds', '"ds"', 'x'];

function genString(r: ReturnType<typeof prng>): string {
  let s = '';
  const n = r.int(5);
  for (let i = 0; i < n; i++) s += r.pick(NASTY);
  return s;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

function genLiteral(r: ReturnType<typeof prng>): { text: string; value: unknown } {
  switch (r.int(3)) {
    case 0: {
      const n = r.int(2) ? r.int(100000) : -r.int(1000);
      return { text: String(n), value: BigInt(n) };
    }
    case 1: {
      const t = `${r.int(1000)}.${r.int(1000)}`;
      return { text: t, value: Number(t) };
    }
    default: {
      const s = genString(r);
      return { text: quote(s), value: s };
    }
  }
}

function genColumn(r: ReturnType<typeof prng>): string {
  const c = r.pick(COLUMNS);
  if (c === 'select' || c === 'a"b' || r.int(3) === 0) return `"${c.replace(/"/g, '""')}"`;
  return r.int(2) ? c.toUpperCase() : c;
}

function genPredicate(r: ReturnType<typeof prng>, values: unknown[]): string {
  const col = genColumn(r);
  const lit = () => {
    const l = genLiteral(r);
    values.push(l.value);
    return l.text;
  };
  const not = r.int(2) ? ' NOT' : '';
  switch (r.int(5)) {
    case 0:
      return `${col} ${r.pick(['=', '!=', '<>', '<', '<=', '>', '>='])} ${lit()}`;
    case 1:
      return `${col}${not} IN (${Array.from({ length: 1 + r.int(4) }, lit).join(', ')})`;
    case 2:
      return `${col}${not} BETWEEN ${lit()} AND ${lit()}`;
    case 3:
      return `${col} IS${not} NULL`;
    default: {
      const s = genString(r);
      values.push(s);
      return `${col}${not} LIKE ${quote(s)}`;
    }
  }
}

function genFilter(r: ReturnType<typeof prng>, depth: number, values: unknown[]): string {
  const k = depth > 4 ? 0 : r.int(4);
  if (k === 0) return genPredicate(r, values);
  if (k === 1) return `NOT ${genFilter(r, depth + 1, values)}`;
  const parts = Array.from({ length: 2 + r.int(3) }, () => genFilter(r, depth + 1, values));
  return `(${parts.join(r.int(2) ? ' AND ' : ' OR ')})`;
}

const KEYWORDS = new Set(['select', 'from', 'where', 'and', 'or', 'not', 'in', 'between', 'is', 'null', 'like', 'escape']);
const IDENTIFIERS = new Set([...COLUMNS, 't'].map((c) => `"${c.replace(/"/g, '""')}"`));

/** Fails unless the SQL is only identifiers of the table, our keywords and operators, placeholders and the LIKE escape. */
function assertOnlyStructure(text: string, placeholder: RegExp, what: string) {
  const token = /\s+|"(?:[^"]|"")+"|\$\d+|\?|<>|<=|>=|[=<>(),]|'\\'|[a-z]+/y;
  let placeholders = 0;
  for (let at = 0; at < text.length; ) {
    token.lastIndex = at;
    const m = token.exec(text);
    assert.ok(m, `${what}: unexpected text at ${at}: ${JSON.stringify(text.slice(at, at + 30))} in ${text}`);
    const t = m[0];
    if (t.startsWith('"')) assert.ok(IDENTIFIERS.has(t), `${what}: identifier ${t} is not a column`);
    else if (/^[a-z]+$/.test(t)) assert.ok(KEYWORDS.has(t), `${what}: word ${t} is not one of ours`);
    else if (t === '?' || t.startsWith('$')) {
      assert.match(t, placeholder, what);
      placeholders++;
    }
    at += t.length;
  }
  return placeholders;
}

const replacer = (_: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

test('property: 3,000 generated filters compile to column identifiers, operators and placeholders only', () => {
  const r = prng(20220101);
  for (let i = 0; i < 3000; i++) {
    const values: unknown[] = [];
    const filter = genFilter(r, 0, values);
    if (filter.length > MAX_FILTER_LENGTH) continue;
    for (const [engine, placeholder] of [
      [sqlite, /^\?$/],
      [postgres, /^\$\d+$/],
    ] as const) {
      const q = sql`select ${sql.id('phone')} from ${sql.id('t')} where ${compileFilter(parseFilter(filter), COLUMNS)}`.compile(engine);
      const n = assertOnlyStructure(q.sql, placeholder, filter);
      assert.equal(n, q.parameters.length, filter);
      // Every literal is a parameter, in order, exactly as written.
      assert.equal(JSON.stringify(q.parameters, replacer), JSON.stringify(values, replacer), filter);
    }
  }
});

test('property: random and mutated text is either refused as Filter at a position inside it, or compiles to structure only', () => {
  const r = prng(7);
  const pieces = [...NASTY, ' ', ' AND ', ' OR ', ' NOT ', '(', ')', ',', '=', '<', '>', '!', '1', '2.5', '-', 'IN', 'IS', 'NULL', 'LIKE', 'BETWEEN', 'phone', 'Region', '"', "'a'"];
  let compiledCount = 0;
  for (let i = 0; i < 6000; i++) {
    let filter = '';
    if (i % 2 === 0) {
      // Pieces strung together at random.
      const n = 1 + r.int(12);
      for (let j = 0; j < n; j++) filter += r.pick(pieces);
    } else {
      // A valid filter with a few pieces inserted or cut at random places.
      filter = genFilter(r, 2, []);
      for (let j = 1 + r.int(3); j > 0; j--) {
        const at = r.int(filter.length + 1);
        filter = r.int(2) ? filter.slice(0, at) + r.pick(pieces) + filter.slice(at) : filter.slice(0, at) + filter.slice(at + 1 + r.int(3));
      }
    }
    let node;
    try {
      node = compileFilter(parseFilter(filter), COLUMNS);
    } catch (e) {
      assert.ok(e instanceof FilterError, `${JSON.stringify(filter)} threw ${String(e)}`);
      assert.ok(e.offset >= 0 && e.offset <= filter.length, `${JSON.stringify(filter)}: offset ${e.offset}`);
      assert.match(e.message, /^Filter: at character \d+, expected .+, found .+$/);
      continue;
    }
    compiledCount++;
    for (const [engine, placeholder] of [
      [sqlite, /^\?$/],
      [postgres, /^\$\d+$/],
    ] as const) {
      const q = sql`select ${sql.id('phone')} from ${sql.id('t')} where ${node}`.compile(engine);
      assert.equal(assertOnlyStructure(q.sql, placeholder, filter), q.parameters.length, filter);
    }
  }
  assert.ok(compiledCount > 200, `enough of the text is valid to exercise the compiler (${compiledCount})`);
});
