// The identity dictionary of the scale mode: one table in PostgreSQL,
// `identity_keys(type, key, user_id)`, shared by every worker, and the
// `identity_users` sequence that hands out user ids.
//
// Bulk, never per row. DESIGN.md measures a database at 0.2 M single-row
// operations per second against 5-6 M/s for the in-memory table, so a resolve
// call costs a fixed number of statements whatever its size:
//   1. one lookup of every distinct key of the batch (all types at once, a
//      join of identity_keys with unnest() of the keys);
//   2. the line pass, in memory, by resolveLines itself (resolve.ts), so the
//      rules are the embedded dictionary's to the letter;
//   3. when the pass made new users: one nextval() over generate_series for
//      all of them;
//   4. when it linked new keys: one INSERT ... SELECT FROM unnest(...) ON
//      CONFLICT DO NOTHING in a transaction (BEGIN, INSERT, COMMIT).
// Arrays travel in PostgreSQL's binary array format (a bytea[] is the raw
// digests with a 4-byte length each), not as hex text.
//
// The race. Two workers ingesting overlapping files may both find a key
// absent in step 1 and both try to add it. The INSERT's ON CONFLICT waits
// for the other transaction and then skips the key, so its row count comes
// back short. The transaction is then rolled back as a whole, the keys it
// tried to add are read again (the winner's rows are committed now, so the
// lookup returns their users), and the line pass runs again with them. The
// outcome is exactly that of running this batch after the winner's: every
// key has one row, and lines that share a key with the winner's batch take
// the winner's user, so both bitmaps use it. Rolling back rather than keeping
// the rows that did go in matters: a line whose keys were half linked by us
// and half by the winner would otherwise join two users where serial order
// joins one. Each retry knows strictly more keys, so the loop ends; the
// INSERT takes its keys in (type, key) order, so two transactions wait on
// each other's keys in one order and cannot deadlock (a 40P01 is still
// treated as a lost race and retried).
//
// User ids: the sequence runs 0 .. 0xFFFFFFFE (NO_USER is the "none" mark).
// Ids drawn for an attempt whose transaction rolled back are kept and handed
// out first next time; ids drawn for a statement that failed for another
// reason are dropped, since its outcome is unknown (gaps are harmless: a
// bitmap never names an id no key points at).
//
// commit() has nothing to do: a key row becomes visible to anyone, this
// worker included, only when the INSERT's transaction commits, and that
// happens inside resolve() before it returns. So every user id resolve()
// hands back is already durable (or belongs to a key that was already
// committed) before the caller can point a bitmap at it.
import { sql, type Kysely } from 'kysely';
import { cardinality, type ReadonlyBitmap } from '../bitmaps/index.js';
import { isPostgres, type Db } from '../db/index.js';
import type { KeyWidth } from './arena.js';
import type { IdentityDictionary } from './dictionary.js';
import { checkTypeName } from './files.js';
import { lineCountOf, resolveLines, type Resolution, type ResolveMode, type TypeKeys } from './resolve.js';
import { KeyTable } from './table.js';
import { NO_USER, UserColumn } from './users.js';

const BYTEA_OID = 17;
const INT8_OID = 20;
const TEXT_OID = 25;
const DEADLOCK = '40P01';
/** Lost races in a row before giving up; each one needs another worker to win a key of this batch. */
const MAX_ATTEMPTS = 64;
/** Members per export query: one query, one chunk of keys. */
export const PG_EXPORT_CHUNK = 65_536;

/** The distinct keys of one (type, width) in a batch; a key's local id is its place in `keys`. */
interface BatchTable {
  readonly type: string;
  readonly width: KeyWidth;
  readonly name: Buffer;
  readonly keys: KeyTable;
  /** User of each local id per the database; NO_USER: no row seen. */
  known: Uint32Array;
}

/** Some local ids of some batch tables: what a lookup or an insert sends. */
type Selection = ReadonlyArray<{ table: BatchTable; ids: Uint32Array | undefined }>;

/** The INSERT saw a key another transaction added: roll back and re-read. */
const LOST = Symbol('lost race');

export class PgDictionary implements IdentityDictionary {
  readonly kind = 'postgres' as const;
  /** Ids drawn from the sequence that no committed row uses (from rolled-back attempts), ascending. */
  private spare: number[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private lost = 0;

  constructor(private readonly db: Db | Kysely<any>) {
    if (!isPostgres(db as Db)) throw new Error('PgDictionary needs a PostgreSQL database');
  }

  resolve(input: readonly TypeKeys[], mode: ResolveMode, lineCount?: number): Promise<Resolution> {
    return this.track(this.resolveNow(input, mode, lineCount));
  }

  /** Nothing to do: resolve() returns only after its rows committed (see the top of this file). */
  commit(): Promise<void> {
    return Promise.resolve();
  }

  exportKeys(type: string, width: KeyWidth, members: ReadonlyBitmap): AsyncIterable<Uint8Array> {
    checkTypeName(type);
    return this.exportNow(type, width, members);
  }

  /** Insert attempts rolled back because another writer added one of their keys first. */
  get lostRaces(): number {
    return this.lost;
  }

  /** Waits for the calls in flight. The database handle is the caller's to destroy. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, done);
    return p;
  }

  private async resolveNow(input: readonly TypeKeys[], mode: ResolveMode, lineCount: number | undefined): Promise<Resolution> {
    for (const g of input) {
      checkTypeName(g.type);
      if (g.width !== 16 && g.width !== 32) throw new RangeError(`${g.type}: key width must be 16 or 32 bytes, not ${String(g.width)}`);
    }
    const lines = lineCountOf(input, lineCount);
    const open = mode === 'open';

    // The batch's distinct keys per (type, width), and each key's local id.
    const tables = new Map<string, BatchTable>();
    const groupTables: (BatchTable | undefined)[] = [];
    const ids: Uint32Array[] = [];
    for (const g of input) {
      const out = new Uint32Array(g.count);
      ids.push(out);
      if (g.count === 0) {
        groupTables.push(undefined);
        continue;
      }
      const name = `${g.type}.${g.width}`;
      let t = tables.get(name);
      if (t === undefined) {
        t = { type: g.type, width: g.width, name: Buffer.from(g.type), keys: new KeyTable(g.width, g.count), known: new Uint32Array(0) };
        tables.set(name, t);
      } else t.keys.reserve(t.keys.size + g.count);
      t.keys.insertMissing(g.keys, g.count, out);
      groupTables.push(t);
    }
    const all = [...tables.values()];
    for (const t of all) t.known = new Uint32Array(t.keys.size).fill(NO_USER);
    if (all.length > 0) await this.lookup(all.map((table) => ({ table, ids: undefined })));

    // Ids this call holds from the sequence (or the spare list), ascending.
    let held: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const columns = new Map<BatchTable, UserColumn>();
      // Provisional ids for new users start above every user the batch knows,
      // so they cannot be mistaken for one; they are replaced by real ids once
      // the pass has counted how many it needs.
      let base = 0;
      for (const t of all) {
        const col = new UserColumn();
        col.grow(t.known.length);
        for (let i = 0; i < t.known.length; i++) {
          const u = t.known[i];
          if (u === NO_USER) continue;
          col.set(i, u);
          if (u >= base) base = u + 1;
        }
        columns.set(t, col);
      }
      let provisional = base;
      const next = open
        ? () => {
            if (provisional >= NO_USER) throw new RangeError(`the identity dictionary holds ${NO_USER} users, the most a uint32 id allows`);
            return provisional++;
          }
        : undefined;
      const r = resolveLines(input, ids, groupTables.map((t) => (t === undefined ? undefined : columns.get(t))), lines, next);
      if (!open) return r;

      if (r.added > held.length) held = await this.allocate(r.added - held.length, held);
      const real = (u: number) => (u !== NO_USER && u >= base ? held[u - base] : u);
      const users = r.users;
      for (let i = 0; i < lines; i++) users[i] = real(users[i]);

      // Every key the pass linked that the database does not have yet.
      const adds: Array<{ table: BatchTable; ids: Uint32Array; users: Uint32Array }> = [];
      let newKeys = 0;
      for (const t of all) {
        const col = columns.get(t)!;
        const fresh: number[] = [];
        for (let i = 0; i < t.known.length; i++) if (t.known[i] === NO_USER && col.get(i) !== NO_USER) fresh.push(i);
        if (fresh.length === 0) continue;
        const freshIds = Uint32Array.from(fresh);
        const freshUsers = new Uint32Array(fresh.length);
        for (let j = 0; j < fresh.length; j++) freshUsers[j] = real(col.get(fresh[j]));
        adds.push({ table: t, ids: freshIds, users: freshUsers });
        newKeys += fresh.length;
      }

      if (newKeys === 0 || (await this.insert(adds, newKeys))) {
        // The ids past the ones used were never written anywhere.
        this.release(held.slice(r.added));
        r.newKeys = newKeys;
        return r;
      }
      // Lost a race: nothing of this attempt was written. Learn the winners'
      // users for the keys we tried to add and run the pass again.
      this.lost++;
      if (attempt >= MAX_ATTEMPTS) {
        this.release(held);
        throw new Error(`identity dictionary: gave up after ${attempt} attempts lost to concurrent writers`);
      }
      await this.lookup(adds);
    }
  }

  /** Sets `known` for the selected keys that have a row. One statement. */
  private async lookup(selection: Selection): Promise<void> {
    const { types, keys, owners } = encodeKeys(selection);
    const { rows } = await sql<{ i: number | string; user_id: number | string }>`
      SELECT k.i, ik.user_id
      FROM unnest(${types}::text[], ${keys}::bytea[]) WITH ORDINALITY AS k(type, key, i)
      JOIN identity_keys ik ON ik.type = k.type AND ik.key = k.key`.execute(this.db);
    for (const row of rows) {
      const { table, id } = owners(Number(row.i) - 1);
      table.known[id] = Number(row.user_id);
    }
  }

  /**
   * Adds the rows in one transaction; false (and nothing written) when any
   * key was added meanwhile by another transaction.
   */
  private async insert(adds: ReadonlyArray<{ table: BatchTable; ids: Uint32Array; users: Uint32Array }>, count: number): Promise<boolean> {
    const { types, keys } = encodeKeys(adds);
    const users = new ArrayWriter(INT8_OID, count, count * 8);
    for (const a of adds) for (let j = 0; j < a.users.length; j++) users.int8(a.users[j]);
    try {
      await this.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ n: number | string }>`
          WITH ins AS (
            INSERT INTO identity_keys (type, key, user_id)
            SELECT k.type, k.key, k.user_id
            FROM unnest(${types}::text[], ${keys}::bytea[], ${users.done()}::int8[]) AS k(type, key, user_id)
            ORDER BY k.type, k.key
            ON CONFLICT (type, key) DO NOTHING
            RETURNING 1)
          SELECT count(*) AS n FROM ins`.execute(trx);
        if (Number(rows[0].n) !== count) throw LOST;
      });
      return true;
    } catch (e) {
      if (e === LOST || (e as { code?: unknown }).code === DEADLOCK) return false;
      throw e;
    }
  }

  /** `held` plus `n` more ids, from the spare list first, then the sequence; ascending. */
  private async allocate(n: number, held: number[]): Promise<number[]> {
    const take = this.spare.splice(0, Math.min(n, this.spare.length));
    const more = n - take.length;
    if (more > 0) {
      const { rows } = await sql<{ id: number | string }>`SELECT nextval('identity_users') AS id FROM generate_series(1, ${more}::int)`.execute(this.db);
      for (const row of rows) take.push(Number(row.id));
    }
    return [...held, ...take].sort((a, b) => a - b);
  }

  private release(ids: number[]): void {
    if (ids.length === 0) return;
    this.spare = [...this.spare, ...ids].sort((a, b) => a - b);
  }

  /**
   * The members, PG_EXPORT_CHUNK at a time, each chunk joined with the
   * (type, user_id) index and its keys concatenated server-side into one
   * bytea: one statement and one row per chunk, ordered by user then key.
   * Memory holds one chunk of members and its keys, whatever the table size.
   */
  private async *exportNow(type: string, width: KeyWidth, members: ReadonlyBitmap): AsyncIterable<Uint8Array> {
    const total = cardinality(members);
    const page = new Uint32Array(Math.min(PG_EXPORT_CHUNK, Math.max(1, total)));
    for (let offset = 0; offset < total; offset += page.length) {
      const ids = members.rangeUint32Array(page, offset, page.length);
      if (ids.length === 0) break;
      const arr = new ArrayWriter(INT8_OID, ids.length, ids.length * 8);
      for (let i = 0; i < ids.length; i++) arr.int8(ids[i]);
      const { rows } = await sql<{ keys: Buffer | null }>`
        SELECT string_agg(ik.key, ''::bytea ORDER BY ik.user_id, ik.key) AS keys
        FROM unnest(${arr.done()}::int8[]) AS u(id)
        JOIN identity_keys ik ON ik.type = ${type} AND ik.user_id = u.id
        WHERE length(ik.key) = ${width}`.execute(this.db);
      const keys = rows[0]?.keys;
      if (keys && keys.length > 0) yield new Uint8Array(keys.buffer, keys.byteOffset, keys.length);
    }
  }
}

/**
 * The selected keys as two parallel binary arrays (type text[], key
 * bytea[]), and the way back from a 0-based position in them to its key.
 */
function encodeKeys(selection: Selection): { types: Buffer; keys: Buffer; owners: (at: number) => { table: BatchTable; id: number } } {
  let count = 0;
  let typeBytes = 0;
  let keyBytes = 0;
  for (const { table, ids } of selection) {
    const n = ids === undefined ? table.keys.size : ids.length;
    count += n;
    typeBytes += n * table.name.length;
    keyBytes += n * table.width;
  }
  const types = new ArrayWriter(TEXT_OID, count, typeBytes);
  const keys = new ArrayWriter(BYTEA_OID, count, keyBytes);
  const starts: number[] = [];
  let at = 0;
  for (const { table, ids } of selection) {
    starts.push(at);
    const n = ids === undefined ? table.keys.size : ids.length;
    for (let j = 0; j < n; j++) {
      types.bytes(table.name);
      keys.bytes(table.keys.keyOf(ids === undefined ? j : ids[j]));
    }
    at += n;
  }
  const owners = (pos: number) => {
    let s = starts.length - 1;
    while (starts[s] > pos) s--;
    const { table, ids } = selection[s];
    const j = pos - starts[s];
    return { table, id: ids === undefined ? j : ids[j] };
  };
  return { types: types.done(), keys: keys.done(), owners };
}

/**
 * A one-dimensional array in PostgreSQL's binary format (what array_recv
 * reads): header, then each element as a 4-byte length and its bytes. pg
 * sends a Buffer parameter as binary, so `$1::bytea[]` gets the raw digests.
 */
class ArrayWriter {
  private readonly buf: Buffer;
  private at = 20;

  constructor(oid: number, count: number, elementBytes: number) {
    this.buf = Buffer.allocUnsafe(20 + 4 * count + elementBytes);
    this.buf.writeInt32BE(1, 0); // dimensions
    this.buf.writeInt32BE(0, 4); // no nulls
    this.buf.writeUInt32BE(oid, 8);
    this.buf.writeInt32BE(count, 12);
    this.buf.writeInt32BE(1, 16); // lower bound
  }

  bytes(src: Uint8Array): void {
    const { buf } = this;
    let at = this.at;
    buf.writeInt32BE(src.length, at);
    at += 4;
    for (let i = 0; i < src.length; i++) buf[at + i] = src[i];
    this.at = at + src.length;
  }

  /** A uint32 as an int8 element. */
  int8(v: number): void {
    const { buf } = this;
    buf.writeInt32BE(8, this.at);
    buf.writeUInt32BE(0, this.at + 4);
    buf.writeUInt32BE(v, this.at + 8);
    this.at += 12;
  }

  done(): Buffer {
    if (this.at !== this.buf.length) throw new Error(`binary array: wrote ${this.at} of ${this.buf.length} bytes`);
    return this.buf;
  }
}
