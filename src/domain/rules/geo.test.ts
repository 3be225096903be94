// The geodesy of CUSTOM_LOCATION: distances against values worked out by
// hand on the 6,371,008.8 m sphere and against the spherical law of cosines,
// boxes at the equator, across the antimeridian and over the poles, and the
// property the SQL relies on: the box never leaves out a point the exact
// test takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundingBox, cellsOf, destination, latitudeCell, distanceMeters, EARTH_RADIUS_M, insideBox, insideCircle, type Circle, type LatLon } from './geo.js';
import { seededRandom } from '../../../test/support/random.js';

const DEGREE_M = (EARTH_RADIUS_M * Math.PI) / 180; // 111,195.08 m

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

/** Great-circle distance by the law of cosines: another formula, the same sphere. */
function cosines(a: LatLon, b: LatLon): number {
  const r = Math.PI / 180;
  const c = Math.sin(a.latitude * r) * Math.sin(b.latitude * r) + Math.cos(a.latitude * r) * Math.cos(b.latitude * r) * Math.cos((b.longitude - a.longitude) * r);
  return EARTH_RADIUS_M * Math.acos(Math.min(1, Math.max(-1, c)));
}

test('known distances on the sphere', () => {
  near(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 1, longitude: 0 }), DEGREE_M, 1e-6, 'one degree of a meridian');
  near(distanceMeters({ latitude: 0, longitude: 10 }, { latitude: 0, longitude: 11 }), DEGREE_M, 1e-6, 'one degree of the equator');
  near(distanceMeters({ latitude: 60, longitude: 5 }, { latitude: 60, longitude: 5 }), 0, 0, 'a point to itself');
  near(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 90, longitude: 0 }), DEGREE_M * 90, 1e-6, 'equator to pole');
  near(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 }), DEGREE_M * 180, 1e-6, 'antipodes');
  near(distanceMeters({ latitude: 0, longitude: 179.9995 }, { latitude: 0, longitude: -179.9995 }), DEGREE_M * 0.001, 1e-6, 'across the antimeridian');
  near(distanceMeters({ latitude: 89.9, longitude: 0 }, { latitude: 89.9, longitude: 180 }), DEGREE_M * 0.2, 1e-6, 'over the north pole');
  near(distanceMeters({ latitude: -89.99, longitude: 30 }, { latitude: -90, longitude: -150 }), DEGREE_M * 0.01, 1e-6, 'to the south pole');
  // Beijing to Shanghai and Paris to London: law of cosines within a millimetre, and the familiar figures.
  const pairs: Array<[LatLon, LatLon, number]> = [
    [{ latitude: 39.9042, longitude: 116.4074 }, { latitude: 31.2304, longitude: 121.4737 }, 1_067_000],
    [{ latitude: 48.8566, longitude: 2.3522 }, { latitude: 51.5074, longitude: -0.1278 }, 343_500],
  ];
  for (const [a, b, about] of pairs) {
    near(distanceMeters(a, b), cosines(a, b), 1e-3, 'haversine vs law of cosines');
    near(distanceMeters(a, b), about, 1_500, 'the familiar figure');
  }
});

test('destination puts a point at the distance asked, across the antimeridian too', () => {
  for (const from of [{ latitude: 10, longitude: 179.999 }, { latitude: -45, longitude: -179.99 }, { latitude: 0, longitude: 0 }, { latitude: 89.5, longitude: 20 }]) {
    for (const bearing of [0, 45, 90, 180, 270]) {
      const p = destination(from, bearing, 4321);
      assert.ok(p.longitude >= -180 && p.longitude < 180, `longitude ${p.longitude} normalised`);
      near(distanceMeters(from, p), 4321, 1e-6, `bearing ${bearing} from ${JSON.stringify(from)}`);
    }
  }
});

test('the box at the equator is as wide as it is tall', () => {
  const b = boundingBox({ latitude: 0, longitude: 30, radius: 5000 });
  const half = 5000 / DEGREE_M;
  near(b.latMin, -half, 1e-8, 'south edge');
  near(b.latMax, half, 1e-8, 'north edge');
  assert.equal(b.lon?.length, 1);
  near(b.lon![0][0], 30 - half, 1e-8, 'west edge');
  near(b.lon![0][1], 30 + half, 1e-8, 'east edge');
});

test('a box past the antimeridian splits in two ranges', () => {
  const east = boundingBox({ latitude: 10, longitude: 179.99, radius: 5000 });
  assert.equal(east.lon?.length, 2);
  assert.deepEqual(east.lon![0][1], 180);
  assert.deepEqual(east.lon![1][0], -180);
  const west = boundingBox({ latitude: -10, longitude: -179.99, radius: 5000 });
  assert.equal(west.lon?.length, 2);
  const across = destination({ latitude: 10, longitude: 179.99 }, 90, 3000);
  assert.ok(across.longitude < 0, 'the point is stored on the other side');
  assert.ok(insideBox(east, across) && insideCircle({ latitude: 10, longitude: 179.99, radius: 5000 }, across), 'found across the line');
  // A point on the line itself, stored either way.
  const line: Circle = { latitude: 0, longitude: 180, radius: 1000 };
  for (const lon of [180, -180]) assert.ok(insideBox(boundingBox(line), { latitude: 0, longitude: lon }) && insideCircle(line, { latitude: 0, longitude: lon }), `longitude ${lon}`);
});

test('a circle that reaches a pole has no longitude limit; one that does not keeps it', () => {
  const over = boundingBox({ latitude: 89.99, longitude: 45, radius: 3000 });
  assert.equal(over.lon, null);
  assert.equal(over.latMax, 90);
  const south = boundingBox({ latitude: -90, longitude: 0, radius: 100 });
  assert.equal(south.lon, null);
  assert.equal(south.latMin, -90);
  const short = boundingBox({ latitude: 89.9, longitude: 30, radius: 5000 });
  assert.ok(short.lon !== null && short.latMax < 90, 'stops short of the pole');
  // Near the pole the box is wide in longitude: every point of the circle is still in it.
  for (let b = 0; b < 360; b += 5) {
    const p = destination({ latitude: 89.9, longitude: 30 }, b, 4999.999);
    assert.ok(insideBox(short, p), `bearing ${b}: ${JSON.stringify(p)}`);
  }
});


test('latitude cells: every latitude of a box is in one of its cells, poles included', () => {
  assert.deepEqual(cellsOf({ latMin: 39.95, latMax: 40.05, lon: null }), [399, 400]);
  assert.deepEqual(cellsOf(boundingBox({ latitude: 90, longitude: 0, radius: 5000 })), [899, 900]);
  assert.deepEqual(cellsOf(boundingBox({ latitude: -90, longitude: 0, radius: 100 })), [-900]);
  assert.equal(latitudeCell(-0.01), -1);
});

test('property: the box never leaves out a point the exact distance takes', () => {
  const rand = seededRandom(20240315);
  let inside = 0;
  for (let i = 0; i < 20_000; i++) {
    // Centres anywhere, a third of them crowded at the antimeridian or the poles.
    const kind = i % 3;
    const latitude = kind === 1 ? (rand() < 0.5 ? -1 : 1) * (89 + rand()) : rand() * 180 - 90;
    const longitude = kind === 2 ? (rand() < 0.5 ? -1 : 1) * (179.9 + rand() * 0.1) : rand() * 360 - 180;
    const c: Circle = { latitude, longitude, radius: 100 + Math.floor(rand() * 4901) };
    const box = boundingBox(c);
    // Points up to 1.2 radii away in any direction, many right at the edge.
    const far = rand() < 0.5 ? c.radius * (1 - rand() * 1e-6) : c.radius * rand() * 1.2;
    const p = destination(c, rand() * 360, far);
    if (insideCircle(c, p)) {
      inside++;
      assert.ok(insideBox(box, p), `circle ${JSON.stringify(c)} takes ${JSON.stringify(p)} but its box ${JSON.stringify(box)} does not`);
      assert.ok(cellsOf(box).includes(latitudeCell(p.latitude)), `circle ${JSON.stringify(c)} takes ${JSON.stringify(p)} but not its latitude cell`);
    }
  }
  assert.ok(inside > 10_000, `enough points inside (${inside})`);
});

test('property: the box is tight enough to be worth it', () => {
  // Away from the poles, a point 1.5 radii east or north is outside the box.
  const rand = seededRandom(7);
  for (let i = 0; i < 2_000; i++) {
    const c: Circle = { latitude: rand() * 160 - 80, longitude: rand() * 360 - 180, radius: 100 + Math.floor(rand() * 4901) };
    for (const bearing of [0, 90, 180, 270]) {
      const p = destination(c, bearing, c.radius * 1.5);
      assert.equal(insideBox(boundingBox(c), p), false, `${JSON.stringify(c)} bearing ${bearing}`);
    }
  }
});
