import { idSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { getItem, getItemRevision, itemHistory } from '../../sync/items.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const params = z.object({ id: idSchema });
const revisionParams = z.object({ id: idSchema, revision: z.coerce.number().int().positive() });
const itemQuery = z.object({ includeDeleted: z.enum(['true', 'false']).optional() }).strict();
const historyQuery = z
  .object({
    after: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export function itemRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/items/:id', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      const query = parseInput(itemQuery, request.query, 'query');
      return getItem(ctx, callerOf(request), id, query.includeDeleted === 'true');
    });

    app.get('/v1/items/:id/revisions', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      const query = parseInput(historyQuery, request.query, 'query');
      return itemHistory(ctx, callerOf(request), id, query);
    });

    app.get('/v1/items/:id/revisions/:revision', async (request) => {
      const { id, revision } = parseInput(revisionParams, request.params, 'path');
      return getItemRevision(ctx, callerOf(request), id, revision);
    });
  };
}
