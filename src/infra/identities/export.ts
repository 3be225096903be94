// Export of the embedded dictionary's keys for the users of an audience.
//
// The walk goes over key ids in order, a span of CHUNK at a time: the span's
// users are read straight from the user column (one typed-array view, no
// per-key call into the store), tested against the bitmap in one batch, and
// the keys that pass are copied word by word into the output. Output chunks
// hold CHUNK whole keys (the last one fewer), and the walk yields to the event
// loop after every span, so a 50 M-key table never blocks the process for
// more than a span's worth of work and never needs more than two chunks of
// memory.
//
// The key count is taken when the export starts: a key's user never changes
// once set, so every key below that count keeps its answer however many
// resolve() calls run while the export is paused between spans, and keys
// added after the start are left out.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { hasMany, type ReadonlyBitmap } from '../bitmaps/index.js';
import type { KeyWidth } from './arena.js';
import type { DictionaryStore } from './store.js';

/** Keys per span walked and per chunk yielded (1 MiB of MD5 keys, 2 MiB of SHA-256). */
export const EXPORT_CHUNK = 65_536;

export async function* exportEmbeddedKeys(store: DictionaryStore, type: string, width: KeyWidth, members: ReadonlyBitmap): AsyncIterable<Uint8Array> {
  const table = store.keysOf(type, width);
  const column = store.usersOf(type, width);
  if (table === undefined || column === undefined || members.size === 0) return;
  const total = table.size;
  const words = width >>> 2;
  const flags = new Uint8Array(EXPORT_CHUNK);
  let out = new Uint32Array(EXPORT_CHUNK * words);
  let filled = 0;
  for (let from = 0; from < total; ) {
    const to = Math.min(total, from + EXPORT_CHUNK);
    // Views of the span, at most one per arena chunk; walked in step (the
    // key arena and the user column are chunked alike).
    const keySlices = table.arena.slices(from, to);
    const userSlices = column.slices(from, to);
    for (let s = 0; s < keySlices.length; s++) {
      const kb = keySlices[s];
      const ub = userSlices[s];
      const keys = new Uint32Array(kb.buffer, kb.byteOffset, kb.byteLength >>> 2);
      const users = new Uint32Array(ub.buffer, ub.byteOffset, ub.byteLength >>> 2);
      if (hasMany(members, users, flags) === 0) continue;
      for (let i = 0; i < users.length; i++) {
        if (flags[i] === 0) continue;
        const src = i * words;
        const dst = filled * words;
        for (let w = 0; w < words; w++) out[dst + w] = keys[src + w];
        if (++filled === EXPORT_CHUNK) {
          yield new Uint8Array(out.buffer);
          out = new Uint32Array(EXPORT_CHUNK * words);
          filled = 0;
        }
      }
    }
    from = to;
    await nextTurn();
  }
  if (filled > 0) yield new Uint8Array(out.buffer, 0, filled * width);
}
