// Native API and PAI authentication: `Authorization: Bearer <secret>` or
// `Bearer <accessKeyId>:<secret>`. The admin routes take the admin token.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { err } from '../../errors.js';

function bearer(req: FastifyRequest): string {
  const h = req.headers.authorization;
  if (!h) throw err('Unauthenticated', 'send Authorization: Bearer <secret>', 'Authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) throw err('Unauthenticated', 'the Authorization header must be "Bearer <secret>"', 'Authorization');
  return m[1];
}

export async function authenticateBearer(app: App, req: FastifyRequest): Promise<void> {
  const token = bearer(req);
  const key = await app.accounts.findKeyBySecret(token);
  if (!key) throw err('UnknownKey', 'no key matches this bearer token', 'Authorization');
  if (key.status !== 'active') throw err('RevokedKey', `key ${key.accessKeyId} has been revoked`, 'Authorization');
  req.accountId = key.accountId;
  req.accessKeyId = key.accessKeyId;
}

export function authenticateAdmin(app: App, req: FastifyRequest): void {
  const token = Buffer.from(bearer(req));
  const want = Buffer.from(app.adminToken);
  if (token.length !== want.length || !timingSafeEqual(token, want)) throw err('Forbidden', 'the admin token is not valid', 'Authorization');
}
