// What every route can reach: the running services, and the account a request
// was authenticated as (set by the dialect's auth hook).
import type { App } from '../app.js';

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

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route sends `100 Continue` itself, when it starts reading the body. */
    lazyContinue?: boolean;
  }
}
