// The PostgreSQL identity dictionary against a real server: the resolve
// rules (the same cases as the embedded store's tests), equivalence with the
// embedded store over random batches, the race between two workers, export,
// and the number of statements a large batch costs.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { startPostgres, stopPostgres, type PgServer } from '../../../test/support/postgres.js';
import { fromIds } from '../bitmaps/index.js';
import { openDatabase, type Db } from '../db/index.js';
import type { KeyWidth } from './arena.js';
import { keyOrder, PgDictionary } from './pg-dictionary.js';
import type { Resolution, ResolveMode, TypeKeys } from './resolve.js';
import { DictionaryStore } from './store.js';
import { group, tempFolder } from './store.fixtures.js';
import { NO_USER } from './users.js';
import { seededRandom } from '../../../test/support/random.js';

let server: PgServer | undefined;
let skip = 'SKIPPED: PostgreSQL was not started';
before(async () => {
  const started = await startPostgres();
  if (started.ok) server = started.server;
  else skip = started.skip;
});
after(async () => {
  await stopPostgres();
});

interface Fresh {
  url: string;
  db: Db;
  dict: PgDictionary;
}

/** A test on a database of its own, migrated, with a dictionary over it. */
function pgTest(name: string, fn: (f: Fresh, t: TestContext) => Promise<void>, opts: { timeout?: number } = {}) {
  test(name, { timeout: 120_000, ...opts }, async (t) => {
    if (!server) return t.skip(skip);
    const url = await server.createDatabase();
    const db = await openDatabase({ dataDir: '/nonexistent', database: { url } });
    const dict = new PgDictionary(db);
    try {
      await fn({ url, db, dict }, t);
    } finally {
      await dict.close();
      await db.destroy();
    }
  });
}

function people(n: number): { md5: Buffer; sha: Buffer } {
  return { md5: randomBytes(16 * n), sha: randomBytes(32 * n) };
}
const md5Of = (p: { md5: Buffer }, i: number) => p.md5.subarray(16 * i, 16 * (i + 1));
const shaOf = (p: { sha: Buffer }, i: number) => p.sha.subarray(32 * i, 32 * (i + 1));

/** What two resolutions must agree on. */
function summary(r: Resolution) {
  return { users: Array.from(r.users), matched: r.matched, added: r.added, unmatched: r.unmatched, conflicts: r.conflicts, newKeys: r.newKeys };
}

async function rowCount(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM identity_keys`.execute(db);
  return Number(rows[0].n);
}

/** The user of each key alone (closed mode). */
async function usersOf(dict: PgDictionary, type: string, width: KeyWidth, keys: Uint8Array): Promise<number[]> {
  return Array.from((await dict.resolve([group(type, width, keys)], 'closed')).users);
}

pgTest('new keys get users in line order, and known keys find them again', async ({ dict, db }) => {
  const p = people(5);
  const r = await dict.resolve([group('phone_md5', 16, p.md5)], 'open');
  assert.deepEqual(summary(r), { users: [0, 1, 2, 3, 4], matched: 0, added: 5, unmatched: 0, conflicts: 0, newKeys: 5 });
  await dict.commit();
  const again = await dict.resolve([group('phone_md5', 16, Buffer.concat([md5Of(p, 3), md5Of(p, 0), md5Of(p, 3)]))], 'open');
  assert.deepEqual(summary(again), { users: [3, 0, 3], matched: 3, added: 0, unmatched: 0, conflicts: 0, newKeys: 0 });
  assert.equal(await rowCount(db), 5);
  // A repeated new key within one batch: one user, one row.
  const q = people(1);
  const rep = await dict.resolve([group('phone_md5', 16, Buffer.concat([md5Of(q, 0), md5Of(p, 1), md5Of(q, 0)]))], 'open');
  assert.deepEqual(summary(rep), { users: [5, 1, 5], matched: 2, added: 1, unmatched: 0, conflicts: 0, newKeys: 1 });
  assert.equal(await rowCount(db), 6);
});

pgTest('the keys of one line get one user, and each key alone finds it again', async ({ dict }) => {
  const p = people(3);
  const r = await dict.resolve([group('phone_md5', 16, p.md5), group('phone_sha256', 32, p.sha)], 'open');
  assert.deepEqual(summary(r), { users: [0, 1, 2], matched: 0, added: 3, unmatched: 0, conflicts: 0, newKeys: 6 });
  assert.deepEqual(await usersOf(dict, 'phone_sha256', 32, p.sha), [0, 1, 2]);
  assert.deepEqual(await usersOf(dict, 'phone_md5', 16, p.md5), [0, 1, 2]);
});

pgTest('closed mode counts matches and writes nothing; open mode adds the rest', async ({ dict, db }) => {
  const known = people(4);
  await dict.resolve([group('phone_md5', 16, known.md5)], 'open');
  const fresh = people(3);
  const batch = Buffer.concat([md5Of(known, 0), md5Of(fresh, 0), md5Of(known, 1), md5Of(fresh, 0), md5Of(fresh, 1), md5Of(known, 2)]);
  const input = [group('phone_md5', 16, batch), group('phone_sha256', 32, shaOf(fresh, 2), [5])];

  const closed = await dict.resolve(input, 'closed');
  assert.deepEqual(summary(closed), { users: [0, NO_USER, 1, NO_USER, NO_USER, 2], matched: 3, added: 0, unmatched: 3, conflicts: 0, newKeys: 0 });
  assert.equal(await rowCount(db), 4);

  const open = await dict.resolve(input, 'open');
  assert.deepEqual(summary(open), { users: [0, 4, 1, 4, 5, 2], matched: 4, added: 2, unmatched: 0, conflicts: 0, newKeys: 3 });
  assert.deepEqual(await usersOf(dict, 'phone_sha256', 32, shaOf(fresh, 2)), [2], 'the new key links to the known user');
  // Lines without keys stay unmatched in both modes.
  const gaps = await dict.resolve([group('phone_md5', 16, md5Of(known, 3), [1])], 'open', 3);
  assert.deepEqual(summary(gaps), { users: [NO_USER, 3, NO_USER], matched: 1, added: 0, unmatched: 2, conflicts: 0, newKeys: 0 });
});

pgTest('a line whose keys are known under two users keeps the first and counts a conflict', async ({ dict }) => {
  const p = people(3);
  await dict.resolve([group('phone_md5', 16, p.md5.subarray(0, 32))], 'open'); // users 0, 1
  await dict.resolve([group('phone_sha256', 32, shaOf(p, 1))], 'open'); // user 2, no link
  const r = await dict.resolve([group('phone_md5', 16, md5Of(p, 0), [0]), group('phone_sha256', 32, shaOf(p, 1), [0]), group('phone_md5', 16, md5Of(p, 2), [0])], 'open');
  assert.deepEqual(summary(r), { users: [0], matched: 1, added: 0, unmatched: 0, conflicts: 1, newKeys: 1 });
  assert.deepEqual(await usersOf(dict, 'phone_sha256', 32, shaOf(p, 1)), [2], 'a known key is never relinked');
  assert.deepEqual(await usersOf(dict, 'phone_md5', 16, md5Of(p, 2)), [0], 'an unknown key joins the kept user');
  await assert.rejects(() => dict.resolve([group('../etc', 16, md5Of(p, 0))], 'open'), /must match/);
  await assert.rejects(() => dict.resolve([group('phone_md5', 16, p.md5.subarray(0, 32), [1, 0])], 'open'), /must not decrease/);
});


interface Person {
  md5: Uint8Array;
  sha: Uint8Array;
  idfa: Uint8Array;
}

function randomPeople(rand: () => number, n: number): Person[] {
  const bytes = (k: number) => Uint8Array.from({ length: k }, () => Math.floor(rand() * 256));
  return Array.from({ length: n }, () => ({ md5: bytes(16), sha: bytes(32), idfa: bytes(16) }));
}

/** Collects a batch line by line into groups, the way the ingest loop does. */
class BatchBuilder {
  private readonly groups = new Map<string, { type: string; width: KeyWidth; keys: Uint8Array[]; lines: number[] }>();
  line = 0;
  add(slot: string, type: string, width: KeyWidth, key: Uint8Array): void {
    let g = this.groups.get(slot);
    if (g === undefined) this.groups.set(slot, (g = { type, width, keys: [], lines: [] }));
    g.keys.push(key);
    g.lines.push(this.line);
  }
  build(): TypeKeys[] {
    return [...this.groups.values()].map((g) => ({ type: g.type, width: g.width, keys: Buffer.concat(g.keys), count: g.keys.length, lines: Uint32Array.from(g.lines) }));
  }
}

/** Lines of every shape the rules distinguish: single keys, linking pairs, cross-person pairs (conflicts), repeats, empty lines. */
function randomBatch(rand: () => number, pool: Person[], lines: number): TypeKeys[] {
  const b = new BatchBuilder();
  const pick = () => pool[Math.floor(rand() * pool.length)];
  for (let l = 0; l < lines; l++, b.line++) {
    const p = pick();
    const shape = rand();
    if (shape < 0.25) b.add('md5', 'phone_md5', 16, p.md5);
    else if (shape < 0.4) b.add('sha', 'phone_sha256', 32, p.sha);
    else if (shape < 0.6) {
      // A raw phone: both hashed forms.
      b.add('md5', 'phone_md5', 16, p.md5);
      b.add('sha', 'phone_sha256', 32, p.sha);
    } else if (shape < 0.7) {
      // Two people's keys on one line: a link or a conflict.
      b.add('sha', 'phone_sha256', 32, p.sha);
      b.add('md5', 'phone_md5', 16, pick().md5);
    } else if (shape < 0.8) b.add('idfa', 'idfa_md5', 16, p.idfa);
    else if (shape < 0.9) {
      // The same type in a second group of the batch.
      b.add('idfa', 'idfa_md5', 16, p.idfa);
      b.add('md5b', 'phone_md5', 16, p.md5);
    }
    // else: a line without keys.
  }
  return b.build();
}

pgTest('the embedded and PostgreSQL dictionaries agree on random batches', async ({ dict }, t) => {
  const store = await DictionaryStore.open(await tempFolder(t));
  const rand = seededRandom(20240611);
  const pool = randomPeople(rand, 1500);
  const seen = { matched: 0, added: 0, unmatched: 0, conflicts: 0, newKeys: 0 };
  for (let round = 0; round < 40; round++) {
    const input = randomBatch(rand, pool, 1 + Math.floor(rand() * 2000));
    const mode: ResolveMode = rand() < 0.7 ? 'open' : 'closed';
    const lineCount = rand() < 0.2 ? undefined : Math.max(...input.map((g) => (g.count ? g.lines![g.count - 1] + 1 : 0))) + Math.floor(rand() * 3);
    const embedded = store.resolve(input, mode, lineCount);
    const shared = await dict.resolve(input, mode, lineCount);
    assert.deepEqual(summary(shared), summary(embedded), `round ${round} (${mode})`);
    for (const k of Object.keys(seen) as Array<keyof typeof seen>) seen[k] += embedded[k];
  }
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `the batches exercised ${k}`);
  // And every key alone answers the same user in both.
  for (const [type, width, field] of [['phone_md5', 16, 'md5'], ['phone_sha256', 32, 'sha'], ['idfa_md5', 16, 'idfa']] as const) {
    const keys = Buffer.concat(pool.map((p) => p[field]));
    const input = [group(type, width, keys)];
    assert.deepEqual(summary(await dict.resolve(input, 'closed')), summary(store.resolve(input, 'closed')), type);
  }
  // Exports agree as sets (the order is each dictionary's own).
  const members = fromIds(Uint32Array.from({ length: 400 }, (_, i) => i * 3));
  for (const [type, width] of [['phone_md5', 16], ['phone_sha256', 32]] as const) {
    assert.deepEqual(sortedKeys(await collect(dict.exportKeys(type, width, members)), width), sortedKeys(await collect(store.exportKeys(type, width, members)), width), type);
  }
});

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const all: Uint8Array[] = [];
  for await (const c of chunks) all.push(c);
  return Buffer.concat(all);
}

function sortedKeys(bytes: Buffer, width: number): string[] {
  assert.equal(bytes.length % width, 0, 'whole keys');
  const out: string[] = [];
  for (let o = 0; o < bytes.length; o += width) out.push(bytes.subarray(o, o + width).toString('hex'));
  return out.sort();
}

/** Waits until `n` sessions of the database wait on a lock. */
async function lockWaiters(db: Db, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db);
    if (Number(rows[0].n) >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${n} sessions never waited on a lock`);
}

pgTest('a key another writer adds while we insert: nothing of ours is written, and the lines take the writer’s user', async ({ dict, db, url }) => {
  const p = people(4);
  // The other writer: a transaction that has added person 1's MD5 under user
  // 1000 and person 3's SHA-256 under user 1001, not yet committed.
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  try {
    await other.query('BEGIN');
    await other.query(`INSERT INTO identity_keys (type, key, user_id) VALUES ('phone_md5', $1, 1000), ('phone_sha256', $2, 1001)`, [md5Of(p, 1), shaOf(p, 3)]);
    // Lines: person 0 (md5+sha), person 1 (md5+sha), person 2 (md5), person 3 (sha then md5).
    const input = [
      group('phone_md5', 16, Buffer.concat([md5Of(p, 0), md5Of(p, 1), md5Of(p, 2)]), [0, 1, 2]),
      group('phone_sha256', 32, Buffer.concat([shaOf(p, 0), shaOf(p, 1), shaOf(p, 3)]), [0, 1, 3]),
      group('phone_md5', 16, md5Of(p, 3), [3]),
    ];
    const pending = dict.resolve(input, 'open');
    await lockWaiters(db, 1);
    await other.query('COMMIT');
    const r = await pending;
    // The first attempt drew users 0-3 for four new lines; the retry needs two.
    assert.deepEqual(summary(r), { users: [0, 1000, 1, 1001], matched: 2, added: 2, unmatched: 0, conflicts: 0, newKeys: 5 });
    assert.equal(dict.lostRaces, 1);
    assert.deepEqual(await usersOf(dict, 'phone_sha256', 32, shaOf(p, 1)), [1000], 'the line’s other key joins the winner’s user');
    assert.deepEqual(await usersOf(dict, 'phone_md5', 16, md5Of(p, 3)), [1001]);
    assert.equal(await rowCount(db), 7);
    // The ids drawn for the lost attempt are used first next time: no gap.
    const q = people(1);
    assert.deepEqual(Array.from((await dict.resolve([group('phone_md5', 16, Buffer.concat([md5Of(q, 0), md5Of(p, 0)]))], 'open')).users), [2, 0]);
  } finally {
    await other.end();
  }
});

pgTest('two workers on separate pools resolving overlapping batches at once end with one user per key, used by both', async ({ db, url }) => {
  const otherDb = await openDatabase({ dataDir: '/nonexistent', database: { url } });
  const a = new PgDictionary(db);
  const b = new PgDictionary(otherDb);
  try {
    const n = 6000;
    const p = people(n);
    // Person 0's MD5 is all zeros: the first key in (type, key) order, which
    // both inserts reach before any other key.
    p.md5.fill(0, 0, 16);
    // Worker A: persons [0, 4000) as raw phones (md5 + sha). Worker B:
    // persons 0 and [2000, 6000), the even ones by MD5 only and the odd ones by
    // SHA-256 only, so the overlap links through either form.
    const aInput = [group('phone_md5', 16, p.md5.subarray(0, 16 * 4000)), group('phone_sha256', 32, p.sha.subarray(0, 32 * 4000))];
    const bIds = [0, ...Array.from({ length: 4000 }, (_, i) => 2000 + i)];
    const bMd5 = bIds.filter((id) => id % 2 === 0);
    const bSha = bIds.filter((id) => id % 2 === 1);
    const bLines = (ids: number[]) => ids.map((id) => bIds.indexOf(id));
    const bInput = [
      group('phone_md5', 16, Buffer.concat(bMd5.map((id) => md5Of(p, id))), bLines(bMd5)),
      group('phone_sha256', 32, Buffer.concat(bSha.map((id) => shaOf(p, id))), bLines(bSha)),
    ];
    // Line both up: a third session holds person 0's MD5 uncommitted, so both
    // inserts stop on it; once it rolls back they race for every shared key.
    const gate = new pg.Client({ connectionString: url });
    await gate.connect();
    await gate.query('BEGIN');
    await gate.query(`INSERT INTO identity_keys (type, key, user_id) VALUES ('phone_md5', $1, 4000000000)`, [md5Of(p, 0)]);
    const ra = a.resolve(aInput, 'open');
    const rb = b.resolve(bInput, 'open');
    await lockWaiters(db, 2);
    await gate.query('ROLLBACK');
    await gate.end();
    const [resA, resB] = await Promise.all([ra, rb]);
    assert.equal(a.lostRaces + b.lostRaces, 1, 'one of the two lost the race once');

    // Every key has one row; each line's user is its keys' user, in both
    // workers' results. Persons past 4000 only have the one form B gave.
    const md5Users = await usersOf(a, 'phone_md5', 16, p.md5);
    const shaUsers = await usersOf(b, 'phone_sha256', 32, p.sha);
    const userOf = (id: number) => (id < 4000 || id % 2 === 0 ? md5Users[id] : shaUsers[id]);
    for (let id = 0; id < n; id++) {
      if (id < 4000) assert.equal(md5Users[id], shaUsers[id], `person ${id}: both forms name one user`);
      else assert.equal(id % 2 === 0 ? shaUsers[id] : md5Users[id], NO_USER, `person ${id}: the form nobody gave`);
      assert.notEqual(userOf(id), NO_USER);
    }
    for (let id = 0; id < 4000; id++) assert.equal(resA.users[id], userOf(id), `A line ${id}`);
    bIds.forEach((id, line) => assert.equal(resB.users[line], userOf(id), `B line ${line}`));
    assert.equal(new Set(Array.from({ length: n }, (_, id) => userOf(id))).size, n, 'one user per person');
    assert.equal(await rowCount(db), 2 * 4000 + 2000);
    assert.equal(resA.conflicts + resB.conflicts, 0);

    // Unsynchronized rounds as well: whatever interleaving, the same invariants.
    for (let round = 0; round < 5; round++) {
      const q = people(3000);
      const [x, y] = await Promise.all([
        a.resolve([group('phone_md5', 16, q.md5.subarray(0, 16 * 2000)), group('phone_sha256', 32, q.sha.subarray(0, 32 * 2000))], 'open'),
        b.resolve([group('phone_sha256', 32, q.sha.subarray(32 * 1000)), group('phone_md5', 16, q.md5.subarray(16 * 1000))], 'open'),
      ]);
      const m = await usersOf(a, 'phone_md5', 16, q.md5);
      const s = await usersOf(b, 'phone_sha256', 32, q.sha);
      assert.deepEqual(m, s);
      assert.deepEqual(Array.from(x.users), m.slice(0, 2000));
      assert.deepEqual(Array.from(y.users), m.slice(1000));
      assert.equal(new Set(m).size, 3000);
    }
  } finally {
    await a.close();
    await b.close();
    await otherDb.destroy();
  }
});

pgTest('export streams the keys of an audience’s users, in chunks of whole keys', async ({ dict }) => {
  const n = 80_000;
  const p = people(n);
  for (let at = 0; at < n; at += 40_000) {
    const to = Math.min(n, at + 40_000);
    await dict.resolve([group('phone_md5', 16, p.md5.subarray(16 * at, 16 * to)), group('phone_sha256', 32, p.sha.subarray(32 * at, 32 * to))], 'open');
  }
  // Users are 0 .. n-1 in person order. Members: every user but multiples of 7, and one id no key has.
  const ids = Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 !== 0);
  const members = fromIds(Uint32Array.from([...ids, n + 5]));
  const chunks: Uint8Array[] = [];
  for await (const c of dict.exportKeys('phone_sha256', 32, members)) chunks.push(c);
  assert.ok(chunks.length >= 2, 'more than one chunk');
  for (const c of chunks) assert.equal(c.length % 32, 0);
  const got = sortedKeys(Buffer.concat(chunks), 32);
  assert.deepEqual(got, ids.map((i) => Buffer.from(shaOf(p, i)).toString('hex')).sort());
  // Sparse members (one id in 50): read by one probe per member rather than by range.
  const sparse = Array.from({ length: n / 50 }, (_, i) => i * 50 + 1);
  assert.deepEqual(sortedKeys(await collect(dict.exportKeys('phone_md5', 16, fromIds(Uint32Array.from(sparse)))), 16), sparse.map((i) => Buffer.from(md5Of(p, i)).toString('hex')).sort());
  assert.equal((await collect(dict.exportKeys('phone_md5', 16, fromIds(Uint32Array.from([3, 5]))))).length, 32);
  assert.equal((await collect(dict.exportKeys('phone_md5', 32, members))).length, 0, 'another width of the type has no keys');
  assert.equal((await collect(dict.exportKeys('phone_md5', 16, fromIds(new Uint32Array(0))))).length, 0);
});

pgTest('a batch of 65,536 lines costs a fixed number of statements, new or known', async ({ url }) => {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const statements: string[] = [];
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }), log: (e) => void statements.push(e.query.sql.trim().split(/\s+/)[0].toUpperCase()) });
  const dict = new PgDictionary(db);
  try {
    const n = 65_536;
    const p = people(n);
    const input = [group('phone_md5', 16, p.md5), group('phone_sha256', 32, p.sha)];
    const fresh = await dict.resolve(input, 'open');
    assert.equal(fresh.added, n);
    assert.equal(fresh.newKeys, 2 * n);
    // The lookup runs with JIT off (SET LOCAL, so in a transaction of its own).
    assert.deepEqual(statements, ['BEGIN', 'SET', 'SELECT', 'COMMIT', 'SELECT', 'INSERT'], 'lookup, ids, one insert');
    statements.length = 0;
    const known = await dict.resolve(input, 'open');
    assert.equal(known.matched, n);
    assert.deepEqual(statements, ['BEGIN', 'SET', 'SELECT', 'COMMIT'], 'lookup only');
    statements.length = 0;
    await dict.resolve(input, 'closed');
    assert.deepEqual(statements, ['BEGIN', 'SET', 'SELECT', 'COMMIT']);
  } finally {
    await dict.close();
    await db.destroy();
  }
});

test('keys are sent in bytewise order, uniform or skewed', () => {
  for (const [width, n, skew] of [[16, 5000, false], [32, 3000, false], [16, 2000, true], [32, 40, true]] as const) {
    const bytes = randomBytes(width * n);
    // Skewed: every key shares its first two bytes, and many share more.
    if (skew) for (let i = 0; i < n; i++) bytes.fill(i % 3, i * width, i * width + 2 + (i % 5));
    const order = Array.from(keyOrder(bytes, width, n));
    const key = (i: number) => bytes.subarray(i * width, (i + 1) * width);
    const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => Buffer.compare(key(a), key(b)) || a - b);
    assert.deepEqual(order.map((i) => key(i).toString('hex')), expected.map((i) => key(i).toString('hex')), `${width} x ${n}${skew ? ' skewed' : ''}`);
  }
});
