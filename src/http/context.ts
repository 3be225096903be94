// What every route can reach: the running services, and the account a request
// was authenticated as (set by the dialect's auth hook).
import type { FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import type { KeyRecord } from '../domain/accounts/service.js';

declare module 'fastify' {
  interface FastifyInstance {
    app: App;
  }
  interface FastifyRequest {
    accountId?: string;
    accessKeyId?: string;
  }
}

export function requireAccount(req: { accountId?: string }): string {
  if (!req.accountId) throw new Error('route reached without an authenticated account');
  return req.accountId;
}

/**
 * What a signature verifier needs for a request signed with an account's key
 * pair: the secret of `key` (found beforehand by the id the request names,
 * undefined when none has it), the server's clock and its skew window.
 */
export function keyVerifyOptions(app: App, key: KeyRecord | undefined) {
  return {
    lookupSecret: (id: string) => (key && id === key.accessKeyId ? key.secret : undefined),
    now: new Date(app.now()),
    maxSkewSeconds: app.config.auth.maxSkewSeconds,
  };
}

/** The client sent `Expect: 100-continue` and waits for it before the body. */
export const expectsContinue = (req: FastifyRequest): boolean => /100-continue/i.test(String(req.headers.expect ?? ''));

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route sends `100 Continue` itself, when it starts reading the body. */
    lazyContinue?: boolean;
  }
}
