// COMBINE: set algebra over other audiences.
//   result = AND over include groups of (OR within the group)
//          minus AND over exclude groups of (OR within the group)
// validateCombine checks a spec against the audiences the account may read
// (its own, and those other accounts share with it: grants.ts) before
// anything is written; evaluateCurrent runs it over bitmaps (in the change's
// job, and for an estimate, against each input's version at that moment).
import { err } from '../../errors.js';
import { andMany, andNot, orMany, type Bitmap, type ReadonlyBitmap } from '../../infra/bitmaps/index.js';
import type { Db } from '../../infra/db/index.js';
import type { BitmapCache } from './bitmaps.js';
import { readableAudiences } from './grants.js';
import type { CombineSpec } from './types.js';

export const MAX_COMBINE_INPUTS = 500;

export interface CheckedCombine {
  spec: CombineSpec;
  /** Distinct input audiences, in first-appearance order. */
  ids: number[];
  clusterId: number;
  /** Each input's current version: its number, size and object key. */
  versions: Map<number, { version: number; size: number; bitmapKey: string }>;
}

/** Shape only: two levels of positive integer ids, include non-empty, at most 500 distinct. */
export function parseCombine(raw: unknown): { spec: CombineSpec; ids: number[]; fields: Map<number, string> } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw err('InvalidParameter', 'combine must be an object { include: [[ids…]], exclude: [[ids…]] }', 'combine');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== 'include' && k !== 'exclude') throw err('InvalidParameter', `combine has no field ${k}; it takes include and exclude`, `combine.${k}`);
  const fields = new Map<number, string>();
  const ids: number[] = [];
  const groups = (name: 'include' | 'exclude'): number[][] => {
    const v = r[name];
    if (v === undefined && name === 'exclude') return [];
    if (!Array.isArray(v)) throw err(name === 'include' ? 'MissingParameter' : 'InvalidParameter', `combine.${name} must be a list of lists of audience ids`, `combine.${name}`);
    if (name === 'include' && v.length === 0) throw err('InvalidParameter', 'combine.include needs at least one group of audiences', 'combine.include');
    return v.map((g, i) => {
      if (!Array.isArray(g) || g.length === 0) throw err('InvalidParameter', `combine.${name}[${i}] must be a non-empty list of audience ids (an OR)`, `combine.${name}[${i}]`);
      return g.map((id, j) => {
        const field = `combine.${name}[${i}][${j}]`;
        if (!Number.isSafeInteger(id) || (id as number) < 1) throw err('InvalidParameter', `${field} must be an audience id (a positive integer), got ${JSON.stringify(id)}`, field);
        if (!fields.has(id as number)) {
          fields.set(id as number, field);
          ids.push(id as number);
        }
        return id as number;
      });
    });
  };
  const spec = { include: groups('include'), exclude: groups('exclude') };
  if (ids.length > MAX_COMBINE_INPUTS) throw err('InvalidParameter', `combine names ${ids.length} distinct audiences; at most ${MAX_COMBINE_INPUTS}`, 'combine');
  return { spec, ids, fields };
}

/**
 * Checks a spec against the database: every input exists in the account or
 * is granted to it, has a version (status SUCCESS), sits in one data
 * cluster, and is neither the audience itself nor, through its own COMBINE
 * definition, built from it. The job that computes the change checks again,
 * so a grant revoked in between ends that change in ERROR naming the input.
 */
export async function validateCombine(db: Db, accountId: string, raw: unknown, opts: { self: number | undefined; clusterId: number | undefined }): Promise<CheckedCombine> {
  const { spec, ids, fields } = parseCombine(raw);
  if (opts.self !== undefined && fields.has(opts.self)) throw err('InvalidParameter', `audience ${opts.self} cannot be an input of itself`, fields.get(opts.self));
  const rows = new Map<number, { status: string; cluster_id: number; version: number; size: number; bitmap_key: string | null }>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    // One query per chunk: the account's own inputs and those granted to it.
    const found = await readableAudiences(db, accountId).select(['a.id', 'a.status', 'a.cluster_id', 'a.version', 'a.size', 'a.bitmap_key']).where('a.id', 'in', chunk).execute();
    for (const f of found) rows.set(Number(f.id), { ...f, cluster_id: Number(f.cluster_id), version: Number(f.version), size: Number(f.size ?? 0) });
  }
  let clusterId = opts.clusterId;
  const versions: CheckedCombine['versions'] = new Map();
  for (const id of ids) {
    const row = rows.get(id);
    const field = fields.get(id);
    if (!row) throw err('AudienceNotFound', `audience ${id} does not exist in this account and is not shared with it`, field);
    if (row.version === 0) throw err('AudienceNotReady', `audience ${id} is ${row.status}; only an audience with a built version (SUCCESS) can be combined`, field);
    clusterId ??= row.cluster_id;
    if (row.cluster_id !== clusterId) throw err('InvalidParameter', `audience ${id} is in data cluster ${row.cluster_id}, not ${clusterId}; combined audiences stay in one cluster`, field);
    versions.set(id, { version: row.version, size: row.size, bitmapKey: row.bitmap_key! });
  }
  if (opts.self !== undefined) await assertNoCycle(db, opts.self, ids, fields);
  return { spec, ids, clusterId: clusterId ?? 1, versions };
}

/**
 * Walks the COMBINE definitions reachable from the inputs; meeting `self` is
 * a cycle. Audience ids are global and a shared input may itself be built
 * from audiences of its owner (or shared with its owner), so the walk follows
 * every definition whatever account holds it.
 */
async function assertNoCycle(db: Db, self: number, inputs: number[], fields: Map<number, string>): Promise<void> {
  for (const start of inputs) {
    const seen = new Set<number>();
    const path: number[] = [];
    const visit = async (id: number): Promise<boolean> => {
      if (id === self) return true;
      if (seen.has(id)) return false;
      seen.add(id);
      const row = await db.selectFrom('audiences').select(['type', 'spec']).where('id', '=', id).executeTakeFirst();
      if (!row || row.type !== 'COMBINE' || !row.spec) return false;
      const spec = (JSON.parse(row.spec) as { combine?: CombineSpec }).combine;
      if (!spec) return false;
      path.push(id);
      for (const next of [...spec.include.flat(), ...spec.exclude.flat()]) if (await visit(next)) return true;
      path.pop();
      return false;
    };
    if (await visit(start)) {
      throw err('InvalidParameter', `audience ${start} is built from audience ${self} (${[self, ...path, self].join(' ← ')}): that would be a cycle`, fields.get(start));
    }
  }
}

/** A checked spec over each input's current version, each bitmap loaded once: what a change builds and an estimate counts. */
export async function evaluateCurrent(checked: CheckedCombine, bitmaps: BitmapCache): Promise<Bitmap> {
  const loaded = new Map<number, ReadonlyBitmap>();
  for (const [id, v] of checked.versions) loaded.set(id, await bitmaps.load(checked.clusterId, v.bitmapKey));
  return evaluateCombine(checked.spec, (id) => loaded.get(id)!);
}

function evaluateCombine(spec: CombineSpec, bitmapOf: (id: number) => ReadonlyBitmap): Bitmap {
  const group = (ids: number[]) => (ids.length === 1 ? bitmapOf(ids[0]) : orMany(ids.map(bitmapOf)));
  const include = andMany(spec.include.map(group));
  if (spec.exclude.length === 0) return include;
  const exclude = spec.exclude.length === 1 ? group(spec.exclude[0]) : andMany(spec.exclude.map(group));
  return andNot(include, exclude);
}
