import { idSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { listTrash } from '../../sync/item-restore.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const trashQuery = z
  .object({
    collectionId: idSchema.optional(),
    after: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** GET /v1/trash: the caller's deleted items still in the trash (undelete them with POST /v1/items/:id/undelete). */
export function trashRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/trash', async (request) => {
      const query = parseInput(trashQuery, request.query, 'query');
      return listTrash(ctx, callerOf(request).userId, query);
    });
  };
}
