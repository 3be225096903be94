// Ids given in a request (membership lookups) → dictionary keys → users.
// The same normalization as ingest (normalizeInto), one dictionary call per
// batch; an id that is not valid for its type, or whose keys are not in the
// dictionary, has no user.
import { err } from '../../errors.js';
import { NO_USER, type IdentityDictionary, type KeyWidth, type TypeKeys } from '../../infra/identities/index.js';
import { KEY_SLOT, KeyBatch, lookupIdType, normalizeInto, type HashedTypeName, type IdTypeName } from '../identities/index.js';

export interface ResolvedIds {
  /** One per id: its user, or NO_USER. */
  users: Uint32Array;
  /** Ids the type refused: index and reason (the first `maxSamples`). */
  invalid: Array<{ index: number; reason: string }>;
  invalidCount: number;
}

class Group {
  count = 0;
  keys: Uint8Array;
  lines: Uint32Array;
  constructor(
    readonly type: HashedTypeName,
    readonly width: KeyWidth,
    capacity: number,
  ) {
    this.keys = new Uint8Array(capacity * width);
    this.lines = new Uint32Array(capacity);
  }
  push(src: Uint8Array, offset: number, line: number): void {
    if (this.count === this.lines.length) {
      const keys = new Uint8Array(this.keys.length * 2);
      keys.set(this.keys);
      const lines = new Uint32Array(this.lines.length * 2);
      lines.set(this.lines);
      this.keys = keys;
      this.lines = lines;
    }
    this.keys.set(src.subarray(offset, offset + this.width), this.count * this.width);
    this.lines[this.count++] = line;
  }
}

export function checkLookupType(idType: string, field = 'id_type'): IdTypeName {
  const entry = lookupIdType(idType);
  if (!entry) throw err('InvalidParameter', `${idType} is not an id type; see GET /v1/id-types`, field);
  return entry.name;
}

/** Looks ids up in the dictionary (closed: nothing is added). */
export async function resolveIds(dictionary: IdentityDictionary, idType: IdTypeName, ids: readonly string[], maxSamples = 100): Promise<ResolvedIds> {
  const kb = new KeyBatch();
  const groups: Group[] = [];
  const validIndex: number[] = [];
  const invalid: ResolvedIds['invalid'] = [];
  let invalidCount = 0;
  const cap = Math.max(16, ids.length);
  for (let i = 0; i < ids.length; i++) {
    if (!normalizeInto(idType, ids[i], kb)) {
      invalidCount++;
      if (invalid.length < maxSamples) invalid.push({ index: i, reason: kb.reason });
      continue;
    }
    const line = validIndex.length;
    validIndex.push(i);
    for (let k = 0; k < kb.count; k++) {
      const type = kb.types[k];
      const width = kb.lengths[k] as KeyWidth;
      let g = groups.find((x) => x.type === type && x.width === width);
      if (!g) groups.push((g = new Group(type, width, cap)));
      g.push(kb.bytes, k * KEY_SLOT, line);
    }
  }
  const users = new Uint32Array(ids.length).fill(NO_USER);
  if (validIndex.length > 0) {
    const input: TypeKeys[] = groups.map((g) => ({ type: g.type, width: g.width, keys: g.keys, count: g.count, lines: g.lines }));
    const r = await dictionary.resolve(input, 'closed', validIndex.length);
    for (let v = 0; v < validIndex.length; v++) users[validIndex[v]] = r.users[v];
  }
  return { users, invalid, invalidCount };
}
