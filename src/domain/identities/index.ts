// Id types: the registry, per-line normalization and detection, vendor names.
export * from './types.js';
export { ID_TYPES, ID_TYPE_NAMES, isIdTypeName, lookupIdType, typesOfFamily } from './id-types.js';
export { KEY_SLOT, KeyBatch, MAX_KEYS, decodeHexBytes, normalizeInto, normalizeLine } from './normalize.js';
export type { NormalizedKey, NormalizeResult } from './normalize.js';
export { detectType } from './detect.js';
export type { DetectResult } from './detect.js';
export * from './vendor-maps.js';
export { detectInto } from './detect-into.js';
export type { DetectHint } from './detect-into.js';
