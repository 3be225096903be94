// GET /v1/usage: the calling account's metered vendor calls in one month
// (src/domain/usage), with the free tier applied.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAccount } from '../context.js';
import { authenticateBearer } from './auth.js';

export const usageRoutes: FastifyPluginAsyncTypebox = async (f) => {
  f.addHook('onRequest', async (req) => authenticateBearer(f.app, req));

  f.get(
    '/usage',
    {
      schema: {
        tags: ['usage'],
        security: [{ bearer: [] }],
        summary: "The account's metered calls in a month",
        description:
          'Per API, the successful and failed calls counted (PAI: every CreateGroup and DeleteGroup, successful GetGroup and ListGroups). The billable calls share 1,000 free calls a month; the rest are charged at `unit_price`.',
        querystring: Type.Object({ month: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}$', description: 'YYYY-MM (UTC), default the current month' })) }),
      },
    },
    async (req) => {
      const r = await f.app.usage.report(requireAccount(req), req.query.month);
      return {
        month: r.month,
        items: r.items.map((l) => ({ api: l.api, ok: l.ok, failed: l.failed, calls: l.ok + l.failed, billable: l.billable })),
        billable_calls: r.billableCalls,
        free_calls: r.freeCalls,
        free_calls_used: r.freeCallsUsed,
        charged_calls: r.chargedCalls,
        unit_price: r.unitPrice,
        amount: r.amount,
      };
    },
  );
};
