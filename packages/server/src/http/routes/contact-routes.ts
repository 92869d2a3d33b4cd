import type { FastifyPluginAsync } from 'fastify';
import type { Context } from '../../context.js';
import { findDuplicates } from '../../formats/duplicates.js';
import { callerOf } from '../app.js';

/** GET /v1/contacts/duplicates: contacts that look like the same person (suggestions only). */
export function contactRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/contacts/duplicates', async (request) => {
      return { groups: await findDuplicates(ctx.db.kysely, callerOf(request).userId) };
    });
  };
}
