import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { findDuplicates } from '../../content/duplicates.js';
import type { Context } from '../../context.js';
import { callerOf } from '../app.js';
import { lazyModule } from '../lazy-module.js';
import { parseInput } from '../validate.js';

const searchQuery = z
  .object({
    q: z.string().max(200).default(''),
    after: z.string().min(1).max(8000).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

const contactSearch = lazyModule(() => import('../../sync/contact-search.js'));

/** GET /v1/contacts/duplicates (suggestions only) and /v1/contacts/search (the contact list, from its index). */
export function contactRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/contacts/duplicates', async (request) => {
      return { groups: await findDuplicates(ctx.db, callerOf(request).userId) };
    });

    app.get('/v1/contacts/search', async (request) => {
      const query = parseInput(searchQuery, request.query, 'query');
      const { searchContacts } = await contactSearch();
      return searchContacts(ctx, callerOf(request).userId, query);
    });
  };
}
