import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { listUserLedger } from '../../ledger/ledger.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const ledgerQuery = z
  .object({
    after: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** GET /v1/ledger: the caller's own incidents plus the deployment-wide ones that touched them, in their view. */
export function ledgerRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/ledger', async (request) => {
      const query = parseInput(ledgerQuery, request.query, 'query');
      const rows = await listUserLedger(ctx.db, callerOf(request).userId, {
        after: query.after ?? 0,
        limit: query.limit,
      });
      return { entries: rows };
    });
  };
}
