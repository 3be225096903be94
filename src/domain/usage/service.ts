// Per-account usage metering of billed vendor calls. Each call adds one to a
// counter row (account, UTC month, API, outcome) in the same statement that
// creates the row, so concurrent calls never lose a count. Which calls count
// is the caller's rule (the PAI dialect: every create and delete, successful
// gets only); this file only counts and reports.
//
// The free tier is one pool per account and month shared by the billed APIs:
// the first FREE_CALLS_PER_MONTH billable calls of a month are free, the rest
// are charged at UNIT_PRICE each.
import { sql } from 'kysely';
import type { Db } from '../../infra/db/index.js';
import { err } from '../../errors.js';

export const FREE_CALLS_PER_MONTH = 1000;
/** The seed's "standard" tier price per request (currency as the vendor bills it). */
export const UNIT_PRICE = 0.001;

/** The billed PAI calls; ListGroups is metered for the record but not billed (the seed gives it no price). */
export const BILLED_APIS = new Set(['pai.CreateGroup', 'pai.GetGroup', 'pai.DeleteGroup']);

export type Outcome = 'ok' | 'failed';

export interface UsageLine {
  api: string;
  ok: number;
  failed: number;
  billable: boolean;
}

export interface UsageReport {
  month: string;
  items: UsageLine[];
  billableCalls: number;
  freeCalls: number;
  freeCallsUsed: number;
  chargedCalls: number;
  unitPrice: number;
  amount: number;
}

export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

export class UsageMeter {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async record(accountId: string, api: string, outcome: Outcome): Promise<void> {
    const at = this.now();
    await this.db
      .insertInto('usage_counters')
      .values({ account_id: accountId, month: monthOf(at), api, outcome, calls: 1, updated_at: at })
      .onConflict((oc) => oc.columns(['account_id', 'month', 'api', 'outcome']).doUpdateSet({ calls: sql`usage_counters.calls + 1`, updated_at: at }))
      .execute();
  }

  /** The account's usage in one month (YYYY-MM, default the current one). */
  async report(accountId: string, month = monthOf(this.now())): Promise<UsageReport> {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw err('InvalidParameter', 'month must be YYYY-MM', 'month');
    const rows = await this.db.selectFrom('usage_counters').selectAll().where('account_id', '=', accountId).where('month', '=', month).orderBy('api').execute();
    const byApi = new Map<string, UsageLine>();
    for (const r of rows) {
      const line = byApi.get(r.api) ?? { api: r.api, ok: 0, failed: 0, billable: BILLED_APIS.has(r.api) };
      line[r.outcome === 'ok' ? 'ok' : 'failed'] += Number(r.calls);
      byApi.set(r.api, line);
    }
    const items = [...byApi.values()];
    const billableCalls = items.filter((l) => l.billable).reduce((n, l) => n + l.ok + l.failed, 0);
    const chargedCalls = Math.max(0, billableCalls - FREE_CALLS_PER_MONTH);
    return {
      month,
      items,
      billableCalls,
      freeCalls: FREE_CALLS_PER_MONTH,
      freeCallsUsed: Math.min(billableCalls, FREE_CALLS_PER_MONTH),
      chargedCalls,
      unitPrice: UNIT_PRICE,
      // Rounded to the micro-unit so the float product reads cleanly.
      amount: Math.round(chargedCalls * UNIT_PRICE * 1e6) / 1e6,
    };
  }
}
