// The audiences a request names as inputs: COMBINE inputs and the LOOKALIKE
// seed. These rules need the database, so they run in the route after the
// walk (audience-rules.ts); custom_audiences/add and
// custom_audience_estimations/get check them alike.
import type { App } from '../../../app.js';
import { err, isAppError } from '../../../errors.js';
import { LOOKALIKE_SEED_MAX, LOOKALIKE_SEED_MIN, type CombineItem } from './audience-rules.js';

type CombineSpec = { include: CombineItem[][]; exclude?: CombineItem[][] };

/**
 * An audience the request names as a COMBINE input: the account's own or one
 * shared with it (grants.ts). A missing one is refused under the request's field.
 */
async function combineInput(app: App, accountId: string, id: number, field: string) {
  const found = await app.grants.readable(accountId, id);
  if (!found) throw err('AudienceNotFound', `audience ${id} does not exist in this account and is not shared with it`, field);
  return found.audience;
}

/**
 * COMBINE inputs: each exists in the account or is shared with it, is built,
 * and is neither a LOOKALIKE nor a COMBINE. Only the type and status of a
 * shared audience are read, which its grantee may see anyway. How many may
 * be combined is a rule of the walk (checkCombineSize).
 */
export async function checkCombineInputs(app: App, accountId: string, spec: CombineSpec): Promise<void> {
  const seen = new Set<number>();
  for (const side of ['include', 'exclude'] as const) {
    for (const [i, group] of (spec[side] ?? []).entries()) {
      for (const [j, item] of group.entries()) {
        if (seen.has(item.audience_id)) continue;
        seen.add(item.audience_id);
        const field = `audience_spec.combine_spec.${side}[${i}][${j}].audience_id`;
        const input = await combineInput(app, accountId, item.audience_id, field);
        if (input.type === 'COMBINE') throw err('InvalidParameter', `audience ${input.id} is a COMBINE audience; LOOKALIKE and COMBINE audiences cannot be combined`, field);
        if (input.version === 0) throw err('AudienceNotReady', `audience ${input.id} is ${input.status}; only an audience that is ready (SUCCESS) can be combined`, field);
      }
    }
  }
}

/** A checked combine_spec as the domain's combine takes it: groups of audience ids. */
export function combineIds(spec: CombineSpec): { include: number[][]; exclude: number[][] } {
  const ids = (groups: CombineItem[][] | undefined) => (groups ?? []).map((g) => g.map((x) => x.audience_id));
  return { include: ids(spec.include), exclude: ids(spec.exclude) };
}

/** The LOOKALIKE seed: an audience of the account's own (never a shared one), ready, of a seed's size. */
export async function checkLookalikeSeed(app: App, accountId: string, seedId: number): Promise<void> {
  const field = 'audience_spec.lookalike_spec.seed_audience_id';
  const seed = await app.audiences.get(accountId, seedId).catch((e: unknown) => {
    if (isAppError(e) && e.code === 'AudienceNotFound') throw err('AudienceNotFound', `seed audience ${seedId} does not exist in this account`, field);
    throw e;
  });
  // Every audience this deployment builds is a customer audience; a
  // lookalike could not be stored, so "not itself a lookalike" holds here.
  if (seed.status !== 'SUCCESS' || seed.size === null) throw err('AudienceNotReady', `seed audience ${seedId} is ${seed.status}; a seed must be ready (SUCCESS)`, field);
  if (seed.size < LOOKALIKE_SEED_MIN || seed.size > LOOKALIKE_SEED_MAX) {
    throw err('InvalidParameter', `seed audience ${seedId} has ${seed.size} users; a seed needs ${LOOKALIKE_SEED_MIN} to ${LOOKALIKE_SEED_MAX}`, field);
  }
}
