// The statement builder behind compileRule. Values enter a statement in one
// way only, bind(): they become parameters, never text. Everything else the
// compiler writes (columns, operators, functions) comes from fixed strings
// in this folder. The few places the two engines differ are here.
//
// While a statement is built, each parameter is a marker holding its index;
// render() turns the markers into `$n` (PostgreSQL) or `?` (DuckDB) and
// orders the values as they appear in the text, so fragments may be built in
// any order and joined later.
import type { EventEngine } from '../../infra/events/schema.js';
import type { CompiledRule } from './types.js';

export type SqlType = 'text' | 'bigint' | 'int' | 'double' | 'timestamp' | 'interval';

const PG_TYPE: Record<SqlType, string> = {
  text: 'text',
  bigint: 'bigint',
  int: 'integer',
  double: 'double precision',
  timestamp: 'timestamp',
  interval: 'interval',
};
const DUCK_TYPE: Record<SqlType, string> = {
  text: 'VARCHAR',
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMP',
  interval: 'INTERVAL',
};

// Control characters cannot appear in the fixed text, and values never reach
// the text, so a marker can only be one we made.
const MARK = '\u0001';
const MARKER = /\u0001(\d+)\u0001/g;

/**
 * The numbers a parameter value may be read as, for LT, GT, SUM, MAX and MIN:
 * an optional sign, up to 30 digits each side of the point and an exponent of
 * at most two digits. Bounded so that no stored value can overflow a double
 * (PostgreSQL raises an error on that; a rule must not fail on one bad row);
 * anything else (words, blanks, spaces around the number) is not a number and
 * never matches.
 */
export const NUMBER_PATTERN = '[-+]?([0-9]{1,30}([.][0-9]{0,30})?|[.][0-9]{1,30})([eE][-+]?[0-9]{1,2})?';
const NUMBER_RE = new RegExp(`^${NUMBER_PATTERN}$`);

/** Whether a spec value reads as a number by the same rule as stored values. */
export const isNumberText = (s: string) => NUMBER_RE.test(s);

export class Sql {
  private readonly values: Array<string | number> = [];

  constructor(readonly engine: EventEngine) {}

  /** A bound value, cast to `type` so that both engines type it the same. */
  bind(value: string | number, type: SqlType): string {
    this.values.push(value);
    const ref = `${MARK}${this.values.length}${MARK}`;
    return this.engine === 'postgres' ? `${ref}::${PG_TYPE[type]}` : `CAST(${ref} AS ${DUCK_TYPE[type]})`;
  }

  /** `col IN (…)` over bound values. */
  in(col: string, values: ReadonlyArray<string | number>, type: SqlType): string {
    return `${col} IN (${values.map((v) => this.bind(v, type)).join(', ')})`;
  }

  /** The value of action parameter `name` (a string, NULL when the action has none). */
  param(name: string): string {
    const key = this.bind(name, 'text');
    return this.engine === 'postgres' ? `(params ->> ${key})` : `params[${key}]`;
  }

  /** A text expression read as a double, NULL when it is not a number (NUMBER_PATTERN). */
  number(text: () => string): string {
    // The text is built twice: a marker stands for one value in one place.
    if (this.engine === 'postgres') {
      return `(CASE WHEN ${text()} ~ '^${NUMBER_PATTERN}$' THEN CAST(${text()} AS double precision) END)`;
    }
    return `(CASE WHEN regexp_full_match(${text()}, '${NUMBER_PATTERN}') THEN TRY_CAST(${text()} AS DOUBLE) END)`;
  }

  /** The vendor day of a UTC timestamp column. */
  localDay(col: string, utcOffsetMinutes: number): string {
    return `CAST(${this.localTime(col, utcOffsetMinutes)} AS DATE)`;
  }

  /** The vendor's wall-clock time of a UTC timestamp column. */
  localTime(col: string, utcOffsetMinutes: number): string {
    return `(${col} + ${this.bind(`${utcOffsetMinutes} minutes`, 'interval')})`;
  }

  /** The statement with `$n` or `?` in place of the markers, and its values in order. */
  render(text: string): CompiledRule {
    const params: Array<string | number> = [];
    // Numbered by first appearance, so a value bound for a fragment that was
    // then left out costs nothing (PostgreSQL refuses a `$n` it cannot type).
    const seen = new Map<string, number>();
    const sql = text.replace(MARKER, (_, n: string) => {
      if (this.engine === 'duckdb') {
        params.push(this.values[Number(n) - 1]);
        return '?';
      }
      let k = seen.get(n);
      if (k === undefined) {
        params.push(this.values[Number(n) - 1]);
        k = params.length;
        seen.set(n, k);
      }
      return `$${k}`;
    });
    return { sql, params };
  }
}
