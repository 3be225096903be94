// Id tuples of a file → users, through a real embedded dictionary: a tuple
// with one malformed id is refused whole (the keys its good ids had already
// given are taken out again, and its later columns are still read, so the
// next tuples keep their own values), a tuple with no id is refused, a raw
// phone and its MD5 are one user, and a batch of LF-joined text reads the
// same as the same values one by one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DictionaryStore, NO_USER } from '../../infra/identities/index.js';
import { REASONS } from './fields.js';
import { IdMapping, type IdField } from './ids.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const FIELDS: IdField[] = [
  { field: 'hash_phone', type: 'phone_md5' },
  { field: 'phone', type: 'phone' },
  { field: 'sha256_phone', type: 'phone_sha256' },
];

let dir: string;
let dictionary: DictionaryStore;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ah-ids-'));
  dictionary = await DictionaryStore.open(dir);
});
after(async () => {
  await dictionary.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The tuples as a file's batch: each column's values LF-joined, '' where absent. */
const batchOf = (tuples: string[][]) => ({ count: tuples.length, columns: FIELDS.map((_, c) => Buffer.from(tuples.map((t) => t[c] ?? '').join('\n'))) });

test('a tuple with a malformed id is refused whole; its good ids make no user; the rest map as one person per tuple', async () => {
  const [p1, p2, p3] = ['13800000001', '13800000002', '13800000003'];
  const tuples = [
    [md5(p1), '', ''], // 0: a new user
    [md5(p2), 'not a phone', 'ff'], // 1: refused for its phone; md5(p2) is not kept, its third value is passed over
    ['', p1, ''], // 2: the raw phone of tuple 0: the same user
    ['', '', ''], // 3: no id
    [md5(p2), '', ''], // 4: a new user (tuple 1 made none)
    ['', '', sha256(p3)], // 5: a SHA-256: a new user
    [md5(p3).toUpperCase(), '', ''], // 6: upper-case hex of p3's MD5: not linked to tuple 5 (no line named both)
  ];
  const mapping = new IdMapping(FIELDS, dictionary, 'open');
  const r = await mapping.mapText(batchOf(tuples));
  const reason = (t: number) => (r.why[t] > 0 ? r.reasons[r.why[t] - 1] : null);
  assert.equal(reason(1)?.field, 'user_id.phone');
  assert.deepEqual(reason(3), { field: 'user_id', reason: REASONS.noId });
  for (const t of [0, 2, 4, 5, 6]) assert.equal(r.why[t], 0, `tuple ${t}: ${JSON.stringify(reason(t))}`);
  assert.equal(r.users[2], r.users[0]);
  assert.notEqual(r.users[4], r.users[0]);
  assert.equal(new Set([r.users[0], r.users[4], r.users[5], r.users[6]]).size, 4);
  assert.deepEqual(mapping.counts, { tuples: 7, matched: 1, newUsers: 4, refused: 2 });

  // The same values one by one (an API batch) answer the same users.
  const again = new IdMapping(FIELDS, dictionary, 'open');
  const v = await again.mapValues(tuples.map((t) => t.map((x) => (x === '' ? undefined : x))));
  for (const t of [0, 2, 4, 5, 6]) assert.equal(v.users[t], r.users[t]);
  assert.equal(v.users[1], NO_USER);
  assert.equal(again.counts.newUsers, 0);
});

test('in a closed universe an unknown tuple is refused; a known one maps', async () => {
  const known = md5('13900000001');
  await new IdMapping(FIELDS, dictionary, 'open').mapText(batchOf([[known, '', '']]));
  const closed = new IdMapping(FIELDS, dictionary, 'closed');
  const r = await closed.mapText(batchOf([[md5('13900000002'), '', ''], [known, '', '']]));
  assert.deepEqual(r.reasons[r.why[0] - 1], { field: 'user_id', reason: REASONS.unknownUser });
  assert.equal(r.why[1], 0);
  assert.deepEqual(closed.counts, { tuples: 2, matched: 1, newUsers: 0, refused: 1 });
});
