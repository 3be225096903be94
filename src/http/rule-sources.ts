// What a rule reads must be the account's own: a USER_ACTION rule names a
// user action set, which must exist in the account. Checked by every wire
// layer before a rule audience is created or previewed, naming the field
// where that wire format keeps the set id.
import type { App } from '../app.js';
import type { ActionSet } from '../domain/events/action-sets.js';
import type { RuleSpec } from '../domain/rules/types.js';
import { err, isAppError } from '../errors.js';

/** The account's action set `id`; a missing one (or another account's) is refused naming `field`. */
export async function ownActionSet(app: App, accountId: string, id: number, field: string): Promise<ActionSet> {
  return app.actionSets.get(accountId, id).catch((e: unknown) => {
    if (isAppError(e) && e.code === 'ActionSetNotFound') throw err('ActionSetNotFound', `user action set ${id} does not exist in this account`, field);
    throw e;
  });
}

export async function checkRuleSources(app: App, accountId: string, rule: RuleSpec, field: string): Promise<void> {
  if (rule.type !== 'USER_ACTION') return;
  await ownActionSet(app, accountId, rule.user_action_spec.user_action_set_id, field);
}
