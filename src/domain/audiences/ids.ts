// Ids given in a request (membership lookups) → dictionary keys → users.
// The same normalization as ingest (normalizeInto), one dictionary call per
// batch; an id that is not valid for its type, or whose keys are not in the
// dictionary, has no user.
//
// Ids come as strings, as byte ranges (a JSON list read in place) or as the
// lines of a text body (bytes).
// A batch of a hashed type that yields exactly one key per id (every MD5 or
// SHA-256 type without a derived form: gaid_md5, phone_md5, email_sha256, …)
// takes a fast path that checks and decodes the hex straight into the key
// buffer, with no allocation per id, and for text without a string per line.
// Any id that path does not take as it stands (surrounding blanks, a BOM, a
// wrong length, a character that is not hex) goes through normalizeInto like
// every id of the other types, so the answer and the refusal reasons are the
// same either way.
import { err } from '../../errors.js';
import { NO_USER, type IdentityDictionary, type KeyWidth, type TypeKeys } from '../../infra/identities/index.js';
import { ID_TYPES, KEY_SLOT, KeyBatch, decodeHexBytes, lookupIdType, normalizeInto, type HashedEntry, type HashedTypeName, type IdTypeName } from '../identities/index.js';
import { KeyGroup } from '../ingest/key-group.js';

export interface ResolvedIds {
  /** One per id: its user, or NO_USER. */
  users: Uint32Array;
  /** Ids the type refused: index and reason (the first `maxSamples`). */
  invalid: Array<{ index: number; reason: string }>;
  invalidCount: number;
}

/** A batch turned into dictionary keys, before the dictionary is asked. */
export class PreparedIds {
  /** Ids in the batch. */
  count = 0;
  readonly groups: KeyGroup[] = [];
  /** validIndex[v] is the batch index of the v-th valid id (the dictionary's line v). */
  validIndex: Uint32Array;
  valid = 0;
  readonly invalid: ResolvedIds['invalid'] = [];
  invalidCount = 0;
  private readonly kb = new KeyBatch();
  /** Set for a type that yields one key per id: its accepted hex lengths and the group of each. */
  readonly single: { lengths: readonly number[]; groups: KeyGroup[] } | undefined;

  constructor(
    readonly idType: IdTypeName,
    private readonly capacity: number,
    private readonly maxSamples: number,
  ) {
    this.validIndex = new Uint32Array(capacity);
    const entry = ID_TYPES[idType];
    // As normalizeInto: a hashed id yields its own key, and one more only for an MD5 → MD5-then-SHA-256 link.
    if (entry.kind === 'hashed' && !entry.links.some((l) => (ID_TYPES[l.type] as HashedEntry).chain === 'md5_sha256')) {
      this.single = { lengths: entry.hexLengths, groups: entry.hexLengths.map((len) => this.groupOf(entry.name, (len >> 1) as KeyWidth)) };
    }
  }

  groupOf(type: HashedTypeName, width: KeyWidth): KeyGroup {
    let g = this.groups.find((x) => x.type === type && x.width === width);
    if (!g) this.groups.push((g = new KeyGroup(type, width, this.capacity)));
    return g;
  }

  /** The next id is valid and its key was written at g.slot(): count it. */
  addFast(g: KeyGroup): void {
    g.push(this.nextValid());
  }

  /** The next id through normalizeInto. */
  addSlow(id: string): void {
    const kb = this.kb;
    if (!normalizeInto(this.idType, id, kb)) {
      const index = this.count++;
      this.invalidCount++;
      if (this.invalid.length < this.maxSamples) this.invalid.push({ index, reason: kb.reason });
      return;
    }
    const line = this.nextValid();
    for (let k = 0; k < kb.count; k++) this.groupOf(kb.types[k], kb.lengths[k] as KeyWidth).add(kb.bytes, k * KEY_SLOT, line);
  }

  /** The next id of the batch is valid: returns its dictionary line. */
  private nextValid(): number {
    if (this.valid === this.validIndex.length) {
      const grown = new Uint32Array(Math.max(16, this.validIndex.length * 2));
      grown.set(this.validIndex);
      this.validIndex = grown;
    }
    this.validIndex[this.valid] = this.count++;
    return this.valid++;
  }
}

export function checkLookupType(idType: string, field = 'id_type'): IdTypeName {
  const entry = lookupIdType(idType);
  if (!entry) throw err('InvalidParameter', `${idType} is not an id type; see GET /v1/id-types`, field);
  return entry.name;
}

/** Hex digit → value, -1 for anything else; indexed by a byte or a UTF-16 code unit. */
const NIBBLE = new Int8Array(0x10000).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[0x30 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[0x61 + c] = NIBBLE[0x41 + c] = 10 + c;

/** `len` hex characters of `s` → bytes at dst[at…]; false (dst garbage) when one is not hex. */
function hexOfString(s: string, len: number, dst: Uint8Array, at: number): boolean {
  let bad = 0;
  for (let c = 0; c < len; c += 2) {
    const hi = NIBBLE[s.charCodeAt(c)];
    const lo = NIBBLE[s.charCodeAt(c + 1)];
    bad |= hi | lo;
    dst[at++] = (hi << 4) | lo;
  }
  return bad >= 0;
}

/** Keys of a list of ids. */
export function prepareIds(idType: IdTypeName, ids: readonly string[], maxSamples = 100): PreparedIds {
  const p = new PreparedIds(idType, Math.max(16, ids.length), maxSamples);
  const single = p.single;
  const len0 = single ? single.lengths[0] : -1;
  const len1 = single && single.lengths.length > 1 ? single.lengths[1] : -1;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (single) {
      const gi = s.length === len0 ? 0 : s.length === len1 ? 1 : -1;
      if (gi >= 0) {
        const g = single.groups[gi];
        const at = g.slot();
        if (hexOfString(s, s.length, g.keys, at)) {
          p.addFast(g);
          continue;
        }
      }
    }
    p.addSlow(s);
  }
  return p;
}

/**
 * Keys of the lines of a text body. Lines end at LF; a CR before the LF is
 * not part of the line, and a final LF does not start an empty last line
 * (so "a\nb\n" and "a\nb" are both two ids, "" none). More than `max` lines:
 * answers how many there are instead, having looked no further than that.
 */
export function prepareLines(idType: IdTypeName, body: Buffer, max: number, maxSamples = 100): PreparedIds | { tooMany: number } {
  const L = body.length;
  // Room for as many ids as lines of the type's usual length would make (grown if needed).
  const typical = ID_TYPES[idType].kind === 'hashed' ? (ID_TYPES[idType] as HashedEntry).hexLengths[0] : 32;
  const p = new PreparedIds(idType, Math.min(max, Math.ceil(L / (typical + 1))) + 16, maxSamples);
  const fast = p.single;
  let at = 0;
  while (at < L) {
    if (p.count === max) {
      let more = 0;
      for (let nl = body.indexOf(0x0a, at); nl !== -1; nl = body.indexOf(0x0a, nl + 1)) more++;
      if (body[L - 1] !== 0x0a) more++;
      return { tooMany: max + more };
    }
    if (fast) {
      // A line that is exactly hex of an accepted length, ended by LF, CR LF, CR at the end or the end.
      let taken = false;
      for (let gi = 0; gi < fast.lengths.length && !taken; gi++) {
        const e = at + fast.lengths[gi];
        if (e > L) continue;
        let next: number;
        if (e === L) next = L;
        else if (body[e] === 0x0a) next = e + 1;
        else if (body[e] === 0x0d && (e + 1 === L || body[e + 1] === 0x0a)) next = e + 2;
        else continue;
        const g = fast.groups[gi];
        const slot = g.slot();
        if (decodeHexBytes(body, at, e - at, g.keys, slot)) {
          p.addFast(g);
          at = Math.min(next, L);
          taken = true;
        }
      }
      if (taken) continue;
    }
    let end = body.indexOf(0x0a, at);
    const next = end === -1 ? L : end + 1;
    if (end === -1) end = L;
    p.addSlow(body.toString('utf8', at, end > at && body[end - 1] === 0x0d ? end - 1 : end));
    at = next;
  }
  return p;
}

/** Ids as byte ranges of one buffer: the strings of a JSON list read in place (no escapes in them). */
export interface IdRanges {
  bytes: Buffer;
  starts: Uint32Array;
  ends: Uint32Array;
  count: number;
}

/** Keys of ids given as byte ranges; each range is the id's UTF-8. */
export function prepareRanges(idType: IdTypeName, r: IdRanges, maxSamples = 100): PreparedIds {
  const p = new PreparedIds(idType, Math.max(16, r.count), maxSamples);
  const single = p.single;
  const len0 = single ? single.lengths[0] : -1;
  const len1 = single && single.lengths.length > 1 ? single.lengths[1] : -1;
  const { bytes, starts, ends } = r;
  for (let i = 0; i < r.count; i++) {
    const start = starts[i];
    const len = ends[i] - start;
    if (single) {
      const gi = len === len0 ? 0 : len === len1 ? 1 : -1;
      if (gi >= 0) {
        const g = single.groups[gi];
        const at = g.slot();
        if (decodeHexBytes(bytes, start, len, g.keys, at)) {
          p.addFast(g);
          continue;
        }
      }
    }
    p.addSlow(bytes.toString('utf8', start, ends[i]));
  }
  return p;
}

/** Asks the dictionary (closed: nothing is added) for the users of prepared ids. */
export async function resolvePrepared(dictionary: IdentityDictionary, p: PreparedIds): Promise<ResolvedIds> {
  const users = new Uint32Array(p.count).fill(NO_USER);
  if (p.valid > 0) {
    const input: TypeKeys[] = [];
    for (const g of p.groups) if (g.count > 0) input.push(g.typeKeys());
    const r = await dictionary.resolve(input, 'closed', p.valid);
    if (p.valid === p.count) users.set(r.users.subarray(0, p.count));
    else for (let v = 0; v < p.valid; v++) users[p.validIndex[v]] = r.users[v];
  }
  return { users, invalid: p.invalid, invalidCount: p.invalidCount };
}

/** Looks ids up in the dictionary (closed: nothing is added). */
export async function resolveIds(dictionary: IdentityDictionary, idType: IdTypeName, ids: readonly string[], maxSamples = 100): Promise<ResolvedIds> {
  return resolvePrepared(dictionary, prepareIds(idType, ids, maxSamples));
}
