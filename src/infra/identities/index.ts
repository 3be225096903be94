// The identity dictionary's in-memory part: keys in id order, and the hash index over them.
export { CHUNK_KEYS, KeyArena } from './arena.js';
export type { KeyWidth } from './arena.js';
export { ABSENT, KeyTable } from './table.js';
