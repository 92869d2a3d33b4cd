import type { FastifyPluginAsync } from 'fastify';
import { findDuplicates } from '../../content/duplicates.js';
import type { Context } from '../../context.js';
import { callerOf } from '../app.js';

/** GET /v1/contacts/duplicates: contacts that look like the same person (suggestions only). */
export function contactRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/contacts/duplicates', async (request) => {
      return { groups: await findDuplicates(ctx.db, callerOf(request).userId) };
    });
  };
}
