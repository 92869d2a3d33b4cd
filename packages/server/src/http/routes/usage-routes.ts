import type { FastifyPluginAsync } from 'fastify';
import type { Context } from '../../context.js';
import { quotaReport } from '../../sync/quota.js';
import { callerOf } from '../app.js';

/**
 * GET /v1/account/usage: what the caller's account holds against its quotas;
 * GET /v1/account/safety: what they have, whether it is on a backup target,
 * their devices and open incidents (docs/protocol.md).
 */
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

    // Its code (and the store queries behind it) loads with the first request for it, not at start.
    app.get('/v1/account/safety', async (request) => {
      const { accountSafety } = await import('../../sync/account-safety.js');
      return accountSafety(ctx, callerOf(request));
    });
  };
}
