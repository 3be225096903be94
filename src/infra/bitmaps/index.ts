// Roaring bitmaps over dense uint32 user ids, and the sort that feeds them.
export * from './roaring.js';
export { dedupeSorted, radixSortU32 } from './radix-sort.js';
