// The identity dictionary: keys in id order and the hash index over them (in
// memory), key → user links, and the crash-safe folder that persists them.
export type { KeyWidth } from './arena.js';
export { NO_USER } from './users.js';
export type { Resolution, ResolveMode, TypeKeys } from './resolve.js';
export { DictionaryCorruptError } from './files.js';
export { DictionaryStore } from './store.js';
export type { CommitResult, DictionaryStats } from './store.js';
export type { IdentityDictionary } from './dictionary.js';
