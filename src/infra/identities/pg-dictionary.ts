// The identity dictionary of the scale mode: one table in PostgreSQL,
// `identity_keys(type, key, user_id)`, shared by every worker, and the
// `identity_users` sequence that hands out user ids.
//
// Bulk, never per row. DESIGN.md measures a database at ~0.2 M single-row
// operations per second against 5-6 M/s for the in-memory table, so a resolve
// call costs a fixed number of statements whatever its size:
//   1. one lookup of every distinct key of the batch (all types at once:
//      unnest() of the keys, one primary-key probe each), in a transaction
//      of its own only to turn JIT off for it (see withoutJit);
//   2. the line pass, in memory, by resolveLines itself (resolve.ts), so the
//      rules are the embedded dictionary's to the letter;
//   3. when the pass made new users: one nextval() over generate_series for
//      all of them;
//   4. when it linked new keys: one INSERT ... SELECT FROM unnest(...).
// A batch of known keys costs step 1 alone. Arrays travel in PostgreSQL's
// binary array format (a bytea[] is the raw digests with a 4-byte length
// each), not as hex text, and answers come back packed in one bytea.
//
// The race. Two workers ingesting overlapping files may both find a key
// absent in step 1 and both try to add it. The second INSERT to reach the
// key waits for the first one's transaction and, once that commits, fails on
// the primary key as a whole: one statement is atomic, so none of its rows
// stay. The keys it tried to add are then read again (the winner's rows are
// committed now, so the lookup returns their users) and the line pass runs
// again with them. The outcome is exactly that of running this batch after
// the winner's: every key has one row, and lines that share a key with the
// winner's batch take the winner's user, so both bitmaps use it. Failing as
// a whole rather than keeping the rows that did go in matters: a line whose
// keys were half added by us and half by the winner would otherwise join two
// users where serial order joins one. Each retry knows strictly more keys,
// so the loop ends. Every worker sends its keys in one global order (tables
// by type and width, keys bytewise), so two INSERTs wait on each other's
// keys in one order and cannot deadlock (a 40P01 is still treated as a lost
// race and retried).
//
// Only the keys we tried to add need reading again: a key's user never
// changes once its row exists, so every other answer of step 1 still holds.
//
// User ids: the sequence runs 0 .. 0xFFFFFFFE (NO_USER is the "none" mark).
// Ids drawn for an attempt that lost a race were never written and are handed
// out first next time; ids drawn for a statement that failed for another
// reason are dropped, since its outcome is unknown (gaps are harmless: a
// bitmap never names an id no key points at).
//
// commit() has nothing to do: a key row becomes visible to anyone, this
// worker included, only when its INSERT committed, and that happens inside
// resolve() before it returns. So every user id resolve() hands back belongs
// to a committed row before the caller can point a bitmap at it, and a crash
// at any point leaves either all of a batch's new rows or none.
import { sql, type Kysely } from 'kysely';
import { cardinality, type ReadonlyBitmap } from '../bitmaps/index.js';
import { isPostgres, type Db } from '../db/index.js';
import type { KeyWidth } from './arena.js';
import type { IdentityDictionary } from './dictionary.js';
import { checkTypeName } from './files.js';
import { lineCountOf, resolveLines, type Resolution, type ResolveMode, type TypeKeys } from './resolve.js';
import { NO_USER, UserColumn } from './users.js';

const BYTEA_OID = 17;
const INT8_OID = 20;
const TEXT_OID = 25;
const UNIQUE_VIOLATION = '23505';
const DEADLOCK = '40P01';
/** Lost races in a row before giving up; each one needs another worker to win a key of this batch. */
const MAX_ATTEMPTS = 64;
/** Members per export query: one query, one chunk of keys. */
export const PG_EXPORT_CHUNK = 65_536;
/** An export chunk is read by range when its ids span at most this many times its size. */
const DENSE_SPAN = 16;

/**
 * The distinct keys of one (type, width) in a batch, in bytewise order; a
 * key's local id is its rank in that order.
 */
interface BatchTable {
  readonly type: string;
  readonly width: KeyWidth;
  readonly name: Buffer;
  /** The distinct keys back to back, ascending. */
  readonly bytes: Uint8Array;
  /** User of each local id per the database; NO_USER: no row seen. */
  readonly known: Uint32Array;
}

/** Some local ids of some batch tables (undefined: all of them), in the order they are sent. */
type Selection = ReadonlyArray<{ table: BatchTable; ids: Uint32Array | undefined }>;

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
    // Tables go in (type, width) order and keys in byte order within each:
    // every worker sends its keys in one global order, which is what keeps two
    // INSERTs from deadlocking, and probes walk the index in order.
    const parts = new Map<string, number[]>();
    for (let g = 0; g < input.length; g++) {
      if (input[g].count === 0) continue;
      const name = `${input[g].type}.${input[g].width}`;
      const list = parts.get(name);
      if (list === undefined) parts.set(name, [g]);
      else list.push(g);
    }
    const ids = input.map((g) => new Uint32Array(g.count));
    const groupTables: (BatchTable | undefined)[] = input.map(() => undefined);
    const all: BatchTable[] = [];
    for (const name of [...parts.keys()].sort()) {
      const members = parts.get(name)!;
      const { type, width } = input[members[0]];
      const slices = members.map((g) => input[g].keys.subarray(0, input[g].count * width));
      const { bytes, ranks } = distinctSorted(slices.length === 1 ? slices[0] : Buffer.concat(slices), width);
      const table: BatchTable = { type, width, name: Buffer.from(type), bytes, known: new Uint32Array(bytes.length / width).fill(NO_USER) };
      all.push(table);
      let at = 0;
      for (const g of members) {
        ids[g].set(ranks.subarray(at, at + input[g].count));
        at += input[g].count;
        groupTables[g] = table;
      }
    }
    if (all.length > 0) await this.lookup(all.map((table) => ({ table, ids: undefined })));

    // Ids this call holds from the sequence (or the spare list), ascending.
    let held: Uint32Array = new Uint32Array(0);
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

      // Every key the pass linked that the database does not have yet, in key order.
      const adds: Array<{ table: BatchTable; ids: Uint32Array; users: Uint32Array }> = [];
      let newKeys = 0;
      for (const t of all) {
        const col = columns.get(t)!;
        const { known } = t;
        let m = 0;
        for (let id = 0; id < known.length; id++) if (known[id] === NO_USER && col.get(id) !== NO_USER) m++;
        if (m === 0) continue;
        const freshIds = new Uint32Array(m);
        const freshUsers = new Uint32Array(m);
        for (let id = 0, k = 0; id < known.length; id++) {
          if (known[id] !== NO_USER) continue;
          const u = col.get(id);
          if (u === NO_USER) continue;
          freshIds[k] = id;
          freshUsers[k++] = real(u);
        }
        adds.push({ table: t, ids: freshIds, users: freshUsers });
        newKeys += m;
      }

      if (newKeys === 0 || (await this.insert(adds, newKeys))) {
        // The ids past the ones used were never written anywhere.
        this.release(held.subarray(r.added));
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

  /**
   * Sets `known` for the selected keys that have a row: one primary-key
   * probe per key, in the order sent (key order, so the probes walk the index
   * in order: 2-3 us a probe against 7-8 us in random order). LATERAL ...
   * LIMIT 1 keeps the planner from a hash join, which reads the whole table
   * (measured: 0.88 s against 0.32 s for 65,536 keys in a 2 M-row table, and
   * the gap grows with the table).
   */
  private async lookup(selection: Selection): Promise<void> {
    const { types, keys, owners } = encodeKeys(selection);
    // The hits come back packed in one bytea, 12 bytes each (int4 position,
    // int8 user), rather than as a row each: a 65,536-key answer parses in a
    // few ms instead of ~40.
    const { rows } = await this.withoutJit((db) =>
      sql<{ hits: Buffer | null }>`
        SELECT string_agg(int4send(k.i::int4) || int8send(x.user_id), ''::bytea) AS hits
        FROM unnest(${types}::text[], ${keys}::bytea[]) WITH ORDINALITY AS k(type, key, i)
        CROSS JOIN LATERAL (SELECT ik.user_id FROM identity_keys ik WHERE ik.type = k.type AND ik.key = k.key LIMIT 1) AS x`.execute(db),
    );
    const hits = rows[0]?.hits;
    if (!hits) return;
    for (let o = 0; o < hits.length; o += 12) {
      const { table, id } = owners(hits.readInt32BE(o) - 1);
      // Users are below 2^32, so the int8's high word is 0.
      table.known[id] = hits.readUInt32BE(o + 8);
    }
  }

  /**
   * Runs a probing statement with JIT compilation off. The planner prices a
   * probe per key as a costly plan and compiles it, which costs 70-100 ms for
   * a statement that runs in 150-300 ms and gains nothing from it. SET LOCAL
   * needs a transaction (BEGIN, SET, the statement, COMMIT: three more round
   * trips of well under a millisecond) and leaves the pooled connection as
   * it found it.
   */
  private withoutJit<T>(fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL jit = off`.execute(trx);
      return fn(trx);
    });
  }

  /**
   * Adds the rows in one statement, which is atomic: false (and nothing
   * written) when any key was added meanwhile by another writer. A plain
   * INSERT that fails on the unique key does the job of ON CONFLICT DO
   * NOTHING plus a count check and a rollback, in one round trip instead of
   * three and a quarter less time (0.42 s against 0.57 s for 65,536 rows);
   * a lost race costs an error line in the server log.
   */
  private async insert(adds: ReadonlyArray<{ table: BatchTable; ids: Uint32Array; users: Uint32Array }>, count: number): Promise<boolean> {
    const { types, keys } = encodeKeys(adds);
    const users = new ArrayWriter(INT8_OID, count, count * 8);
    for (const a of adds) for (let j = 0; j < a.users.length; j++) users.int8(a.users[j]);
    try {
      // Rows go in the order sent: the function scan hands them over as they
      // come, and nothing between it and the insert reorders them.
      await sql`
        INSERT INTO identity_keys (type, key, user_id)
        SELECT k.type, k.key, k.user_id
        FROM unnest(${types}::text[], ${keys}::bytea[], ${users.done()}::int8[]) AS k(type, key, user_id)`.execute(this.db);
      return true;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === UNIQUE_VIOLATION || code === DEADLOCK) return false;
      throw e;
    }
  }

  /** `held` plus `n` more ids, from the spare list first, then the sequence; ascending. */
  private async allocate(n: number, held: Uint32Array): Promise<Uint32Array> {
    const take = this.spare.splice(0, Math.min(n, this.spare.length));
    const out = new Uint32Array(held.length + n);
    out.set(held);
    out.set(take, held.length);
    const more = n - take.length;
    if (more > 0) {
      // Packed in one bytea, 8 bytes an id, rather than a row each.
      const { rows } = await sql<{ ids: Buffer }>`
        SELECT string_agg(int8send(nextval('identity_users')), ''::bytea) AS ids FROM generate_series(1, ${more}::int)`.execute(this.db);
      const ids = rows[0].ids;
      if (ids.length !== more * 8) throw new Error(`identity_users gave ${ids.length / 8} ids, ${more} asked`);
      for (let i = 0, at = held.length + take.length; i < more; i++) out[at + i] = ids.readUInt32BE(8 * i + 4);
    }
    return out.sort();
  }

  private release(ids: ArrayLike<number>): void {
    if (ids.length === 0) return;
    this.spare = [...this.spare, ...Array.from(ids)].sort((a, b) => a - b);
  }

  /**
   * The members, PG_EXPORT_CHUNK at a time, one statement and one row per
   * chunk: the chunk's keys concatenated server-side into one bytea. Memory
   * holds one chunk of members and its keys, whatever the table size.
   *
   * Two plans, picked per chunk by how dense its members are. Dense (the
   * span of ids at most DENSE_SPAN times the member count, the usual case:
   * ids are handed out densely and audiences are large): one range scan of
   * the (type, user_id) index over the span, members kept by a hashed
   * `= ANY`. Sparse: one index probe per member. Measured on 1 M keys, per
   * 65,536 members: dense 60 ms by range against 250 ms by probes; one
   * member in 16, 230 ms against 270 ms; sparser still, the range would read
   * rows for nothing and probes win.
   */
  private async *exportNow(type: string, width: KeyWidth, members: ReadonlyBitmap): AsyncIterable<Uint8Array> {
    const total = cardinality(members);
    const page = new Uint32Array(Math.min(PG_EXPORT_CHUNK, Math.max(1, total)));
    for (let offset = 0; offset < total; offset += page.length) {
      const ids = members.rangeUint32Array(page, offset, page.length);
      if (ids.length === 0) break;
      const arr = new ArrayWriter(INT8_OID, ids.length, ids.length * 8);
      for (let i = 0; i < ids.length; i++) arr.int8(ids[i]);
      const lo = ids[0];
      const hi = ids[ids.length - 1];
      const query =
        hi - lo < DENSE_SPAN * ids.length
          ? sql<{ keys: Buffer | null }>`
              SELECT string_agg(ik.key, ''::bytea) AS keys
              FROM identity_keys ik
              WHERE ik.type = ${type} AND ik.user_id BETWEEN ${lo} AND ${hi} AND ik.user_id = ANY(${arr.done()}::int8[]) AND length(ik.key) = ${width}`
          : sql<{ keys: Buffer | null }>`
              SELECT string_agg(x.key, ''::bytea) AS keys
              FROM unnest(${arr.done()}::int8[]) AS u(id)
              CROSS JOIN LATERAL (SELECT ik.key FROM identity_keys ik WHERE ik.type = ${type} AND ik.user_id = u.id AND length(ik.key) = ${width} OFFSET 0) AS x`;
      const { rows } = await this.withoutJit((db) => query.execute(db));
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
  const sizeOf = ({ table, ids }: Selection[number]) => (ids === undefined ? table.known.length : ids.length);
  let count = 0;
  let typeBytes = 0;
  let keyBytes = 0;
  for (const sel of selection) {
    const n = sizeOf(sel);
    count += n;
    typeBytes += n * sel.table.name.length;
    keyBytes += n * sel.table.width;
  }
  const types = new ArrayWriter(TEXT_OID, count, typeBytes);
  const keys = new ArrayWriter(BYTEA_OID, count, keyBytes);
  const starts: number[] = [];
  let at = 0;
  for (const sel of selection) {
    starts.push(at);
    const { ids, table } = sel;
    const { width, bytes, name } = table;
    const n = sizeOf(sel);
    for (let j = 0; j < n; j++) {
      types.bytes(name, 0, name.length);
      keys.bytes(bytes, (ids === undefined ? j : ids[j]) * width, width);
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
 * The distinct keys among `bytes` (whole keys of `width` bytes), ascending,
 * and for each key of the input the rank of its value among them.
 */
function distinctSorted(bytes: Uint8Array, width: number): { bytes: Uint8Array; ranks: Uint32Array } {
  const n = bytes.length / width;
  const order = keyOrder(bytes, width, n);
  const ranks = new Uint32Array(n);
  const out = new Uint8Array(bytes.length);
  let m = 0;
  let prev = -1;
  for (let j = 0; j < n; j++) {
    const i = order[j];
    const o = i * width;
    let same = prev >= 0;
    for (let k = 0, p = prev * width; same && k < width; k++) same = bytes[p + k] === bytes[o + k];
    if (!same) {
      out.set(bytes.subarray(o, o + width), m * width);
      m++;
    }
    ranks[i] = m - 1;
    prev = i;
  }
  return { bytes: out.subarray(0, m * width), ranks };
}

/** Buckets larger than this are sorted by Array.sort rather than by insertion. */
const SMALL_BUCKET = 32;

/**
 * The ids of `n` keys of `width` bytes in `bytes`, in bytewise key order:
 * a counting sort on the first two bytes, then each bucket sorted on the
 * rest. Digests are uniform, so buckets hold about n / 65,536 keys and the
 * whole is linear; a skewed input falls back to a comparison sort per bucket.
 */
export function keyOrder(bytes: Uint8Array, width: number, n: number): Uint32Array {
  const starts = new Uint32Array(65_537);
  for (let i = 0, o = 0; i < n; i++, o += width) starts[((bytes[o] << 8) | bytes[o + 1]) + 1]++;
  for (let b = 0; b < 65_536; b++) starts[b + 1] += starts[b];
  const fill = starts.slice(0, 65_536);
  const out = new Uint32Array(n);
  for (let i = 0, o = 0; i < n; i++, o += width) out[fill[(bytes[o] << 8) | bytes[o + 1]]++] = i;
  const compare = (a: number, b: number) => {
    for (let k = 2, oa = a * width, ob = b * width; k < width; k++) {
      const d = bytes[oa + k] - bytes[ob + k];
      if (d !== 0) return d;
    }
    return 0;
  };
  for (let b = 0; b < 65_536; b++) {
    const lo = starts[b];
    const hi = starts[b + 1];
    if (hi - lo < 2) continue;
    if (hi - lo > SMALL_BUCKET) {
      out.set(Array.from(out.subarray(lo, hi)).sort(compare), lo);
      continue;
    }
    for (let j = lo + 1; j < hi; j++) {
      const v = out[j];
      let k = j - 1;
      while (k >= lo && compare(out[k], v) > 0) {
        out[k + 1] = out[k];
        k--;
      }
      out[k + 1] = v;
    }
  }
  return out;
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

  /** An element made of `length` (< 2^24) bytes of `src` from `from`. */
  bytes(src: Uint8Array, from: number, length: number): void {
    const { buf } = this;
    const at = this.at;
    // The 4-byte big-endian length, by hand: writeInt32BE's checks cost more
    // than the copy for 16-byte elements.
    buf[at] = 0;
    buf[at + 1] = length >>> 16;
    buf[at + 2] = (length >>> 8) & 0xff;
    buf[at + 3] = length & 0xff;
    for (let i = 0; i < length; i++) buf[at + 4 + i] = src[from + i];
    this.at = at + 4 + length;
  }

  /** A uint32 as an int8 element. */
  int8(v: number): void {
    const { buf } = this;
    const at = this.at;
    buf[at] = 0;
    buf[at + 1] = 0;
    buf[at + 2] = 0;
    buf[at + 3] = 8;
    buf[at + 4] = 0;
    buf[at + 5] = 0;
    buf[at + 6] = 0;
    buf[at + 7] = 0;
    buf[at + 8] = v >>> 24;
    buf[at + 9] = (v >>> 16) & 0xff;
    buf[at + 10] = (v >>> 8) & 0xff;
    buf[at + 11] = v & 0xff;
    this.at = at + 12;
  }

  done(): Buffer {
    if (this.at !== this.buf.length) throw new Error(`binary array: wrote ${this.at} of ${this.buf.length} bytes`);
    return this.buf;
  }
}
