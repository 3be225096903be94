// Reading audiences: overlap counts for charts, membership both ways, and
// size estimates of audiences not made yet. Every read works on a version's
// bitmap (through the cache) or on files read in place; nothing here writes:
// no audience, change, object or dictionary key.
import { resolveModeOf, type Config } from '../../config.js';
import { err, isAppError } from '../../errors.js';
import { and, andCardinality, fromSorted, orMany, type Bitmap, type ReadonlyBitmap } from '../../infra/bitmaps/index.js';
import type { IdentityDictionary, KeyWidth, Resolution, ResolveMode, TypeKeys } from '../../infra/identities/index.js';
import { NO_USER } from '../../infra/identities/index.js';
import type { Db } from '../../infra/db/index.js';
import type { ObjectStore } from '../../infra/objects/types.js';
import type { DetectHint } from '../identities/index.js';
import { ingestFile, type IngestReport } from '../ingest/ingest-file.js';
import type { UploadService } from '../uploads/service.js';
import type { BitmapCache } from './bitmaps.js';
import { csvOptions, openForIngest } from './build.js';
import { evaluateCurrent, validateCombine } from './combine.js';
import { checkLookupType, prepareIds, prepareLines, prepareRanges, resolveIds, resolvePrepared, type IdRanges, type PreparedIds } from './ids.js';
import { audienceUpload, checkFileSpec, MAX_FILES_PER_CHANGE, notFound, type AudienceService } from './service.js';
import type { CsvSpec } from './types.js';

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

/** What a file estimate reads: the uploads, their stores, and whether new ids would become users. */
export interface EstimateDeps {
  uploads: UploadService;
  stores: ReadonlyMap<number, ObjectStore>;
  config: Config;
}

export interface CombineEstimate {
  /** Members the COMBINE would have if it were computed now. */
  size: number;
  clusterId: number;
  /** Each input at the version the estimate read. */
  inputs: Array<{ id: number; version: number; size: number }>;
}

/** One file of a CUSTOMER_FILE estimate, as a create would name it. */
export interface FileEstimateRequest {
  uploadId: string;
  /** A registry type, or DETECT. */
  idType: string;
  csv?: CsvSpec;
  detectHint?: string[];
}

export interface FileEstimate {
  /** Users the audience would have: the known ones, plus the new ids when this account's files add users. */
  size: number;
  /** Distinct users the dictionary already holds for the files' ids. */
  knownUsers: number;
  /** Distinct ids the dictionary does not hold yet (exact up to NEW_IDS_EXACT, sampled beyond). */
  newIds: number;
  newIdsExact: boolean;
  /** False in a closed universe for an account other than the universe's: its new ids would never become users. */
  addsNewIds: boolean;
  files: Array<{ index: number; uploadId: string; idType: string; report: IngestReport; knownUsers: number }>;
}

export class AudienceReader {
  constructor(
    private readonly db: Db,
    private readonly audiences: AudienceService,
    private readonly bitmaps: BitmapCache,
    private readonly dictionary: IdentityDictionary,
    private readonly files?: EstimateDeps,
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

  /**
   * The exact size a COMBINE of this spec would have now: validated as a
   * create validates it (inputs of the account or granted to it, built, one
   * cluster), evaluated over the inputs' current versions, counted.
   */
  async estimateCombine(accountId: string, spec: unknown, opts: { clusterId?: number } = {}): Promise<CombineEstimate> {
    const checked = await validateCombine(this.db, accountId, spec, { self: undefined, clusterId: opts.clusterId });
    const result = await evaluateCurrent(checked, this.bitmaps);
    return {
      size: result.size,
      clusterId: checked.clusterId,
      inputs: checked.ids.map((id) => {
        const { version, size } = checked.versions.get(id)!;
        return { id, version, size };
      }),
    };
  }

  /**
   * The size a CUSTOMER_FILE audience of these files would have: each file
   * goes through the ingest pipeline against the dictionary in closed mode,
   * so no key is ever added; known users are counted exactly, ids the
   * dictionary does not hold are counted as distinct new ids. `field` names
   * a file's parameter in refusals (by default as the native API names it,
   * files[i].upload_id); a dialect passes its own names.
   */
  async estimateFiles(accountId: string, files: readonly FileEstimateRequest[], field: (index: number, name: 'upload_id' | 'id_type' | 'csv' | 'detect_hint') => string = (i, n) => `files[${i}].${n}`): Promise<FileEstimate> {
    const deps = this.files;
    if (!deps) throw err('NotAvailable', 'file estimates are not available in this process', 'files');
    if (!Array.isArray(files) || files.length === 0) throw err('MissingParameter', 'an estimate of a CUSTOMER_FILE audience needs at least one file', 'files');
    if (files.length > MAX_FILES_PER_CHANGE) throw err('InvalidParameter', `at most ${MAX_FILES_PER_CHANGE} files per estimate, got ${files.length}`, 'files');
    // Every file is checked before any is read, as a create checks them.
    const uploads = [];
    for (const [i, f] of files.entries()) {
      checkEstimateFile(f, (n) => field(i, n));
      uploads.push(await audienceUpload(deps.uploads, accountId, f.uploadId, field(i, 'upload_id')));
    }
    const addsNewIds = resolveModeOf(deps.config, accountId) === 'open';
    const fresh = new DistinctKeys();
    const dictionary = closedView(this.dictionary, fresh);
    const sets: Bitmap[] = [];
    const out: FileEstimate['files'] = [];
    for (const [i, f] of files.entries()) {
      const up = uploads[i];
      const store = deps.stores.get(up.clusterId);
      if (!store) throw err('UnknownCluster', `data cluster ${up.clusterId} is not configured`, field(i, 'upload_id'));
      const body = await openForIngest(store, up.storageKey, () => err('UploadNotReady', `the file of upload ${up.id} is no longer in the store; upload it again`, field(i, 'upload_id')));
      try {
        const r = await ingestFile({ source: body, idType: f.idType, detectHint: f.detectHint as DetectHint | undefined, csv: csvOptions(f.csv), dictionary, mode: 'closed' });
        sets.push(r.set);
        out.push({ index: i, uploadId: up.id, idType: f.idType, report: r.report, knownUsers: r.userCount });
      } catch (e) {
        // The file a create would end in ERROR with: refused here, naming it.
        if (isAppError(e)) throw err(e.code, `file ${i + 1} (upload ${up.id}): ${e.message}`, field(i, e.field === 'idType' ? 'id_type' : 'upload_id'));
        throw e;
      }
    }
    const knownUsers = sets.length === 1 ? sets[0].size : orMany(sets).size;
    return { size: knownUsers + (addsNewIds ? fresh.count : 0), knownUsers, newIds: fresh.count, newIdsExact: fresh.exact, addsNewIds, files: out };
  }
}


/** The checks a create makes of one file's parameters (service.ts), for an estimate. */
function checkEstimateFile(f: FileEstimateRequest, field: (name: 'upload_id' | 'id_type' | 'csv' | 'detect_hint') => string): void {
  if (typeof f.uploadId !== 'string' || f.uploadId.length === 0) throw err('MissingParameter', 'give the upload to read', field('upload_id'));
  checkFileSpec(f, field);
}

/** Below this many distinct new ids the count is exact; past it, a sample of them is kept. */
export const NEW_IDS_EXACT = 1 << 20;

/**
 * Counts distinct ids by a 52-bit fingerprint of each one's first key, in
 * bounded memory: every fingerprint is kept until there are NEW_IDS_EXACT,
 * then only those whose low `level` bits are zero (adaptive sampling), and
 * the count is the sample times 2^level, which stays within a fraction of a
 * percent. A file of one id type keys every line the same way, so the first
 * key tells two ids apart exactly as the dictionary would; a detect file
 * holding both an id and its hash, both new, counts that person twice.
 */
class DistinctKeys {
  private level = 0;
  private readonly seen = new Set<number>();

  add(lo: number, hi: number): void {
    if (this.level > 0 && (lo & ((1 << this.level) - 1)) !== 0) return;
    this.seen.add(hi * 0x1_0000_0000 + lo);
    if (this.seen.size <= NEW_IDS_EXACT) return;
    this.level++;
    const mask = (1 << this.level) - 1;
    for (const fp of this.seen) if ((fp % 0x1_0000_0000 & mask) !== 0) this.seen.delete(fp);
  }

  get count(): number {
    return this.seen.size * 2 ** this.level;
  }

  get exact(): boolean {
    return this.level === 0;
  }
}

/** murmur3's finalizer: every input bit reaches every output bit. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Two 32-bit hashes of a key and its type; keys may be opaque ids with structure, so every byte counts. */
function fingerprint(keys: Uint8Array, at: number, width: KeyWidth, seed: number, into: DistinctKeys): void {
  let a = seed;
  let b = seed ^ 0x9e3779b9;
  for (let i = at; i < at + width; i += 4) {
    const w = keys[i] | (keys[i + 1] << 8) | (keys[i + 2] << 16) | (keys[i + 3] << 24);
    a = mix(a ^ w);
    b = mix(Math.imul(b, 31) ^ w ^ 0x5bd1e995);
  }
  into.add(a, b & 0xfffff);
}

function typeSeed(type: string, width: number): number {
  let h = 0x811c9dc5 ^ width;
  for (let i = 0; i < type.length; i++) h = Math.imul(h ^ type.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The dictionary as an estimate sees it: every resolve in closed mode
 * whatever the caller asks (no key is added), and each line left without a
 * user handed to `fresh` by its first key. Nothing can be committed.
 */
function closedView(inner: IdentityDictionary, fresh: DistinctKeys): IdentityDictionary {
  const take = (input: readonly TypeKeys[], r: Resolution): Resolution => {
    if (r.unmatched === 0) return r;
    const users = r.users;
    const counted = new Uint8Array(users.length);
    for (const g of input) {
      if (g.count === 0) continue;
      const seed = typeSeed(g.type, g.width);
      for (let k = 0; k < g.count; k++) {
        const line = g.lines ? g.lines[k] : k;
        if (users[line] !== NO_USER || counted[line] === 1) continue;
        counted[line] = 1;
        fingerprint(g.keys, k * g.width, g.width, seed, fresh);
      }
    }
    return r;
  };
  return {
    kind: inner.kind,
    resolve(input: readonly TypeKeys[], _mode: ResolveMode, lineCount?: number) {
      const r = inner.resolve(input, 'closed', lineCount);
      return r instanceof Promise ? r.then((x) => take(input, x)) : take(input, r);
    },
    commit: () => Promise.reject(new Error('an estimate never commits the identity dictionary')),
    exportKeys: () => {
      throw new Error('an estimate does not export keys');
    },
    close: () => Promise.resolve(),
  };
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
