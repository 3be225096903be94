// Reading audiences: overlap counts for charts, and membership both ways.
// Every read works on a version's bitmap (through the cache); nothing here
// writes.
import { err } from '../../errors.js';
import { and, andCardinality, fromSorted, type ReadonlyBitmap } from '../../infra/bitmaps/index.js';
import type { IdentityDictionary } from '../../infra/identities/index.js';
import { NO_USER } from '../../infra/identities/index.js';
import type { Db } from '../../infra/db/index.js';
import type { BitmapCache } from './bitmaps.js';
import { checkLookupType, prepareIds, prepareLines, prepareRanges, resolveIds, resolvePrepared, type IdRanges, type PreparedIds } from './ids.js';
import { notFound, type AudienceService } from './service.js';

export const MAX_OVERLAP = 8;
export const MAX_LOOKUP_AUDIENCES = 1000;
export const MAX_MEMBER_IDS = 1_000_000;

export interface OverlapResult {
  audiences: Array<{ id: number; version: number; size: number }>;
  /** Members in every audience of the subset, one entry per non-empty subset. */
  intersections: Array<{ audienceIds: number[]; count: number }>;
  /** Members in exactly the audiences of the subset and in none of the others. */
  regions: Array<{ audienceIds: number[]; count: number }>;
}

export class AudienceReader {
  constructor(
    private readonly db: Db,
    private readonly audiences: AudienceService,
    private readonly bitmaps: BitmapCache,
    private readonly dictionary: IdentityDictionary,
  ) {}

  async bitmapOf(accountId: string, audienceId: number, version?: number): Promise<{ bitmap: ReadonlyBitmap; version: number; size: number }> {
    const v = await this.audiences.version(accountId, audienceId, version);
    return { bitmap: await this.bitmaps.load(v.version.clusterId, v.version.bitmapKey), version: v.version.version, size: v.version.size };
  }

  async overlap(accountId: string, ids: number[]): Promise<OverlapResult> {
    if (!Array.isArray(ids) || ids.length < 2 || ids.length > MAX_OVERLAP) throw err('InvalidParameter', `overlap takes 2 to ${MAX_OVERLAP} audiences, got ${Array.isArray(ids) ? ids.length : 0}`, 'audience_ids');
    if (new Set(ids).size !== ids.length) throw err('InvalidParameter', 'audience_ids names an audience twice', 'audience_ids');
    const loaded = [];
    for (const id of ids) loaded.push(await this.bitmapOf(accountId, id));
    const n = ids.length;
    const full = 1 << n;
    // inter[mask] = |∩ of the audiences in mask|. Built by adding the lowest
    // audience of the mask to the intersection of the rest; intersections
    // that are needed again are materialized, the last step only counted.
    const inter = new Float64Array(full);
    const sets = new Map<number, ReadonlyBitmap>();
    for (let i = 0; i < n; i++) {
      inter[1 << i] = loaded[i].size;
      sets.set(1 << i, loaded[i].bitmap);
    }
    for (let mask = 1; mask < full; mask++) {
      if ((mask & (mask - 1)) === 0) continue;
      const low = mask & -mask;
      const rest = mask ^ low;
      if (inter[rest] === 0) continue;
      const restSet = sets.get(rest)!;
      const lowSet = loaded[31 - Math.clz32(low)].bitmap;
      // A mask is the "rest" of a later one only when a lower audience can be
      // added to it, i.e. when it does not hold audience 0: only those sets
      // are materialized; the others are only counted.
      if ((mask & 1) === 0) {
        const s = and(restSet, lowSet);
        inter[mask] = s.size;
        if (s.size > 0) sets.set(mask, s);
      } else inter[mask] = andCardinality(restSet, lowSet);
    }
    // Regions by inclusion-exclusion: exact[S] = Σ_{T ⊇ S} (-1)^{|T|-|S|} inter[T].
    const regions: OverlapResult['regions'] = [];
    const intersections: OverlapResult['intersections'] = [];
    for (let s = 1; s < full; s++) {
      let exact = 0;
      const others = (full - 1) ^ s;
      for (let sub = others; ; sub = (sub - 1) & others) {
        const t = s | sub;
        exact += (popcount(sub) & 1 ? -1 : 1) * inter[t];
        if (sub === 0) break;
      }
      const members = ids.filter((_, i) => s & (1 << i));
      intersections.push({ audienceIds: members, count: inter[s] });
      regions.push({ audienceIds: members, count: exact });
    }
    return { audiences: loaded.map((l, i) => ({ id: ids[i], version: l.version, size: l.size })), intersections, regions };
  }

  /** Which of the account's audiences (or of `audienceIds`) hold the user of this id. */
  async lookup(accountId: string, idType: string, id: string, audienceIds?: number[]): Promise<{ audienceIds: number[]; known: boolean }> {
    const type = checkLookupType(idType);
    if (typeof id !== 'string' || id.length === 0) throw err('MissingParameter', 'give the id to look up', 'id');
    const r = await resolveIds(this.dictionary, type, [id], 1);
    if (r.invalidCount > 0) throw err('InvalidParameter', `${id} is not a valid ${type}: ${r.invalid[0].reason}`, 'id');
    const user = r.users[0];
    if (audienceIds !== undefined && (audienceIds.length === 0 || audienceIds.length > MAX_LOOKUP_AUDIENCES)) throw err('InvalidParameter', `audience_ids takes 1 to ${MAX_LOOKUP_AUDIENCES} audiences`, 'audience_ids');
    // One query for every audience asked about; the current version's bitmap is named on its row.
    let q = this.db.selectFrom('audiences').select(['id', 'cluster_id', 'bitmap_key']).where('account_id', '=', accountId);
    q = audienceIds === undefined ? q.where('version', '>', 0).orderBy('id').limit(MAX_LOOKUP_AUDIENCES) : q.where('id', 'in', audienceIds);
    const rows = await q.execute();
    let targets = rows;
    if (audienceIds !== undefined) {
      const byId = new Map(rows.map((row) => [Number(row.id), row]));
      targets = audienceIds.map((a) => {
        const row = byId.get(a);
        if (!row) throw notFound(a);
        return row;
      });
    }
    if (user === NO_USER) return { audienceIds: [], known: false };
    const hits: number[] = [];
    for (const row of targets) {
      if (row.bitmap_key === null) continue;
      const bitmap = await this.bitmaps.load(Number(row.cluster_id), row.bitmap_key);
      if (bitmap.has(user)) hits.push(Number(row.id));
    }
    return { audienceIds: hits, known: true };
  }

  /**
   * For each id, in order: '1' when its user is in the audience, else '0'.
   * `ids` is a list, byte ranges holding the ids (a JSON list read in
   * place), or the bytes of a text body with one id per line.
   */
  async members(accountId: string, audienceId: number, idType: string, ids: readonly string[] | IdRanges | Buffer, atVersion?: number): Promise<{ members: string; count: number; invalid: Array<{ index: number; reason: string }>; invalidCount: number; version: number }> {
    const type = checkLookupType(idType);
    let prepared: PreparedIds | undefined;
    if (Buffer.isBuffer(ids)) {
      // The lines are counted as they are read, so the limit is checked before the audience.
      const p = prepareLines(type, ids, MAX_MEMBER_IDS);
      if ('tooMany' in p) throw tooMany(p.tooMany);
      prepared = p;
    } else {
      const n = Array.isArray(ids) ? ids.length : (ids as IdRanges).count;
      if (n > MAX_MEMBER_IDS) throw tooMany(n);
    }
    const { bitmap, version } = await this.bitmapOf(accountId, audienceId, atVersion);
    prepared ??= Array.isArray(ids) ? prepareIds(type, ids as readonly string[]) : prepareRanges(type, ids as IdRanges);
    const r = await resolvePrepared(this.dictionary, prepared);
    const out = Buffer.alloc(r.users.length, 0x30);
    const count = markMembers(bitmap, r.users, out);
    return { members: out.toString('latin1'), count, invalid: r.invalid, invalidCount: r.invalidCount, version };
  }
}

function tooMany(n: number) {
  return err('InvalidParameter', `at most ${MAX_MEMBER_IDS} ids per call, got ${n}`, 'ids');
}

/** Below this many known users a batch asks the bitmap one id at a time. */
const SMALL_BATCH = 2048;

/**
 * Sets out[i] to '1' when users[i] (NO_USER: never) is in the bitmap; returns
 * how many are. One has() per id costs 100-300 ns through the binding, most
 * of the time of a large batch, so a large batch is intersected with the
 * bitmap once instead: the batch's users go into a bitset over their span
 * (users are dense: the dictionary numbers them from 0), which also gives
 * them distinct and ascending for a bitmap; its AND with the audience is the
 * users that are members, which then replace the bitset's contents for a
 * test per id. When the users are spread too thin for a bitset of modest
 * size, it falls back to has() per id.
 */
function markMembers(bitmap: ReadonlyBitmap, users: Uint32Array, out: Uint8Array): number {
  const n = users.length;
  let min = NO_USER;
  let max = 0;
  let known = 0;
  for (let i = 0; i < n; i++) {
    const u = users[i];
    if (u === NO_USER) continue;
    known++;
    if (u < min) min = u;
    if (u > max) max = u;
  }
  if (known === 0) return 0;
  const span = max - min + 1;
  let count = 0;
  if (known < SMALL_BATCH || span > known * 64 + (1 << 20)) {
    for (let i = 0; i < n; i++) {
      const u = users[i];
      if (u !== NO_USER && bitmap.has(u)) {
        out[i] = 0x31;
        count++;
      }
    }
    return count;
  }
  const words = new Int32Array((span + 31) >>> 5);
  for (let i = 0; i < n; i++) {
    const u = users[i];
    if (u === NO_USER) continue;
    const v = u - min;
    words[v >>> 5] |= 1 << (v & 31);
  }
  const distinct = new Uint32Array(known);
  let d = 0;
  for (let w = 0; w < words.length; w++) {
    let x = words[w];
    while (x !== 0) {
      const low = x & -x;
      distinct[d++] = min + (w << 5) + (31 - Math.clz32(low));
      x ^= low;
    }
  }
  const hits = and(bitmap, fromSorted(distinct.subarray(0, d))).toUint32Array();
  words.fill(0);
  for (let i = 0; i < hits.length; i++) {
    const v = hits[i] - min;
    words[v >>> 5] |= 1 << (v & 31);
  }
  for (let i = 0; i < n; i++) {
    const u = users[i];
    if (u === NO_USER) continue;
    const v = u - min;
    if ((words[v >>> 5] >>> (v & 31)) & 1) {
      out[i] = 0x31;
      count++;
    }
  }
  return count;
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}
