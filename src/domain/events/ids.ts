// Events' ids → users, through the same registry and dictionary as audience
// files: each id field is normalized by its type (a raw phone yields its MD5
// and SHA-256 forms, so it meets an audience file of MD5s), the ids of one
// event (a tuple) are one line of one dictionary call, and the line's user
// is the event's. An open universe makes users for new ids; a closed one
// only matches, and an event none of whose ids is known is refused.
//
// A malformed id refuses its event, with the field and the registry's
// reason, rather than being skipped: the sender learns that half of its
// user_id is wrong instead of finding fewer users later.
import { NO_USER, type IdentityDictionary, type KeyWidth, type ResolveMode, type TypeKeys } from '../../infra/identities/index.js';
import type { TupleBatch, TupleUsers } from '../../infra/events/types.js';
import { ID_TYPES, KEY_SLOT, KeyBatch, decodeHexBytes, normalizeInto, type HashedEntry, type HashedTypeName, type IdTypeName } from '../identities/index.js';
import { KeyGroup } from '../ingest/key-group.js';
import { REASONS } from './fields.js';

/** One id field of a batch or file and the type it holds. */
export interface IdField {
  field: string;
  type: IdTypeName;
}

export interface MapCounts {
  tuples: number;
  matched: number;
  newUsers: number;
  refused: number;
}

/** Hex lengths a type takes as its only key (a hashed type with no derived form), else undefined. */
function singleKeyLengths(type: IdTypeName): readonly number[] | undefined {
  const e = ID_TYPES[type];
  if (e.kind !== 'hashed') return undefined;
  return e.links.some((l) => (ID_TYPES[l.type] as HashedEntry).chain === 'md5_sha256') ? undefined : e.hexLengths;
}

/** Key groups of one call, with whether each group's lines are exactly 0, 1, 2, … */
class Groups {
  readonly list: KeyGroup[] = [];
  private readonly strict: boolean[] = [];
  private readonly lastLine: number[] = [];

  constructor(private readonly capacity: number) {}

  get(type: HashedTypeName, width: KeyWidth): number {
    for (let i = 0; i < this.list.length; i++) if (this.list[i].type === type && this.list[i].width === width) return i;
    this.list.push(new KeyGroup(type, width, this.capacity));
    this.strict.push(true);
    this.lastLine.push(-1);
    return this.list.length - 1;
  }

  pushed(g: number, line: number): void {
    if (line <= this.lastLine[g]) this.strict[g] = false;
    this.lastLine[g] = line;
  }

  /**
   * Takes out the keys of a refused tuple: they are the last of their groups,
   * on `line` (a group's lines ascend), so nothing needs noting beforehand.
   */
  drop(line: number): void {
    for (let g = 0; g < this.list.length; g++) {
      const k = this.list[g];
      while (k.count > 0 && k.lines[k.count - 1] === line) k.count--;
      this.lastLine[g] = k.count > 0 ? k.lines[k.count - 1] : -1;
    }
  }

  typeKeys(): TypeKeys[] {
    const out: TypeKeys[] = [];
    for (let g = 0; g < this.list.length; g++) {
      const k = this.list[g];
      if (k.count === 0) continue;
      // Without lines the dictionary reads key k as line k, its native pass.
      const identity = this.strict[g] && k.lines[k.count - 1] === k.count - 1;
      out.push(identity ? { type: k.type, width: k.width, keys: k.keys, count: k.count } : { type: k.type, width: k.width, keys: k.keys, count: k.count, lines: k.lines });
    }
    return out;
  }
}

/** Maps batches of id tuples to users; one per load or API batch, counting as it goes. */
export class IdMapping {
  readonly counts: MapCounts = { tuples: 0, matched: 0, newUsers: 0, refused: 0 };
  private readonly kb = new KeyBatch();
  private readonly single: Array<readonly number[] | undefined>;

  constructor(
    private readonly fields: readonly IdField[],
    private readonly dictionary: IdentityDictionary,
    private readonly mode: ResolveMode,
  ) {
    this.single = fields.map((f) => singleKeyLengths(f.type));
  }

  /** A file's tuples: each column's values as LF-separated lines, '' where absent. */
  async mapText(batch: TupleBatch): Promise<TupleUsers> {
    const n = batch.count;
    const cursors = new Uint32Array(batch.columns.length);
    return this.map(n, (_t, c, onBytes, onText) => {
      const buf = batch.columns[c];
      const at = cursors[c];
      // Ids are short: a scan for the LF in JavaScript beats a call into indexOf.
      const len = buf.length;
      let end = at;
      while (end < len && buf[end] !== 0x0a) end++;
      cursors[c] = end + 1;
      if (end === at) return;
      if (!onBytes(buf, at, end)) onText(buf.toString('utf8', at, end));
    });
  }

  /** An API batch's tuples: values[t][c] the text of field c of tuple t, or undefined. */
  mapValues(values: ReadonlyArray<ReadonlyArray<string | undefined>>): Promise<TupleUsers> {
    // A batch is at most 10,000 events: every value goes through the registry.
    return this.map(values.length, (t, c, _onBytes, onText) => {
      const v = values[t][c];
      if (v !== undefined && v !== '') onText(v);
    });
  }

  /**
   * The common pass: for each tuple, each column's value through the
   * single-key hex path or the registry, keys into groups, one dictionary
   * call for the batch.
   */
  private async map(
    n: number,
    each: (t: number, c: number, onBytes: (b: Buffer, s: number, e: number) => boolean, onText: (s: string) => void) => void,
  ): Promise<TupleUsers> {
    const users = new Uint32Array(n).fill(NO_USER);
    const why = new Uint16Array(n);
    const reasons: Array<{ field: string; reason: string }> = [];
    const reasonOf = new Map<string, number>();
    const refuse = (t: number, field: string, reason: string) => {
      const key = `${field}\u0000${reason}`;
      let code = reasonOf.get(key);
      if (code === undefined) {
        reasons.push({ field, reason });
        code = reasons.length;
        reasonOf.set(key, code);
      }
      why[t] = code;
    };
    const groups = new Groups(Math.max(16, n));
    const validIndex = new Uint32Array(n);
    let valid = 0;
    const kb = this.kb;
    const fields = this.fields;
    const single = this.single;
    // The tuple and column being read, for the two callbacks below (made once
    // per call, not once per value).
    let t = 0;
    let c = 0;
    let keys = 0;
    let bad = false;
    // The group each column's single-key hex goes to, by byte width: found once.
    const hexGroup = new Int32Array(fields.length * 256).fill(-1);
    const onBytes = (b: Buffer, s: number, e: number): boolean => {
      const lengths = single[c];
      const len = e - s;
      if (lengths === undefined || !lengths.includes(len)) return false;
      const width = len >> 1;
      let g = hexGroup[c * 256 + width];
      if (g < 0) g = hexGroup[c * 256 + width] = groups.get(fields[c].type as HashedTypeName, width as KeyWidth);
      const kg = groups.list[g];
      const at = kg.slot();
      if (!decodeHexBytes(b, s, len, kg.keys, at)) return false;
      kg.push(valid);
      groups.pushed(g, valid);
      keys++;
      return true;
    };
    const onText = (text: string): void => {
      const { field, type } = fields[c];
      if (!normalizeInto(type, text, kb)) {
        refuse(t, `user_id.${field}`, kb.reason);
        bad = true;
        return;
      }
      for (let k = 0; k < kb.count; k++) {
        const g = groups.get(kb.types[k], kb.lengths[k] as KeyWidth);
        groups.list[g].add(kb.bytes, k * KEY_SLOT, valid);
        groups.pushed(g, valid);
        keys++;
      }
    };
    // After a refused id the tuple's other values are still read (a file's
    // columns are read in step, value by value), and ignored.
    const skipBytes = () => true;
    const skipText = () => undefined;
    for (t = 0; t < n; t++) {
      keys = 0;
      bad = false;
      for (c = 0; c < fields.length; c++) {
        if (bad) each(t, c, skipBytes, skipText);
        else each(t, c, onBytes, onText);
      }
      if (bad || keys === 0) {
        groups.drop(valid);
        if (!bad) refuse(t, 'user_id', REASONS.noId);
        continue;
      }
      validIndex[valid++] = t;
    }
    this.counts.tuples += n;
    if (valid > 0) {
      const r = await this.dictionary.resolve(groups.typeKeys(), this.mode, valid);
      this.counts.matched += r.matched;
      this.counts.newUsers += r.added;
      for (let v = 0; v < valid; v++) {
        const t = validIndex[v];
        const u = r.users[v];
        if (u === NO_USER) refuse(t, 'user_id', REASONS.unknownUser);
        else users[t] = u;
      }
    }
    for (let t = 0; t < n; t++) if (why[t] > 0) this.counts.refused++;
    return { users, why, reasons };
  }
}
