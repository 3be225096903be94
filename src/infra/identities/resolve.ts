// One batch of lines → one user id per line, given each key's key id.
//
// The result is what handling the lines one at a time, in order, would give:
// - a line's user is the user of its first key (in input order) that already
//   has one, whether from an earlier commit or from an earlier line of the
//   same batch (so a repeated line, or a line sharing one key with an earlier
//   line, gets that line's user);
// - open mode: a line none of whose keys has a user gets the next user id,
//   and every key of the line that has no user yet is linked to the line's
//   user; closed mode changes nothing;
// - two keys of one line already held by different users is a conflict: the
//   line keeps the first key's user, no key is relinked (a key's user never
//   changes once set, which keeps the users file append-only), and the line
//   is counted in `conflicts`.
import type { KeyWidth } from './arena.js';
import { addon } from '../native.js';
import { ABSENT } from './table.js';
import { NO_USER, type UserColumn } from './users.js';

export type ResolveMode = 'open' | 'closed';

/** The keys of one id type in a batch, with the line each belongs to. */
export interface TypeKeys {
  /** Id type name (a file name part: [a-z0-9_]). */
  readonly type: string;
  /** Bytes per key: 16 (MD5, 32-hex opaque) or 32 (SHA-256, 64-hex opaque). */
  readonly width: KeyWidth;
  /** `count` keys back to back (more bytes may follow and are ignored). */
  readonly keys: Uint8Array;
  readonly count: number;
  /**
   * The line (index in the batch) of each key, non-decreasing. Omitted: key i
   * is on line i. The ingest loop appends a line's keys to its type's group
   * as it goes, so this is the line counter at the time.
   */
  readonly lines?: Uint32Array;
}

export interface Resolution {
  /** One per line: its user id, or NO_USER (0xFFFFFFFF) when it has none. */
  users: Uint32Array;
  /** Lines whose user existed before the line: from a commit or an earlier line of the batch. */
  matched: number;
  /** Lines that got a new user (open mode). */
  added: number;
  /** Lines left without a user: no key known (closed mode) or no keys at all. */
  unmatched: number;
  /** Lines whose known keys belong to more than one user (the first kept). */
  conflicts: number;
  /** Keys added to the dictionary (open mode). */
  newKeys: number;
}

/** Checks the groups and returns the number of lines they span. */
export function lineCountOf(groups: readonly TypeKeys[], lineCount: number | undefined): number {
  let n = 0;
  for (const g of groups) {
    if (!Number.isInteger(g.count) || g.count < 0) throw new RangeError(`${g.type}: bad key count ${g.count}`);
    if (g.keys.length < g.count * g.width) throw new RangeError(`${g.type}: ${g.count} keys of ${g.width} bytes need ${g.count * g.width} bytes, got ${g.keys.length}`);
    if (g.count === 0) continue;
    if (g.lines === undefined) {
      n = Math.max(n, g.count);
      continue;
    }
    const lines = g.lines;
    if (lines.length < g.count) throw new RangeError(`${g.type}: ${g.count} keys but ${lines.length} line numbers`);
    for (let k = 1; k < g.count; k++) if (lines[k] < lines[k - 1]) throw new RangeError(`${g.type}: line numbers must not decrease (key ${k})`);
    n = Math.max(n, lines[g.count - 1] + 1);
  }
  if (lineCount === undefined) return n;
  if (!Number.isInteger(lineCount) || lineCount < n) throw new RangeError(`lineCount ${lineCount} is less than the ${n} lines the keys span`);
  return lineCount;
}

/**
 * The line pass: `ids[g][k]` is the key id of key k of group g (ABSENT when
 * not in the table), `columns[g]` its type's user column (undefined: no such
 * table). `next` hands out a new user id; undefined in closed mode.
 */
export function resolveLines(
  groups: readonly TypeKeys[],
  ids: readonly Uint32Array[],
  columns: readonly (UserColumn | undefined)[],
  lineCount: number,
  next: (() => number) | undefined,
): Resolution {
  if (groups.every((g) => g.lines === undefined || g.count === 0)) return resolveByIndex(groups, ids, columns, lineCount, next);
  return resolveGeneral(groups, ids, columns, lineCount, next);
}

/**
 * resolveLines when key k of every group is on line k (what the ingest loop
 * sends for a plain file): the same rules. The lines where every group that
 * has keys and a table has a key go through the native pass
 * (native/resolve_lines.cc), which reads the user columns' chunks directly
 * and prefetches ahead; the rest, if any, through passLines. A group with no
 * keys or no table (closed mode, a type the dictionary has not seen) is left
 * out of the native pass: it gives no user and links nothing, and on those
 * lines every group the pass reads has a key, so leaving it out changes no
 * outcome.
 *
 * New users: the native pass cannot call `next`, so it runs until the first
 * line that needs one, then takes that id from `next` and numbers the
 * batch's other new users after it, and `next` is then called once for each
 * of them. Both callers' `next` hand out consecutive ids (a counter), which
 * is checked; near the uint32 limit, where `next` may refuse, the rest of the
 * batch takes the JavaScript path so that it fails exactly where it would.
 */
function resolveByIndex(
  groups: readonly TypeKeys[],
  ids: readonly Uint32Array[],
  columns: readonly (UserColumn | undefined)[],
  lineCount: number,
  next: (() => number) | undefined,
): Resolution {
  const r = emptyResolution(lineCount);
  const users = r.users;
  const nativeIds: Uint32Array[] = [];
  const nativeColumns: Uint32Array[][] = [];
  let full = lineCount;
  for (let g = 0; g < groups.length; g++) {
    const col = columns[g];
    if (col === undefined || groups[g].count === 0) continue;
    nativeIds.push(ids[g]);
    nativeColumns.push(col.chunks);
    full = Math.min(full, groups[g].count);
  }
  if (nativeColumns.length === 0) full = 0;
  let line = 0;
  let nextOf = next;
  if (full > 0) {
    const out = new Float64Array(4);
    const open = next !== undefined;
    line = addon.resolveLines(nativeIds, nativeColumns, users, 0, full, open, false, 0, out);
    if (line < full) {
      const base = next!();
      if (base + (full - line) < NO_USER) {
        line = addon.resolveLines(nativeIds, nativeColumns, users, line, full, true, true, base, out);
        for (let i = 1; i < out[1]; i++) {
          const u = next!();
          if (u !== base + i) throw new Error(`resolveLines: next() handed out ${u} after ${base + i - 1}; it must count up by one`);
        }
      } else {
        let taken = false;
        nextOf = () => {
          if (taken) return next!();
          taken = true;
          return base;
        };
      }
    }
    r.matched = out[0];
    r.added = out[1];
    r.unmatched = out[2];
    r.conflicts = out[3];
  }
  passLines(groups, ids, columns, line, nextOf, r);
  return r;
}

/** resolveLines for groups with line lists (CSV rows, refused lines, raw ids with fewer forms). */
function resolveGeneral(
  groups: readonly TypeKeys[],
  ids: readonly Uint32Array[],
  columns: readonly (UserColumn | undefined)[],
  lineCount: number,
  next: (() => number) | undefined,
): Resolution {
  const r = emptyResolution(lineCount);
  passLines(groups, ids, columns, 0, next, r);
  return r;
}

function emptyResolution(lineCount: number): Resolution {
  return { users: new Uint32Array(lineCount), matched: 0, added: 0, unmatched: 0, conflicts: 0, newKeys: 0 };
}

/**
 * The rules in JavaScript for lines [from, r.users.length), counts added to
 * r. `from` > 0 only for groups without line lists (the rest of a batch the
 * native pass began), where key k is on line k.
 */
function passLines(
  groups: readonly TypeKeys[],
  ids: readonly Uint32Array[],
  columns: readonly (UserColumn | undefined)[],
  from: number,
  next: (() => number) | undefined,
  r: Resolution,
): void {
  const users = r.users;
  const G = groups.length;
  const cursor = new Uint32Array(G);
  if (from > 0) for (let g = 0; g < G; g++) cursor[g] = Math.min(from, groups[g].count);
  for (let line = from; line < users.length; line++) {
    let user = NO_USER;
    let keys = 0;
    let conflict = false;
    for (let g = 0; g < G; g++) {
      const { count, lines } = groups[g];
      const col = columns[g];
      for (let k = cursor[g]; k < count && (lines ? lines[k] : k) === line; k++) {
        keys++;
        const id = ids[g][k];
        if (id === ABSENT || col === undefined) continue;
        const u = col.get(id);
        if (u === NO_USER) continue;
        if (user === NO_USER) user = u;
        else if (u !== user) conflict = true;
      }
    }
    if (user !== NO_USER) r.matched++;
    else if (next !== undefined && keys > 0) {
      user = next();
      r.added++;
    } else r.unmatched++;
    if (conflict) r.conflicts++;
    for (let g = 0; g < G; g++) {
      const { count, lines } = groups[g];
      const col = columns[g];
      let k = cursor[g];
      for (; k < count && (lines ? lines[k] : k) === line; k++) {
        if (next !== undefined && col !== undefined && col.get(ids[g][k]) === NO_USER) col.set(ids[g][k], user);
      }
      cursor[g] = k;
    }
    users[line] = user;
  }
}
