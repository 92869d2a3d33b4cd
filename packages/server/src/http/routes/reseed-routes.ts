import { inventoryRequestSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { toWireLedgerEntry } from '../../ledger/ledger.js';
import { completeReseed, readSummary, takeInventory } from '../../sync/reseed.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const completeSchema = z
  .object({
    previousGeneration: z.string().max(100).nullable(),
    collectionsRecreated: z.number().int().nonnegative(),
    itemsUploaded: z.number().int().nonnegative(),
    blobsUploaded: z.number().int().nonnegative(),
    deletesResent: z.number().int().nonnegative().default(0),
  })
  .strict();

const ledgerQuery = z
  .object({
    after: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export function reseedRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/summary', async (request) => readSummary(ctx, callerOf(request)));

    app.post('/v1/reseed/inventory', async (request) => {
      const body = parseInput(inventoryRequestSchema, request.body, 'inventory');
      return takeInventory(ctx, callerOf(request), body);
    });

    app.post('/v1/reseed/complete', async (request) => {
      const body = parseInput(completeSchema, request.body, 'reseed report');
      return toWireLedgerEntry(await completeReseed(ctx, callerOf(request), body));
    });

    /** The caller's own incidents plus deployment-wide ones (a restore affects everyone). */
    app.get('/v1/ledger', async (request) => {
      const query = parseInput(ledgerQuery, request.query, 'query');
      const caller = callerOf(request);
      const rows = await ctx.db.kysely
        .selectFrom('ledger_entries')
        .selectAll()
        .where((eb) => eb.or([eb('user_id', '=', caller.userId), eb('user_id', 'is', null)]))
        .where('seq', '>', query.after ?? 0)
        .orderBy('seq')
        .limit(query.limit)
        .execute();
      return { entries: rows.map(toWireLedgerEntry) };
    });
  };
}
