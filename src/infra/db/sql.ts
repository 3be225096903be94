// SQL pieces that list queries share (the audience list, Mintegral's list,
// PAI's ListGroups, Tencent's custom_audiences/get), the same on SQLite and
// PostgreSQL.
import { sql, type RawBuilder } from 'kysely';
import { isPostgres, type Db } from './index.js';

/**
 * `column` holds `value` as a substring, by LIKE: the value's own `%`, `_`
 * and `\` match only themselves. The ESCAPE clause is needed on SQLite,
 * whose LIKE has no escape character otherwise. Case-insensitive for ASCII on
 * SQLite, case-sensitive on PostgreSQL, as LIKE is.
 */
export function likeContains(column: string, value: string): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} like ${`%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`;
}

/** `column` holds `value` as a substring, exactly: case-sensitive on both databases. */
export function holdsExactly(db: Db, column: string, value: string): RawBuilder<boolean> {
  return isPostgres(db) ? sql<boolean>`strpos(${sql.ref(column)}, ${value}) > 0` : sql<boolean>`instr(${sql.ref(column)}, ${value}) > 0`;
}
