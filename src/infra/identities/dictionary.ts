// What the engine needs from an identity dictionary, whichever keeps it: the
// embedded DictionaryStore (memory + crash-safe files, one owning process) or
// the PostgreSQL one (shared by every worker, worked in bulk).
import type { ReadonlyBitmap } from '../bitmaps/index.js';
import type { KeyWidth } from './arena.js';
import type { Resolution, ResolveMode, TypeKeys } from './resolve.js';

export interface IdentityDictionary {
  readonly kind: 'embedded' | 'postgres';
  /**
   * One batch of lines → one user per line (resolve.ts states the rules).
   * The embedded dictionary answers synchronously; callers must accept both.
   */
  resolve(input: readonly TypeKeys[], mode: ResolveMode, lineCount?: number): Resolution | Promise<Resolution>;
  /** Makes every user handed out so far durable; call before pointing anything at those users. */
  commit(): Promise<unknown>;
  /**
   * The keys of one (type, width) whose user is in `members`, in chunks of
   * whole keys back to back (width bytes each). Order is the dictionary's.
   */
  exportKeys(type: string, width: KeyWidth, members: ReadonlyBitmap): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}
