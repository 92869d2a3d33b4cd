import type { FastifyPluginAsync } from 'fastify';
import type { Context } from '../../context.js';
import { quotaReport } from '../../sync/quota.js';
import { callerOf } from '../app.js';

/** GET /v1/account/usage: what the caller's account holds against its quotas (docs/protocol.md). */
export function usageRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/account/usage', async (request) => {
      const report = await quotaReport(ctx, callerOf(request).userId);
      return {
        items: report.usage.items,
        bytes: report.usage.bytes,
        quotaItems: report.quota.items,
        quotaBytes: report.quota.bytes,
        warning: report.warning,
      };
    });
  };
}
