import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { dismissNotice, listNotices } from '../../notify/notices.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const noticeParams = z.object({ seq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }).strict();

/** GET /v1/notices and POST /v1/notices/:seq/dismiss: the portal's banner of what touched the caller's data. */
export function noticeRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/notices', async (request) => ({ notices: await listNotices(ctx, callerOf(request).userId) }));

    app.post('/v1/notices/:seq/dismiss', async (request, reply) => {
      const { seq } = parseInput(noticeParams, request.params, 'path');
      await dismissNotice(ctx, callerOf(request).userId, seq);
      return reply.code(204).send();
    });
  };
}
