import { idSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import type { PointInTime } from '../../sync/point-in-time.js';
import { callerOf } from '../app.js';
import { lazyModule } from '../lazy-module.js';
import { parseInput } from '../validate.js';

const restoreSchema = z
  .object({
    at: z.iso.datetime({ offset: true }).optional(),
    revision: z.number().int().nonnegative().optional(),
    collectionIds: z.array(idSchema).min(1).max(1000).optional(),
    keepNewer: z.boolean().default(false),
  })
  .strict()
  .refine((v) => (v.at === undefined) !== (v.revision === undefined), 'give exactly one of at or revision');

function toPoint(body: z.output<typeof restoreSchema>): PointInTime {
  return {
    ...(body.at ? { at: Date.parse(body.at) } : {}),
    ...(body.revision !== undefined ? { seq: body.revision } : {}),
    ...(body.collectionIds ? { collectionIds: body.collectionIds } : {}),
    keepNewer: body.keepNewer,
  };
}

const pointInTime = lazyModule(() => import('../../sync/point-in-time.js'));

/** Point-in-time restore of the caller's own data, previewed first, applied as new revisions. */
export function restoreRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.post('/v1/restore/preview', async (request) => {
      const body = parseInput(restoreSchema, request.body, 'restore');
      return (await pointInTime()).previewRestore(ctx, callerOf(request), toPoint(body));
    });
    app.post('/v1/restore', async (request) => {
      const body = parseInput(restoreSchema, request.body, 'restore');
      return (await pointInTime()).applyRestore(ctx, callerOf(request), toPoint(body));
    });
  };
}
