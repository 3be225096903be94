// Vendor days and the UTC bounds of rule windows. Events are stored in UTC;
// the vendor's days run in its own zone (GMT+8 for Tencent), so every window
// is turned into two UTC instants here, before the query, and the SQL only
// ever compares the time column with constants (which both engines can skip
// row groups or partitions on).
//
// Every range is half-open, [from, to): a vendor day D is
// [D 00:00 local, D+1 00:00 local), and an open end is the moment of the run.

export const DAY_MS = 86_400_000;

export interface Bounds {
  /** Inclusive, UTC milliseconds. */
  fromMs: number;
  /** Exclusive, UTC milliseconds. */
  toMs: number;
}

/** The vendor day (yyyy-MM-dd) an instant falls on. */
export function vendorDay(ms: number, utcOffsetMinutes: number): string {
  return new Date(ms + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);
}

/** The instant a vendor day starts. */
export function dayStartMs(day: string, utcOffsetMinutes: number): number {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !Number.isFinite(ms)) throw new Error(`not a date yyyy-MM-dd: ${day}`);
  return ms - utcOffsetMinutes * 60_000;
}

/** A day `n` days after (or before, when negative) another. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/**
 * `time_window` N: the seed's own example reads "today is 14 January, the
 * last 14 days are 1 to 14 January", so N whole vendor days counting today,
 * from the start of day today-(N-1) to now. 0 (the seed's minimum) reads as
 * today so far, the smallest window there is, rather than an empty one.
 */
export function windowBounds(days: number, nowMs: number, utcOffsetMinutes: number): Bounds {
  const today = vendorDay(nowMs, utcOffsetMinutes);
  const first = addDays(today, -(Math.max(1, days) - 1));
  return { fromMs: dayStartMs(first, utcOffsetMinutes), toMs: nowMs };
}

/**
 * A vendor date range, both days inclusive; with no end it runs to now (an
 * AD audience without end_date follows new data). An end of today stops at
 * now too, so that an event stamped ahead of the clock never counts.
 */
export function dateRangeBounds(start: string, end: string | undefined, nowMs: number, utcOffsetMinutes: number): Bounds {
  const fromMs = dayStartMs(start, utcOffsetMinutes);
  const toMs = end === undefined ? nowMs : Math.min(nowMs, dayStartMs(addDays(end, 1), utcOffsetMinutes));
  return { fromMs, toMs };
}

/** The text both engines read as a TIMESTAMP (UTC, no zone suffix: the columns have none). */
export function timestampText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}
