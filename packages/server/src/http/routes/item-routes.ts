import { idSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { itemJsonView } from '../../content/item-view.js';
import type { Context } from '../../context.js';
import { readCollectionType } from '../../store/collections.js';
import { restoreItemRevision, undeleteItem } from '../../sync/item-restore.js';
import { getItem, getItemRevision, itemHistory } from '../../sync/items.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const params = z.object({ id: idSchema });
const revisionParams = z.object({ id: idSchema, revision: z.coerce.number().int().positive() });
const noQuery = z.object({}).strict();
const itemQuery = z.object({ includeDeleted: z.enum(['true', 'false']).optional() }).strict();
const historyQuery = z
  .object({
    after: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
const restoreBody = z.object({ revision: z.number().int().positive() }).strict();

/**
 * GET /v1/items/:id, its history (/revisions, /revisions/:revision) and its
 * jCard/jCal view (/json); POST /undelete and /restore to bring content back.
 */
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

    /** A contact as jCard or an event/task as jCal. */
    app.get('/v1/items/:id/json', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      parseInput(noQuery, request.query, 'query');
      const item = await getItem(ctx, callerOf(request), id);
      const type = await readCollectionType(ctx.db, callerOf(request).userId, item.collectionId);
      const view = itemJsonView(type as Parameters<typeof itemJsonView>[0], String(item.content));
      return { id: item.id, collectionId: item.collectionId, revision: item.revision, ...view };
    });

    /** Out of the trash: the item as it was before it was deleted, as a new revision. */
    app.post('/v1/items/:id/undelete', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      return undeleteItem(ctx, callerOf(request), id);
    });

    /** "Restore this version": a new revision with the content of one of the item's past revisions. */
    app.post('/v1/items/:id/restore', async (request) => {
      const { id } = parseInput(params, request.params, 'path');
      const body = parseInput(restoreBody, request.body, 'restore');
      return restoreItemRevision(ctx, callerOf(request), id, body.revision);
    });
  };
}
