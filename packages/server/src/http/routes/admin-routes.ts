import { AppError } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { BackupControl } from '../../admin/overview.js';
import type { Context } from '../../context.js';
import { callerOf } from '../app.js';
import { lazyModule } from '../lazy-module.js';
import { parseInput } from '../validate.js';

const userParams = z.object({ id: z.string().min(1).max(128) });
const incidentQuery = z
  .object({
    after: z.coerce.number().int().nonnegative().default(0),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();
const reportQuery = z
  .object({
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

const access = lazyModule(() => import('../../admin/admin-access.js'));
const overview = lazyModule(() => import('../../admin/overview.js'));
const userAdmin = lazyModule(() => import('../../admin/user-admin.js'));
const incidents = lazyModule(() => import('../../admin/incidents.js'));
const reports = lazyModule(() => import('../../admin/reports.js'));

/**
 * /v1/admin/*: the operators' dashboard and actions, for admin accounts
 * only (403 `forbidden` for anyone else, before any work). Every action is
 * an `admin_action` ledger entry naming the admin.
 */
export function adminRoutes(ctx: Context, backup: () => BackupControl | null): FastifyPluginAsync {
  return async (app) => {
    // Routes registered in this plugin only: the hook is encapsulated with them.
    app.addHook('preHandler', async (request) => {
      await (await access()).requireAdmin(ctx, callerOf(request));
    });

    app.get('/v1/admin/overview', async () => {
      const { readOverview } = await overview();
      return readOverview(ctx, backup());
    });

    app.get('/v1/admin/users', async () => {
      const { listAdminUsers } = await userAdmin();
      return { users: await listAdminUsers(ctx) };
    });

    for (const [verb, disabled] of [
      ['disable', true],
      ['enable', false],
    ] as const) {
      app.post(`/v1/admin/users/:id/${verb}`, { config: { changesAccounts: true } }, async (request, reply) => {
        const { id } = parseInput(userParams, request.params, 'path');
        const { setDisabledByAdmin } = await userAdmin();
        await setDisabledByAdmin(ctx, callerOf(request), id, disabled);
        return reply.code(204).send();
      });
    }

    app.get('/v1/admin/incidents', async (request) => {
      const query = parseInput(incidentQuery, request.query, 'query');
      const { listIncidents } = await incidents();
      return { entries: await listIncidents(ctx, query) };
    });

    app.get('/v1/admin/reports', async (request) => {
      const query = parseInput(reportQuery, request.query, 'query');
      const { listReports } = await reports();
      return { reports: await listReports(ctx, query) };
    });

    app.post('/v1/admin/backup', async (request, reply) => {
      const service = runningBackups(backup());
      await (await access()).recordAdminAction(ctx, callerOf(request), 'start_backup', 'started a backup run.');
      void service
        .runOnce()
        .catch((error) => ctx.log.error({ err: String(error) }, 'backup run started by an admin failed'));
      return reply.code(202).send({ started: true });
    });

    app.post('/v1/admin/drill', async (request, reply) => {
      const service = runningBackups(backup());
      await (await access()).recordAdminAction(ctx, callerOf(request), 'start_drill', 'started a restore drill.');
      void service
        .drillNow()
        .catch((error) => ctx.log.error({ err: String(error) }, 'restore drill started by an admin failed'));
      return reply.code(202).send({ started: true });
    });
  };
}

function runningBackups(backup: BackupControl | null): BackupControl {
  if (!backup) {
    throw new AppError('precondition_failed', 'This server runs no backups: configure backupTargets first.');
  }
  return backup;
}
