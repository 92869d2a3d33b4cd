import { inventoryRequestSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { toWireLedgerEntry } from '../../ledger/ledger.js';
import { callerOf } from '../app.js';
import { lazyModule } from '../lazy-module.js';
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

const reseed = lazyModule(() => import('../../sync/reseed.js'));

/** GET /v1/summary and the re-seed exchange (/v1/reseed/inventory, /v1/reseed/complete). */
export function summaryReseedRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/summary', async (request) => (await reseed()).readSummary(ctx, callerOf(request)));

    app.post('/v1/reseed/inventory', async (request) => {
      const body = parseInput(inventoryRequestSchema, request.body, 'inventory');
      return (await reseed()).takeInventory(ctx, callerOf(request), body);
    });

    app.post('/v1/reseed/complete', async (request) => {
      const body = parseInput(completeSchema, request.body, 'reseed report');
      return toWireLedgerEntry(await (await reseed()).completeReseed(ctx, callerOf(request), body));
    });
  };
}
