// Sharing an audience with other accounts (audience_grants, migration 0009).
//
// A grant is read-only: the grantee sees the audience's id, name, type,
// status and size, and may name it as an input of its own COMBINE
// (combine.ts accepts an input that is the account's own or granted to it).
// Everything else stays the owner's: for the grantee the audience does not
// exist when it tries to change, rename, export, read members of or delete
// it, exactly as before grants existed (AudienceService filters by account).
//
// A COMBINE built from a shared audience keeps the version it computed; a
// later recompute validates its inputs again, so a revoked grant or a
// deleted audience ends that change in ERROR naming the input. The grants of
// an audience go with it (the foreign key cascades).
import type { Selectable } from 'kysely';
import { err } from '../../errors.js';
import type { Db } from '../../infra/db/index.js';
import { isUniqueViolation } from '../../infra/db/index.js';
import type { AudienceGrantsTable } from '../../infra/db/schema.js';
import type { AudienceService } from './service.js';
import { toAudience, type Audience, type AudienceStatus, type AudienceType } from './types.js';

/** At most this many accounts per grant call: a share is a deliberate act, not a broadcast. */
export const MAX_GRANTEES = 100;

export interface Grant {
  audienceId: number;
  ownerAccountId: string;
  granteeAccountId: string;
  createdAt: string;
}

/** What a grantee may know of an audience shared with it. */
export interface SharedAudience {
  id: number;
  ownerAccountId: string;
  name: string;
  type: AudienceType;
  status: AudienceStatus;
  size: number | null;
  sharedAt: string;
}

const iso = (ms: number) => new Date(Number(ms)).toISOString();

export class AudienceGrants {
  constructor(
    private readonly db: Db,
    private readonly audiences: AudienceService,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Shares the owner's audience with each account. Every grantee is checked
   * before anything is written: the owner itself and an account that does
   * not exist are refused naming their index in the list. Granting again
   * what is already granted changes nothing (its first date is kept).
   */
  async grant(
    ownerAccountId: string,
    audienceId: number,
    granteeAccountIds: readonly string[],
    fields: { list: string; item: (index: number) => string } = { list: 'account_ids', item: (i) => `account_ids[${i}]` },
  ): Promise<{ grants: Grant[]; added: string[] }> {
    await this.audiences.get(ownerAccountId, audienceId);
    const field = fields.list;
    if (!Array.isArray(granteeAccountIds) || granteeAccountIds.length === 0) throw err('MissingParameter', `${field} needs at least one account`, field);
    if (granteeAccountIds.length > MAX_GRANTEES) throw err('InvalidParameter', `${field} names ${granteeAccountIds.length} accounts; at most ${MAX_GRANTEES} per call`, field);
    const wanted: string[] = [];
    for (const [i, id] of granteeAccountIds.entries()) {
      const f = fields.item(i);
      if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw err('InvalidParameter', `${f} must be an account id, got ${JSON.stringify(id)}`, f);
      if (id === ownerAccountId) throw err('InvalidParameter', `${f} is the audience's own account; an audience is shared with other accounts`, f);
      if (!wanted.includes(id)) wanted.push(id);
    }
    const known = new Set((await this.db.selectFrom('accounts').select('id').where('id', 'in', wanted).execute()).map((r) => r.id));
    for (const [i, id] of granteeAccountIds.entries()) {
      if (!known.has(id)) throw err('AccountNotFound', `${fields.item(i)}: account ${id} does not exist`, fields.item(i));
    }
    const existing = new Set(
      (await this.db.selectFrom('audience_grants').select('grantee_account_id').where('audience_id', '=', audienceId).where('grantee_account_id', 'in', wanted).execute()).map((r) => r.grantee_account_id),
    );
    const added: string[] = [];
    const at = this.now();
    for (const id of wanted) {
      if (existing.has(id)) continue;
      try {
        await this.db.insertInto('audience_grants').values({ audience_id: audienceId, owner_account_id: ownerAccountId, grantee_account_id: id, created_at: at }).execute();
        added.push(id);
      } catch (e) {
        // The same grant made by a request running beside this one: it exists, which is all that was asked.
        if (!isUniqueViolation(e)) throw e;
      }
    }
    return { grants: await this.listOf(audienceId), added };
  }

  /** Ends one grant. A grant that does not exist is refused, so a typo in the account id is not taken for success. */
  async revoke(ownerAccountId: string, audienceId: number, granteeAccountId: string): Promise<void> {
    await this.audiences.get(ownerAccountId, audienceId);
    const r = await this.db
      .deleteFrom('audience_grants')
      .where('audience_id', '=', audienceId)
      .where('owner_account_id', '=', ownerAccountId)
      .where('grantee_account_id', '=', granteeAccountId)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw err('NotFound', `audience ${audienceId} is not shared with account ${granteeAccountId}`, 'account_id');
  }

  /** The accounts the owner's audience is shared with, oldest grant first. */
  async ofAudience(ownerAccountId: string, audienceId: number): Promise<Grant[]> {
    await this.audiences.get(ownerAccountId, audienceId);
    return this.listOf(audienceId);
  }

  /** The owner's grants one by one (optionally of some audiences), newest audience first, for a vendor's numbered pages. */
  async page(ownerAccountId: string, q: { audienceIds?: readonly number[]; offset: number; limit: number }): Promise<{ total: number; items: Grant[] }> {
    let base = this.db.selectFrom('audience_grants').where('owner_account_id', '=', ownerAccountId);
    if (q.audienceIds !== undefined) base = q.audienceIds.length > 0 ? base.where('audience_id', 'in', [...q.audienceIds]) : base.where((eb) => eb.lit(false));
    const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await base.selectAll().orderBy('audience_id', 'desc').orderBy('grantee_account_id').limit(q.limit).offset(q.offset).execute();
    return { total, items: rows.map(toGrant) };
  }

  /** Audiences other accounts share with this one, most recently shared audience id first; `after` is the previous page's `next`. */
  async sharedWith(granteeAccountId: string, q: { limit?: number; after?: string } = {}): Promise<{ items: SharedAudience[]; next: string | null }> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    let query = this.sharedQuery(granteeAccountId);
    if (q.after !== undefined) {
      if (!/^\d{1,15}$/.test(q.after)) throw err('InvalidParameter', 'after is not a cursor this service issued', 'after');
      query = query.where('a.id', '<', Number(q.after));
    }
    const rows = await query.orderBy('a.id', 'desc').limit(limit + 1).execute();
    const items = rows.slice(0, limit).map(toShared);
    return { items, next: rows.length > limit ? String(items[items.length - 1].id) : null };
  }

  /** One audience shared with this account; AudienceNotFound when it is not (or no longer) shared. */
  async getShared(granteeAccountId: string, audienceId: number): Promise<SharedAudience> {
    const row = Number.isSafeInteger(audienceId) ? await this.sharedQuery(granteeAccountId).where('a.id', '=', audienceId).executeTakeFirst() : undefined;
    if (!row) throw err('AudienceNotFound', `audience ${audienceId} is not shared with this account`, 'audience_id');
    return toShared(row);
  }

  /**
   * An audience the account may read as an input: its own, or one shared
   * with it (`shared` true). For checks made before a COMBINE is written;
   * nothing of another account's audience beyond what a grantee may see
   * should reach an answer.
   */
  async readable(accountId: string, audienceId: number): Promise<{ audience: Audience; shared: boolean } | undefined> {
    if (!Number.isSafeInteger(audienceId)) return undefined;
    const row = await readableAudiences(this.db, accountId).selectAll('a').where('a.id', '=', audienceId).executeTakeFirst();
    return row && { audience: toAudience(row), shared: row.account_id !== accountId };
  }

  /** The grants of an audience whose owner was checked, oldest first. */
  private async listOf(audienceId: number): Promise<Grant[]> {
    const rows = await this.db.selectFrom('audience_grants').selectAll().where('audience_id', '=', audienceId).orderBy('created_at').orderBy('grantee_account_id').execute();
    return rows.map(toGrant);
  }

  private sharedQuery(granteeAccountId: string) {
    return this.db
      .selectFrom('audience_grants as g')
      .innerJoin('audiences as a', 'a.id', 'g.audience_id')
      .select(['a.id', 'a.account_id', 'a.name', 'a.type', 'a.status', 'a.size', 'g.created_at'])
      .where('g.grantee_account_id', '=', granteeAccountId);
  }
}

/**
 * The audiences an account may read (as `a`): its own and those shared with
 * it. One row each: a grant's key is its audience and grantee.
 */
export function readableAudiences(db: Db, accountId: string) {
  return db
    .selectFrom('audiences as a')
    .leftJoin('audience_grants as g', (j) => j.onRef('g.audience_id', '=', 'a.id').on('g.grantee_account_id', '=', accountId))
    .where((eb) => eb.or([eb('a.account_id', '=', accountId), eb('g.audience_id', 'is not', null)]));
}

function toGrant(r: Selectable<AudienceGrantsTable>): Grant {
  return { audienceId: Number(r.audience_id), ownerAccountId: r.owner_account_id, granteeAccountId: r.grantee_account_id, createdAt: iso(r.created_at) };
}

function toShared(r: { id: number; account_id: string; name: string; type: string; status: string; size: number | null; created_at: number }): SharedAudience {
  return {
    id: Number(r.id),
    ownerAccountId: r.account_id,
    name: r.name,
    type: r.type as AudienceType,
    status: r.status as AudienceStatus,
    size: r.size === null ? null : Number(r.size),
    sharedAt: iso(r.created_at),
  };
}
