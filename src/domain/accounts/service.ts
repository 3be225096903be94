// Accounts and their key pairs. A key pair is a public key id plus a secret;
// the same pair authenticates every dialect in its own scheme. The secret is
// returned once, on creation or rotation, and kept sealed at rest.
import type { Db } from '../../infra/db/index.js';
import type { Sealer } from '../../infra/crypto/sealer.js';
import { randomToken, sha256Hex } from '../../infra/crypto/ids.js';
import { err } from '../../errors.js';

export interface Account {
  id: string;
  name: string;
  status: string;
  createdAt: string;
}

export interface KeyInfo {
  id: string;
  accountId: string;
  status: 'active' | 'revoked';
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface KeyPair {
  accessKeyId: string;
  secret: string;
}

/** What an authenticator needs to check a signature made with a key. */
export interface KeyRecord {
  accessKeyId: string;
  accountId: string;
  secret: string;
  status: 'active' | 'revoked';
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,127}$/u;

export class AccountService {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Account ids are numeric strings so that dialects with integer account ids (Tencent Ads) can carry them. */
  private async freshAccountId(): Promise<string> {
    for (;;) {
      const id = String(1 + Math.floor(Math.random() * 9)) + randomToken(9, '0123456789');
      const hit = await this.db.selectFrom('accounts').select('id').where('id', '=', id).executeTakeFirst();
      if (!hit) return id;
    }
  }

  async create(name: string): Promise<{ account: Account; key: KeyPair }> {
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw err('InvalidParameter', 'name must be 1-128 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit', 'name');
    }
    const taken = await this.db.selectFrom('accounts').select('id').where('name', '=', name).executeTakeFirst();
    if (taken) throw err('AccountExists', `an account named ${JSON.stringify(name)} already exists`, 'name');
    const id = await this.freshAccountId();
    const at = this.now();
    const key = this.newKeyPair();
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('accounts').values({ id, name, status: 'active', created_at: at }).execute();
      await tx.insertInto('api_keys').values(this.keyRow(key, id, at)).execute();
    });
    return { account: { id, name, status: 'active', createdAt: iso(at)! }, key };
  }

  async get(id: string): Promise<Account> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw err('AccountNotFound', `account ${id} does not exist`, 'account_id');
    return { id: row.id, name: row.name, status: row.status, createdAt: iso(row.created_at)! };
  }

  async list(): Promise<Account[]> {
    const rows = await this.db.selectFrom('accounts').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, status: r.status, createdAt: iso(r.created_at)! }));
  }

  private newKeyPair(): KeyPair {
    return { accessKeyId: 'AHK' + randomToken(21, UPPER), secret: randomToken(40, MIXED) };
  }

  /** The api_keys row of a new key pair: the secret sealed, and hashed for bearer lookups. */
  private keyRow(key: KeyPair, accountId: string, at: number) {
    return { id: key.accessKeyId, account_id: accountId, secret_enc: this.sealer.seal(key.secret), secret_hash: sha256Hex(key.secret), status: 'active', created_at: at, revoked_at: null, last_used_at: null };
  }

  async createKey(accountId: string): Promise<KeyPair> {
    await this.get(accountId);
    const key = this.newKeyPair();
    await this.db.insertInto('api_keys').values(this.keyRow(key, accountId, this.now())).execute();
    return key;
  }

  async listKeys(accountId: string): Promise<KeyInfo[]> {
    await this.get(accountId);
    const rows = await this.db.selectFrom('api_keys').selectAll().where('account_id', '=', accountId).orderBy('created_at').execute();
    return rows.map((r) => ({
      id: r.id,
      accountId: r.account_id,
      status: r.status as KeyInfo['status'],
      createdAt: iso(r.created_at)!,
      revokedAt: iso(r.revoked_at),
      lastUsedAt: iso(r.last_used_at),
    }));
  }

  async revokeKey(accountId: string, keyId: string): Promise<void> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ status: 'revoked', revoked_at: this.now() })
      .where('id', '=', keyId)
      .where('account_id', '=', accountId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      const exists = await this.db.selectFrom('api_keys').select('status').where('id', '=', keyId).where('account_id', '=', accountId).executeTakeFirst();
      if (!exists) throw err('NotFound', `key ${keyId} does not exist in account ${accountId}`, 'key_id');
    }
    // Tokens minted from a revoked key die with it.
    await this.db.updateTable('access_tokens').set({ revoked_at: this.now() }).where('key_id', '=', keyId).where('revoked_at', 'is', null).execute();
  }

  /** Rotation: a new key is issued and the old one revoked in one transaction. */
  async rotateKey(accountId: string, keyId: string): Promise<KeyPair> {
    const old = await this.db.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('account_id', '=', accountId).executeTakeFirst();
    if (!old) throw err('NotFound', `key ${keyId} does not exist in account ${accountId}`, 'key_id');
    if (old.status !== 'active') throw err('KeyAlreadyRevoked', `key ${keyId} is already revoked; rotate an active key instead`, 'key_id');
    const key = this.newKeyPair();
    const at = this.now();
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('api_keys').values(this.keyRow(key, accountId, at)).execute();
      await tx.updateTable('api_keys').set({ status: 'revoked', revoked_at: at }).where('id', '=', keyId).execute();
      await tx.updateTable('access_tokens').set({ revoked_at: at }).where('key_id', '=', keyId).where('revoked_at', 'is', null).execute();
    });
    return key;
  }

  /** Key lookup for authenticators; returns revoked keys too so that they can say "revoked" rather than "unknown". */
  async findKey(accessKeyId: string): Promise<KeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', accessKeyId).executeTakeFirst();
    if (!row) return undefined;
    return { accessKeyId: row.id, accountId: row.account_id, secret: this.sealer.open(row.secret_enc), status: row.status as KeyRecord['status'] };
  }

  /** Bearer tokens: either the secret alone or `<accessKeyId>:<secret>`. */
  async findKeyBySecret(bearer: string): Promise<KeyRecord | undefined> {
    const sep = bearer.indexOf(':');
    const secret = sep === -1 ? bearer : bearer.slice(sep + 1);
    const row = await this.db.selectFrom('api_keys').selectAll().where('secret_hash', '=', sha256Hex(secret)).executeTakeFirst();
    if (!row || (sep !== -1 && row.id !== bearer.slice(0, sep))) return undefined;
    return { accessKeyId: row.id, accountId: row.account_id, secret, status: row.status as KeyRecord['status'] };
  }

  /**
   * Remembers a nonce until it can no longer pass the clock-skew check; true
   * when it was seen before. The primary key makes this safe across processes.
   */
  async useNonce(scope: string, nonce: string, ttlMs: number): Promise<boolean> {
    const at = this.now();
    const res = await this.db
      .insertInto('nonces')
      .values({ scope, nonce, expires_at: at + ttlMs })
      .onConflict((oc) => oc.columns(['scope', 'nonce']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 0;
  }

  async pruneNonces(): Promise<number> {
    const res = await this.db.deleteFrom('nonces').where('expires_at', '<', this.now()).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  // ---- Tencent Ads style OAuth access tokens -------------------------------

  async issueTokens(accountId: string, keyId: string, ttl: { accessSeconds: number; refreshSeconds: number }) {
    const key = await this.findKey(keyId);
    if (!key || key.accountId !== accountId) throw err('UnknownKey', `key ${keyId} does not belong to account ${accountId}`, 'key_id');
    if (key.status !== 'active') throw err('RevokedKey', `key ${keyId} has been revoked`, 'key_id');
    const at = this.now();
    const accessToken = randomToken(40, MIXED);
    const refreshToken = randomToken(40, MIXED);
    await this.db
      .insertInto('access_tokens')
      .values([
        { token_hash: sha256Hex(accessToken), kind: 'access', account_id: accountId, key_id: keyId, expires_at: at + ttl.accessSeconds * 1000, created_at: at, revoked_at: null },
        { token_hash: sha256Hex(refreshToken), kind: 'refresh', account_id: accountId, key_id: keyId, expires_at: at + ttl.refreshSeconds * 1000, created_at: at, revoked_at: null },
      ])
      .execute();
    return {
      accessToken,
      refreshToken,
      accessTokenExpiresIn: ttl.accessSeconds,
      refreshTokenExpiresIn: ttl.refreshSeconds,
      accountId,
    };
  }

  /**
   * Exchanges a refresh token for a new access token (the refresh token stays
   * valid until it expires). `accountId`, when given, must own the refresh
   * token (the OAuth client_id): checked before anything is minted.
   */
  async refreshAccessToken(refreshToken: string, ttl: { accessSeconds: number }, accountId?: string) {
    const row = await this.tokenRow(refreshToken, 'refresh');
    if (accountId !== undefined && row.account_id !== accountId) throw err('InvalidToken', 'the refresh token belongs to another account', 'refresh_token');
    const at = this.now();
    const accessToken = randomToken(40, MIXED);
    await this.db
      .insertInto('access_tokens')
      .values({ token_hash: sha256Hex(accessToken), kind: 'access', account_id: row.account_id, key_id: row.key_id, expires_at: at + ttl.accessSeconds * 1000, created_at: at, revoked_at: null })
      .execute();
    return { accessToken, accessTokenExpiresIn: ttl.accessSeconds, refreshToken, refreshTokenExpiresIn: Math.floor((Number(row.expires_at) - at) / 1000), accountId: row.account_id };
  }

  async verifyAccessToken(token: string): Promise<{ accountId: string; keyId: string }> {
    const row = await this.tokenRow(token, 'access');
    return { accountId: row.account_id, keyId: row.key_id };
  }

  private async tokenRow(token: string, kind: 'access' | 'refresh') {
    const field = kind === 'access' ? 'access_token' : 'refresh_token';
    // With the status of the key it was issued from, in the same read (its secret is not needed, so it is not unsealed).
    const row = await this.db
      .selectFrom('access_tokens as t')
      .leftJoin('api_keys as k', 'k.id', 't.key_id')
      .selectAll('t')
      .select('k.status as key_status')
      .where('t.token_hash', '=', sha256Hex(token))
      .where('t.kind', '=', kind)
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) throw err('InvalidToken', `the ${kind} token is not valid`, field);
    if (Number(row.expires_at) <= this.now()) throw err('TokenExpired', `the ${kind} token has expired`, field);
    if (row.key_status !== 'active') throw err('RevokedKey', `the key this ${kind} token was issued from has been revoked`, field);
    return row;
  }
}
