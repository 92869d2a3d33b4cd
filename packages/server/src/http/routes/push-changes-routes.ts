import { AppError, changesQuerySchema, pushRequestSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { backupWatermark } from '../../backup/ack-gate.js';
import type { Context } from '../../context.js';
import { readGeneration } from '../../store/meta.js';
import { readChangesJson } from '../../sync/changes.js';
import { push } from '../../sync/push.js';
import { callerOf } from '../app.js';
import { acknowledge } from '../durability-hook.js';
import { parseInput } from '../validate.js';

/** POST /v1/push and GET /v1/changes. */
export function pushChangesRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.post('/v1/push', async (request) => {
      const body = parseInput(pushRequestSchema, request.body, 'push');
      const caller = callerOf(request);
      const generation = await readGeneration(ctx.db);
      if (body.generation !== undefined && body.generation !== generation && body.changes.some((c) => !c.reseed)) {
        throw new AppError('generation_changed', 'This server was restored or replaced; pull (and re-seed) first.', {
          generation,
        });
      }
      const results = await push(ctx, caller, body.changes, body.confirmMassChange === true);
      for (const result of results) ctx.metrics.pushedChanges.inc({ status: result.status });
      request.log.debug({ changes: body.changes.length }, 'push');
      // A retried change answered from its receipt wrote nothing now: its first write is what must be safe.
      const written = Math.max(0, ...results.map((r) => (r.status === 'applied' ? r.revision : 0)));
      const durability = await acknowledge(ctx, request, written);
      return { results, generation, durability };
    });

    app.get('/v1/changes', async (request, reply) => {
      const query = parseInput(changesQuerySchema, request.query, 'query');
      const page = await readChangesJson(ctx, callerOf(request), query.cursor, query.limit, () => backupWatermark(ctx));
      return reply.type('application/json; charset=utf-8').send(page);
    });
  };
}
