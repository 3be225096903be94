// Rule audiences: Tencent rule specs compiled into one SQL statement over the
// event store (compile.ts), their one-line summaries (describe.ts) and the
// geodesy of location circles (geo.ts).
export { compileRule, KEYWORD_WINDOW_DAYS } from './compile.js';
export { describeRule } from './describe.js';
export { boundingBox, distanceMeters, EARTH_RADIUS_M, insideCircle } from './geo.js';
export { dateRangeBounds, vendorDay, windowBounds } from './time.js';
export type * from './types.js';
