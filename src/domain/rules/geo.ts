// The geodesy of CUSTOM_LOCATION circles. The earth is a sphere of the mean
// radius 6,371,008.8 m (IUGG R1); a ping is inside a circle when its
// great-circle distance (haversine) to the centre is at most the radius.
// Over 100–5000 m the sphere is off the WGS-84 ellipsoid by at most 0.5 %
// (about 25 m on the largest circle), well under the scatter of a phone's
// position, and the same arithmetic runs in SQL on both engines.
//
// The SQL first cuts pings by a latitude/longitude box, which the engines can
// skip row groups and use indexes on, then applies the exact test. The box
// must never be smaller than the circle, so:
// - latitude spans centre ± the angular radius (exact for a spherical cap);
// - longitude spans centre ± asin(sin δ / cos φ), the widest longitude any
//   point of the cap reaches (the tangent meridians);
// - a box running past ±180° is split in two ranges, one on each side of
//   the antimeridian;
// - a circle that reaches a pole has no longitude limit at all (every
//   meridian passes through it);
// - every edge is widened by a margin far above floating-point error
//   (1e-9°, a tenth of a millimetre) so rounding never shaves a point off.
//
// Many circles are matched by a join, not by an OR of as many tests: each
// ping's latitude falls in one cell of a tenth of a degree (floor(lat × 10),
// the same IEEE arithmetic in TypeScript and both engines), each circle lists
// the cells its box spans (two or three: a box is at most 0.09° tall), and an
// equality join on the cell hands a ping only to the circles near it. The
// box and the exact test then run on those pairs alone.

/** Mean earth radius, metres (IUGG R1 = (2a + b) / 3 of WGS-84). */
export const EARTH_RADIUS_M = 6_371_008.8;

/** Widening of every box edge, degrees. */
const MARGIN_DEG = 1e-9;

const RAD = Math.PI / 180;

export interface LatLon {
  latitude: number;
  longitude: number;
}

export interface Circle extends LatLon {
  /** Metres. */
  radius: number;
}

/** A prefilter box: latitude range and, unless the circle covers a pole, one or two longitude ranges. */
export interface Box {
  latMin: number;
  latMax: number;
  /** Inclusive [min, max] ranges in degrees within [-180, 180]; null when every longitude qualifies. */
  lon: Array<[number, number]> | null;
}

/** sin²(x / 2). */
const hav = (x: number) => {
  const s = Math.sin(x / 2);
  return s * s;
};

/**
 * The haversine of the central angle between two points: the quantity the
 * SQL compares, so that the exact test needs no asin per row.
 */
export function haversineOf(a: LatLon, b: LatLon): number {
  const p1 = a.latitude * RAD;
  const p2 = b.latitude * RAD;
  return hav(p2 - p1) + Math.cos(p1) * Math.cos(p2) * hav((b.longitude - a.longitude) * RAD);
}

/** Great-circle distance in metres. */
export function distanceMeters(a: LatLon, b: LatLon): number {
  // Clamped: rounding can push the haversine a hair past 1 for antipodes.
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(haversineOf(a, b))));
}

/** The largest haversine a point inside a circle of `radius` metres can have. */
export function haversineLimit(radius: number): number {
  return hav(Math.min(Math.PI, radius / EARTH_RADIUS_M));
}

/** The exact test, as the SQL runs it. */
export function insideCircle(c: Circle, p: LatLon): boolean {
  return haversineOf(c, p) <= haversineLimit(c.radius);
}

/** The prefilter box of a circle (see the header for why each edge is where it is). */
export function boundingBox(c: Circle): Box {
  const delta = c.radius / EARTH_RADIUS_M;
  const deltaDeg = delta / RAD;
  const latMin = c.latitude - deltaDeg - MARGIN_DEG;
  const latMax = c.latitude + deltaDeg + MARGIN_DEG;
  if (latMax >= 90 || latMin <= -90) {
    return { latMin: Math.max(-90, latMin), latMax: Math.min(90, latMax), lon: null };
  }
  const ratio = Math.sin(delta) / Math.cos(c.latitude * RAD);
  if (ratio >= 1) return { latMin, latMax, lon: null };
  const dLon = Math.asin(ratio) / RAD + MARGIN_DEG;
  if (dLon >= 180) return { latMin, latMax, lon: null };
  const lo = c.longitude - dLon;
  const hi = c.longitude + dLon;
  // Both ends inclusive: a ping stored at +180 or at -180 sits on the same meridian.
  if (lo < -180) return { latMin, latMax, lon: [[lo + 360, 180], [-180, hi]] };
  if (hi > 180) return { latMin, latMax, lon: [[lo, 180], [-180, hi - 360]] };
  return { latMin, latMax, lon: [[lo, hi]] };
}

/** Latitude cells per degree (see the header). */
export const CELLS_PER_DEGREE = 10;

/** The cell of a latitude, as the SQL computes it: floor(latitude * 10). */
export const latitudeCell = (latitude: number) => Math.floor(latitude * CELLS_PER_DEGREE);

/** Every cell a box's latitude range touches, so that no latitude in it is missed. */
export function cellsOf(b: Box): number[] {
  const out: number[] = [];
  for (let k = latitudeCell(b.latMin); k <= latitudeCell(b.latMax); k++) out.push(k);
  return out;
}

/** Whether a point passes the box, as the SQL prefilter reads it. */
export function insideBox(b: Box, p: LatLon): boolean {
  if (p.latitude < b.latMin || p.latitude > b.latMax) return false;
  return b.lon === null || b.lon.some(([lo, hi]) => p.longitude >= lo && p.longitude <= hi);
}

/**
 * The point `meters` away from `from` on the initial bearing `bearingDeg`
 * (clockwise from north), longitude normalised to [-180, 180]. Used by the
 * tests to put points at known distances.
 */
export function destination(from: LatLon, bearingDeg: number, meters: number): LatLon {
  const d = meters / EARTH_RADIUS_M;
  const th = bearingDeg * RAD;
  const p1 = from.latitude * RAD;
  const l1 = from.longitude * RAD;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(th));
  const l2 = l1 + Math.atan2(Math.sin(th) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  let lon = l2 / RAD;
  lon = ((((lon + 180) % 360) + 360) % 360) - 180;
  return { latitude: p2 / RAD, longitude: lon };
}
