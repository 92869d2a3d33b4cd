import type { FastifyPluginAsync } from 'fastify';
import type { Context } from '../../context.js';
import { quotaReport } from '../../sync/quota.js';
import { callerOf } from '../app.js';
import { lazyModule } from '../lazy-module.js';

const safety = lazyModule(() => import('../../sync/account-safety.js'));

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

    app.get('/v1/account/safety', async (request) => {
      const { accountSafety } = await safety();
      return accountSafety(ctx, callerOf(request));
    });
  };
}
