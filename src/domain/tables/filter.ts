// A table read's Filter: a small, safe subset of SQL WHERE conditions, read
// by a hand-written recursive-descent parser into a tree and compiled to a
// parameterized Kysely expression. Nothing of the client's text ever reaches
// the SQL: column names become quoted identifiers (after being checked
// against the table's real columns), literals become bound parameters, and
// operators and keywords are this file's own fixed text.
//
// Grammar (keywords case-insensitive):
//
//   filter     := or <end>
//   or         := and { OR and }
//   and        := not { AND not }
//   not        := NOT not | primary
//   primary    := "(" or ")" | predicate
//   predicate  := column ( op literal
//                        | [NOT] IN "(" literal { "," literal } ")"
//                        | [NOT] BETWEEN literal AND literal
//                        | IS [NOT] NULL
//                        | [NOT] LIKE string )
//   op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//   literal    := integer | decimal | string        (a number may carry a sign)
//   column     := name | "double-quoted name"       ("" inside is one ")
//   string     := 'single-quoted text'              ('' inside is one ')
//
// Decisions:
// - Everything else is refused with the position and what was expected
//   there: a semicolon (a second statement), comments, function calls,
//   subqueries, casts, other operators. A plain name that is an SQL keyword
//   (SELECT, UNION, CASE, …) is refused as one; a column with such a name is
//   written in double quotes.
// - A plain column name matches the table's columns case-insensitively, as
//   SQL reads an unquoted name; a quoted one matches exactly. A plain name
//   that matches two columns differing only in case must be quoted.
// - Nesting (parentheses and NOT) is at most 32 deep and a filter at most
//   4,000 characters, so neither the parser nor the database recurses
//   without bound; an IN list holds at most 1,000 values.
// - LIKE is case-sensitive with `\` as its escape character on both engines
//   (the reader sets SQLite's LIKE so), as MaxCompute's LIKE is.
// - An integer literal is bound as a 64-bit integer (BigInt), a decimal as
//   a double, a string as text. Each engine then compares as it compares a
//   column with such a value (PostgreSQL types an untyped parameter from its
//   column, so `ds=20220101` matches a text `ds` too; SQLite applies the
//   column's affinity).
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { AppError } from '../../errors.js';

export const MAX_FILTER_LENGTH = 4000;
export const MAX_FILTER_DEPTH = 32;
export const MAX_IN_VALUES = 1000;

export type Literal = { kind: 'integer'; text: string } | { kind: 'decimal'; text: string } | { kind: 'string'; value: string };

export interface ColumnRef {
  name: string;
  quoted: boolean;
  /** Offset of the name in the filter, for refusals found when compiling. */
  at: number;
}

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type FilterNode =
  | { kind: 'and'; items: FilterNode[] }
  | { kind: 'or'; items: FilterNode[] }
  | { kind: 'not'; item: FilterNode }
  | { kind: 'compare'; column: ColumnRef; op: CompareOp; value: Literal }
  | { kind: 'in'; column: ColumnRef; not: boolean; values: Literal[] }
  | { kind: 'between'; column: ColumnRef; not: boolean; low: Literal; high: Literal }
  | { kind: 'null'; column: ColumnRef; not: boolean }
  | { kind: 'like'; column: ColumnRef; not: boolean; pattern: string };

/** A refused Filter: InvalidParameter naming Filter, with where it went wrong (0-based `offset`) and what was expected there. */
export class FilterError extends AppError {
  constructor(
    readonly offset: number,
    readonly expected: string,
    readonly found: string,
    note?: string,
  ) {
    super('InvalidParameter', `Filter: at character ${offset + 1}, expected ${expected}, found ${found}${note ? ` (${note})` : ''}`, 'Filter');
  }
}

const KEYWORDS = ['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'IS', 'NULL', 'LIKE'] as const;
type Keyword = (typeof KEYWORDS)[number];
const KEYWORD_SET = new Set<string>(KEYWORDS);

/**
 * SQL words that are never read as a plain column name: each is either
 * reserved in SQL or the start of something this grammar does not take
 * (a subquery, a statement, a CASE, a cast), so the refusal says so.
 */
const RESERVED = new Set([
  'ALL', 'ALTER', 'ANY', 'AS', 'ATTACH', 'CASE', 'CAST', 'COLLATE', 'CREATE', 'DELETE', 'DISTINCT', 'DROP', 'ELSE', 'END', 'ESCAPE',
  'EXCEPT', 'EXISTS', 'FALSE', 'FROM', 'GLOB', 'GROUP', 'HAVING', 'ILIKE', 'INSERT', 'INTERSECT', 'JOIN', 'LIMIT', 'MATCH', 'OFFSET',
  'ORDER', 'PRAGMA', 'REGEXP', 'SELECT', 'SIMILAR', 'SOME', 'THEN', 'TRUE', 'TRUNCATE', 'UNION', 'UPDATE', 'VALUES', 'WHEN', 'WHERE', 'WITH',
]);

type Token =
  | { t: 'name'; text: string; quoted: boolean; at: number }
  | { t: 'kw'; kw: Keyword; text: string; at: number }
  | { t: 'num'; text: string; decimal: boolean; at: number }
  | { t: 'str'; value: string; at: number }
  | { t: 'op'; op: CompareOp; text: string; at: number }
  | { t: '(' | ')' | ','; at: number }
  | { t: 'bad'; what: string; note?: string; at: number }
  | { t: 'end'; at: number };

const NAME_START = /[\p{L}_]/u;
const NAME_PART = /[\p{L}\p{N}_]/u;
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * Cuts the filter into tokens. The first text it does not take (an unknown
 * character, a comment, an unclosed quote) becomes a `bad` token and ends
 * the list, so the parser refuses it where it stands unless something
 * before it is wrong already: the first problem is the one reported.
 */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (isSpace(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'" || c === '"') {
      // A string literal or a quoted name: the quote doubled is the quote itself.
      const what = c === "'" ? 'string' : 'quoted name';
      let text = '';
      let closed = false;
      i++;
      while (i < src.length) {
        if (src[i] === c) {
          if (src[i + 1] === c) {
            text += c;
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        text += src[i++];
      }
      if (!closed) {
        out.push({ t: 'bad', what: `a ${what} that is never closed`, note: `the ${c} at character ${at + 1} has no closing ${c}`, at });
        break;
      }
      if (c === "'") out.push({ t: 'str', value: text, at });
      else if (text.length === 0) {
        out.push({ t: 'bad', what: 'an empty quoted name ""', at });
        break;
      } else out.push({ t: 'name', text, quoted: true, at });
      continue;
    }
    if (isDigit(c) || ((c === '-' || c === '+') && isDigit(src[i + 1]))) {
      i++;
      while (isDigit(src[i])) i++;
      let decimal = false;
      if (src[i] === '.' && isDigit(src[i + 1])) {
        decimal = true;
        i++;
        while (isDigit(src[i])) i++;
      }
      out.push({ t: 'num', text: src.slice(at, i), decimal, at });
      continue;
    }
    if (NAME_START.test(c)) {
      i++;
      while (i < src.length && NAME_PART.test(src[i])) i++;
      const text = src.slice(at, i);
      const upper = text.toUpperCase();
      if (KEYWORD_SET.has(upper)) out.push({ t: 'kw', kw: upper as Keyword, text, at });
      else out.push({ t: 'name', text, quoted: false, at });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '--' || two === '/*') {
      out.push({ t: 'bad', what: `a comment (${two})`, note: 'comments are not allowed', at });
      break;
    }
    if (two === '<=' || two === '>=' || two === '<>' || two === '!=') {
      out.push({ t: 'op', op: two === '!=' ? '<>' : two, text: two, at });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      out.push({ t: 'op', op: c, text: c, at });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, at });
      i++;
      continue;
    }
    if (c === ';') out.push({ t: 'bad', what: 'a semicolon', note: 'a filter is one condition; a second statement is not allowed', at });
    else out.push({ t: 'bad', what: `the character ${JSON.stringify(String.fromCodePoint(src.codePointAt(i)!))}`, at });
    break;
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

/** Text of the filter as a message shows it: at most 40 characters, control characters escaped (a message is one line). */
const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s).replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));

const shownName = (name: string, quoted: boolean) => (quoted ? `"${clip(name)}"` : clip(name));

/** A plain (unquoted) name that is an SQL keyword: never a column, refused as the keyword it is. */
const isReserved = (tok: Token) => tok.t === 'name' && !tok.quoted && RESERVED.has(tok.text.toUpperCase());

function describe(tok: Token): string {
  switch (tok.t) {
    case 'end':
      return 'the end of the filter';
    case 'name':
      return isReserved(tok) ? `the SQL keyword ${tok.text.toUpperCase()}` : `the name ${shownName(tok.text, tok.quoted)}`;
    case 'kw':
      return `the keyword ${tok.kw}`;
    case 'num':
      return `the number ${clip(tok.text)}`;
    case 'str':
      return `the string '${clip(tok.value)}'`;
    case 'op':
      return tok.text;
    case 'bad':
      return tok.what;
    default:
      return tok.t;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i];
  }

  private next(): Token {
    return this.toks[this.i++];
  }

  private isKw(kw: Keyword): boolean {
    const t = this.peek();
    return t.t === 'kw' && t.kw === kw;
  }

  private fail(expected: string, tok: Token = this.peek(), note?: string): never {
    let why = note ?? (tok.t === 'bad' ? tok.note : undefined);
    if (!why && isReserved(tok)) why = 'subqueries, statements and other SQL are not allowed; write a column of that name in double quotes';
    throw new FilterError(tok.at, expected, describe(tok), why);
  }

  private enter(tok: Token): void {
    if (++this.depth > MAX_FILTER_DEPTH) this.fail(`at most ${MAX_FILTER_DEPTH} levels of parentheses and NOT`, tok);
  }

  parse(): FilterNode {
    const node = this.or();
    if (this.peek().t !== 'end') this.fail('AND, OR or the end of the filter');
    return node;
  }

  private or(): FilterNode {
    const items = [this.and()];
    while (this.isKw('OR')) {
      this.next();
      items.push(this.and());
    }
    return items.length === 1 ? items[0] : { kind: 'or', items };
  }

  private and(): FilterNode {
    const items = [this.not()];
    while (this.isKw('AND')) {
      this.next();
      items.push(this.not());
    }
    return items.length === 1 ? items[0] : { kind: 'and', items };
  }

  private not(): FilterNode {
    if (this.isKw('NOT')) {
      this.enter(this.next());
      const item = this.not();
      this.depth--;
      return { kind: 'not', item };
    }
    return this.primary();
  }

  private primary(): FilterNode {
    const tok = this.peek();
    if (tok.t === '(') {
      this.enter(tok);
      this.next();
      const inner = this.or();
      if (this.peek().t !== ')') this.fail(`a closing ) for the ( at character ${tok.at + 1}, or AND, OR`);
      this.next();
      this.depth--;
      return inner;
    }
    return this.predicate();
  }

  private column(): ColumnRef {
    const tok = this.peek();
    if (tok.t === 'name' && !isReserved(tok)) {
      this.next();
      return { name: tok.text, quoted: tok.quoted, at: tok.at };
    }
    const note = tok.t === 'num' || tok.t === 'str' ? 'a condition starts with a column: column = value' : undefined;
    return this.fail('a column name or (', tok, note);
  }

  private predicate(): FilterNode {
    const column = this.column();
    const tok = this.peek();
    if (tok.t === 'op') {
      this.next();
      return { kind: 'compare', column, op: tok.op, value: this.literal() };
    }
    if (tok.t === 'kw' && tok.kw === 'IS') {
      this.next();
      const not = this.isKw('NOT');
      if (not) this.next();
      if (!this.isKw('NULL')) this.fail(not ? 'NULL' : 'NULL or NOT NULL');
      this.next();
      return { kind: 'null', column, not };
    }
    let not = false;
    if (tok.t === 'kw' && tok.kw === 'NOT') {
      this.next();
      not = true;
    }
    const what = this.peek();
    if (what.t === 'kw' && what.kw === 'IN') {
      this.next();
      return { kind: 'in', column, not, values: this.list() };
    }
    if (what.t === 'kw' && what.kw === 'BETWEEN') {
      this.next();
      const low = this.literal();
      if (!this.isKw('AND')) this.fail('AND between the two bounds of BETWEEN');
      this.next();
      return { kind: 'between', column, not, low, high: this.literal() };
    }
    if (what.t === 'kw' && what.kw === 'LIKE') {
      this.next();
      const p = this.peek();
      if (p.t !== 'str') this.fail("a 'quoted' pattern after LIKE");
      this.next();
      return { kind: 'like', column, not, pattern: p.value };
    }
    if (not) this.fail('IN, BETWEEN or LIKE after NOT');
    const shown = shownName(column.name, column.quoted);
    if (what.t === '(') this.fail(`an operator after the column ${shown}`, what, 'function calls are not allowed');
    return this.fail(`an operator after the column ${shown}: =, !=, <>, <, <=, >, >=, IN, BETWEEN, IS or LIKE`, what);
  }

  private list(): Literal[] {
    if (this.peek().t !== '(') this.fail('( to open the list of IN');
    this.next();
    const values = [this.literal()];
    while (this.peek().t === ',') {
      const comma = this.next();
      if (values.length === MAX_IN_VALUES) this.fail(`) after at most ${MAX_IN_VALUES} values in IN`, comma);
      values.push(this.literal());
    }
    if (this.peek().t !== ')') this.fail(', or ) in the list of IN');
    this.next();
    return values;
  }

  private literal(): Literal {
    const tok = this.peek();
    if (tok.t === 'str') {
      this.next();
      return { kind: 'string', value: tok.value };
    }
    if (tok.t === 'num') {
      if (!tok.decimal) {
        const n = BigInt(tok.text);
        if (n < INT64_MIN || n > INT64_MAX) this.fail('an integer that fits in 64 bits', tok);
      }
      this.next();
      return tok.decimal ? { kind: 'decimal', text: tok.text } : { kind: 'integer', text: tok.text };
    }
    const note = tok.t === '(' ? 'subqueries are not allowed' : tok.t === 'name' && !tok.quoted && !isReserved(tok) ? "a text value is written in single quotes: 'text'" : undefined;
    return this.fail("a number or a 'quoted' string", tok, note);
  }
}

/** Parses a Filter into its tree, or refuses it (FilterError) with the position and what was expected. */
export function parseFilter(src: string): FilterNode {
  if (src.length > MAX_FILTER_LENGTH) throw new FilterError(MAX_FILTER_LENGTH, `at most ${MAX_FILTER_LENGTH} characters`, `${src.length}`);
  const toks = tokenize(src);
  if (toks.length === 1) throw new FilterError(0, 'a condition', 'the end of the filter');
  return new Parser(toks).parse();
}

/**
 * The table's column a name means: a quoted name exactly; a plain one
 * exactly, else the one column that matches it ignoring case. Undefined when
 * none does; `ambiguous` when a plain name matches several.
 */
export function resolveColumn(columns: readonly string[], name: string, quoted: boolean): string | { ambiguous: string[] } | undefined {
  if (columns.includes(name)) return name;
  if (quoted) return undefined;
  const lower = name.toLowerCase();
  const hits = columns.filter((c) => c.toLowerCase() === lower);
  if (hits.length === 1) return hits[0];
  return hits.length > 1 ? { ambiguous: hits } : undefined;
}

function columnOf(columns: readonly string[], ref: ColumnRef): RawBuilder<unknown> {
  const found = resolveColumn(columns, ref.name, ref.quoted);
  const shown = shownName(ref.name, ref.quoted);
  if (found === undefined) {
    const list = columns.length > 20 ? `${columns.slice(0, 20).join(', ')}, …` : columns.join(', ');
    throw new FilterError(ref.at, `a column of the table (${list})`, `the name ${shown}`, `the table has no column ${shown}`);
  }
  if (typeof found !== 'string') throw new FilterError(ref.at, `one of ${found.ambiguous.map((c) => `"${c}"`).join(', ')} in double quotes`, `the name ${shown}`, 'it matches several columns that differ only in case');
  return sql.id(found);
}

/**
 * The bound value of a literal. Integers are bound as BigInt: better-sqlite3
 * binds a JS number as a REAL, which a TEXT column would then compare as
 * '20220101.0'; a BigInt is bound as an INTEGER (and node-postgres sends it
 * as its digits).
 */
function valueOf(l: Literal): bigint | number | string {
  if (l.kind === 'string') return l.value;
  if (l.kind === 'decimal') return Number(l.text);
  return BigInt(l.text);
}

const OPS: Record<CompareOp, RawBuilder<unknown>> = { '=': sql`=`, '<>': sql`<>`, '<': sql`<`, '<=': sql`<=`, '>': sql`>`, '>=': sql`>=` };

/**
 * The filter as a parameterized condition on a table with these columns.
 * Every column is checked here; an unknown one is refused naming it.
 */
export function compileFilter(node: FilterNode, columns: readonly string[]): RawBuilder<SqlBool> {
  const c = (n: FilterNode): RawBuilder<SqlBool> => {
    switch (n.kind) {
      case 'and':
        return sql<SqlBool>`(${sql.join(n.items.map(c), sql` and `)})`;
      case 'or':
        return sql<SqlBool>`(${sql.join(n.items.map(c), sql` or `)})`;
      case 'not':
        return sql<SqlBool>`not (${c(n.item)})`;
      case 'compare':
        return sql<SqlBool>`${columnOf(columns, n.column)} ${OPS[n.op]} ${valueOf(n.value)}`;
      case 'in':
        return sql<SqlBool>`${columnOf(columns, n.column)} ${n.not ? sql`not in` : sql`in`} (${sql.join(n.values.map(valueOf))})`;
      case 'between':
        return sql<SqlBool>`${columnOf(columns, n.column)} ${n.not ? sql`not between` : sql`between`} ${valueOf(n.low)} and ${valueOf(n.high)}`;
      case 'null':
        return sql<SqlBool>`${columnOf(columns, n.column)} ${n.not ? sql`is not null` : sql`is null`}`;
      case 'like':
        return sql<SqlBool>`${columnOf(columns, n.column)} ${n.not ? sql`not like` : sql`like`} ${n.pattern} escape '\\'`;
    }
  };
  return c(node);
}
