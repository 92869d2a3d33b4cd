import { createCollectionSchema, idSchema, updateCollectionSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import {
  createCollection,
  deleteCollection,
  getCollection,
  listCollections,
  updateCollection,
} from '../../sync/collections.js';
import { listItems } from '../../sync/items.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const params = z.object({ id: idSchema });
const listQuery = z.object({ includeDeleted: z.enum(['true', 'false']).optional() }).strict();
const itemsQuery = z
  .object({ after: idSchema.optional(), limit: z.coerce.number().int().min(1).max(1000).default(500) })
  .strict();

export function collectionRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/collections', async (request) => {
      const query = parseInput(listQuery, request.query, 'query');
      return { collections: await listCollections(ctx, callerOf(request), query.includeDeleted === 'true') };
    });

    app.post('/v1/collections', async (request, reply) => {
      const body = parseInput(createCollectionSchema, request.body, 'collection');
      return reply.code(201).send(await createCollection(ctx, callerOf(request), body));
    });

    app.get('/v1/collections/:id', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      return getCollection(ctx, callerOf(request), id);
    });

    app.patch('/v1/collections/:id', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      const body = parseInput(updateCollectionSchema, request.body, 'collection');
      return updateCollection(ctx, callerOf(request), id, body);
    });

    app.delete('/v1/collections/:id', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      return deleteCollection(ctx, callerOf(request), id);
    });

    app.get('/v1/collections/:id/items', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      const query = parseInput(itemsQuery, request.query, 'query');
      return listItems(ctx, callerOf(request), id, query);
    });
  };
}
