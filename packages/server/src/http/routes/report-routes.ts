import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { callerOf } from '../app.js';
import { lazyModule } from '../lazy-module.js';
import { parseInput } from '../validate.js';

const reportBody = z
  .object({
    text: z.string().trim().min(1).max(4000),
    collectionId: z.string().min(1).max(128).optional(),
  })
  .strict();

const reports = lazyModule(() => import('../../admin/reports.js'));

/** POST /v1/reports: any user tells the operators about a problem; it lands on the user's own ledger. */
export function reportRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.post('/v1/reports', async (request, reply) => {
      const body = parseInput(reportBody, request.body, 'report');
      const { fileReport } = await reports();
      return reply.code(201).send(await fileReport(ctx, callerOf(request), body));
    });
  };
}
