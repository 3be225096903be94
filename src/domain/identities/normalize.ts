// Per-line normalization for ingest: one line of a file of a declared type →
// the dictionary keys (hashed type + raw digest bytes) that name its user.
//
// - A raw id yields every hashed form of its family it can be turned into
//   (raw phone → phone_md5, phone_sha256, phone_e164_sha256), so audiences
//   uploaded in different forms of the same id overlap exactly.
// - A hashed id yields its own key first, then any form computable from it
//   (an MD5 also yields its MD5-then-SHA-256), for the same reason.
// - Hex is compared case-insensitively by decoding it: keys are bytes.
//
// normalizeInto writes into a caller-owned KeyBatch and allocates nothing for
// a hashed line beyond what hashing needs; normalizeLine is the convenient
// form that returns fresh Buffers.
import * as crypto from 'node:crypto';
import { ID_TYPES, lookupIdType } from './id-types.js';
import { trimId } from './rules.js';
import { Refusal, type HashChain, type HashedEntry, type HashedTypeName, type IdTypeName, type RawEntry } from './types.js';

/** The most keys one line can yield (a raw IMEI or IDFA: md5, sha256, md5→sha256). */
export const MAX_KEYS = 4;
/** Bytes reserved per key: a SHA-256. */
export const KEY_SLOT = 32;

/** Reusable output of normalizeInto; valid until the next call with the same batch. */
export class KeyBatch {
  count = 0;
  /** Why the last line was refused ('' after a success). */
  reason = '';
  readonly types: HashedTypeName[] = new Array<HashedTypeName>(MAX_KEYS);
  readonly lengths = new Uint8Array(MAX_KEYS);
  /** Key i occupies bytes [i * KEY_SLOT, i * KEY_SLOT + lengths[i]). */
  readonly bytes = Buffer.alloc(MAX_KEYS * KEY_SLOT);

  /** A view of key i (no copy). */
  key(i: number): Buffer {
    return this.bytes.subarray(i * KEY_SLOT, i * KEY_SLOT + this.lengths[i]);
  }

  private push(type: HashedTypeName, length: number): number {
    const i = this.count++;
    this.types[i] = type;
    this.lengths[i] = length;
    return i * KEY_SLOT;
  }

  /** @internal */ pushDigest(type: HashedTypeName, digest: Uint8Array): void {
    this.bytes.set(digest, this.push(type, digest.length));
  }

  /** @internal */ pushHex(type: HashedTypeName, hex: string): void {
    decodeHex(hex, this.bytes, this.push(type, hex.length >> 1));
  }

  /** @internal */ refuse(reason: string): false {
    this.count = 0;
    this.reason = reason;
    return false;
  }
}

export interface NormalizedKey {
  type: HashedTypeName;
  bytes: Buffer;
}
export type NormalizeResult = { ok: true; keys: NormalizedKey[] } | { ok: false; reason: string };

const EMPTY_LINE = 'the line is empty';

/**
 * Normalizes one line of the given type into `out`. Returns false with
 * `out.reason` set when the line is refused. The type is a canonical name;
 * vendor names go through vendor-maps.ts first.
 */
export function normalizeInto(type: IdTypeName, line: string, out: KeyBatch): boolean {
  out.count = 0;
  out.reason = '';
  const entry = lookupIdType(type);
  if (entry === undefined) return out.refuse(`unknown id type "${type}"`);
  const v = trimId(line);
  if (v.length === 0) return out.refuse(EMPTY_LINE);
  return entry.kind === 'raw' ? rawInto(entry, v, out) : hashedInto(entry, v, out);
}

/** normalizeInto with fresh Buffers: for tests, tools and small inputs. */
export function normalizeLine(type: IdTypeName, line: string): NormalizeResult {
  if (!normalizeInto(type, line, scratch)) return { ok: false, reason: scratch.reason };
  const keys: NormalizedKey[] = [];
  for (let i = 0; i < scratch.count; i++) keys.push({ type: scratch.types[i], bytes: Buffer.from(scratch.key(i)) });
  return { ok: true, keys };
}

const scratch = new KeyBatch();

function rawInto(entry: RawEntry, v: string, out: KeyBatch): boolean {
  const normalized = entry.normalize(v);
  if (normalized instanceof Refusal) return out.refuse(normalized.reason);
  // MD5 → SHA-256 forms reuse the MD5 of the same input.
  let md5Input: string | null = null;
  let md5: Buffer | null = null;
  for (const link of entry.links) {
    const input = link.input ? link.input(normalized) : normalized;
    if (input === null) continue;
    const chain = (ID_TYPES[link.type] as HashedEntry).chain;
    if (chain === 'sha256') {
      out.pushDigest(link.type, digest('sha256', input));
      continue;
    }
    if (md5Input !== input || md5 === null) {
      md5 = digest('md5', input);
      md5Input = input;
    }
    out.pushDigest(link.type, chain === 'md5' ? md5 : digest('sha256', md5.toString('hex')));
  }
  return true;
}

function hashedInto(entry: HashedEntry, v: string, out: KeyBatch): boolean {
  const bad = firstNonHex(v);
  if (bad >= 0) return out.refuse(`${entry.name} expects ${describeLengths(entry)}; this value contains "${v[bad]}", which is not a hex digit`);
  if (!entry.hexLengths.includes(v.length)) return out.refuse(wrongLength(entry, v.length));
  out.pushHex(entry.name, v);
  for (const link of entry.links) {
    // Only MD5 → MD5-then-SHA-256 is computable from a digest: SHA-256 over the lower-case hex.
    if ((ID_TYPES[link.type] as HashedEntry).chain === 'md5_sha256') out.pushDigest(link.type, digest('sha256', v.toLowerCase()));
  }
  return true;
}

const CHAIN_NAME: Record<Exclude<HashChain, 'none'>, string> = { md5: 'an MD5', sha256: 'a SHA-256', md5_sha256: 'a SHA-256 of an MD5', opaque: 'an opaque key' };

function describeLengths(entry: HashedEntry): string {
  return `${entry.hexLengths.join(' or ')} hex digits (${CHAIN_NAME[entry.chain]})`;
}

function wrongLength(entry: HashedEntry, found: number): string {
  const siblings = Object.values(ID_TYPES).filter((e) => e.kind === 'hashed' && e.family === entry.family && e.hexLengths.includes(found));
  const hint = siblings.length > 0 ? `; ${found} hex digits would fit ${siblings.map((e) => e.name).join(' or ')}` : '';
  return `${entry.name} expects ${describeLengths(entry)}, this value has ${found}${hint}`;
}

const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[0x30 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[0x61 + c] = NIBBLE[0x41 + c] = 10 + c;

function firstNonHex(v: string): number {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 128 || NIBBLE[c] < 0) return i;
  }
  return -1;
}

// Two hex characters → their byte, -1 for anything else: one load per byte.
const HEX2 = new Int16Array(65_536).fill(-1);
{
  const digits = '0123456789abcdefABCDEF';
  for (const a of digits) for (const b of digits) HEX2[(a.charCodeAt(0) << 8) | b.charCodeAt(0)] = (NIBBLE[a.charCodeAt(0)] << 4) | NIBBLE[b.charCodeAt(0)];
}

/**
 * `len` (even) hex characters of src from `start`, either case → len / 2
 * bytes at dst[at…]; false when one is not a hex digit (the bytes written
 * are then garbage, and the caller's next key overwrites them).
 */
export function decodeHexBytes(src: Uint8Array, start: number, len: number, dst: Uint8Array, at: number): boolean {
  let bad = 0;
  for (let p = start, end = start + len; p < end; p += 2, at++) {
    const v = HEX2[(src[p] << 8) | src[p + 1]];
    bad |= v;
    dst[at] = v;
  }
  // Any -1 sets the sign bit.
  return bad >= 0;
}

/** Hex (either case, already checked) → bytes at `offset`. */
function decodeHex(hex: string, into: Buffer, offset: number): void {
  for (let i = 0, o = offset; i < hex.length; i += 2, o++) {
    into[o] = (NIBBLE[hex.charCodeAt(i)] << 4) | NIBBLE[hex.charCodeAt(i + 1)];
  }
}

// crypto.hash (Node ≥ 20.12) skips the Hash object a createHash call builds;
// older 20.x falls back to createHash.
const digest: (algorithm: 'md5' | 'sha256', text: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (algorithm, text) => crypto.hash(algorithm, text, 'buffer')
    : (algorithm, text) => crypto.createHash(algorithm).update(text).digest();
