// Export of the embedded dictionary's keys for the users of an audience.
import type { ReadonlyBitmap } from '../bitmaps/index.js';
import type { KeyWidth } from './arena.js';
import type { DictionaryStore } from './store.js';

export async function* exportEmbeddedKeys(store: DictionaryStore, type: string, width: KeyWidth, members: ReadonlyBitmap): AsyncIterable<Uint8Array> {
  void store;
  void type;
  void width;
  void members;
  throw new Error('not written yet');
}
