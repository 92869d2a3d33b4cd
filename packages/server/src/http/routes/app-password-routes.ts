import { AppError } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { createAppPassword } from '../../auth/accounts.js';
import type { Context } from '../../context.js';
import { callerOf } from '../app.js';
import { lazyModule } from '../lazy-module.js';
import { parseInput } from '../validate.js';

const createBody = z.object({ label: z.string().trim().min(1).max(100) }).strict();
const params = z.object({ id: z.string().min(1).max(64) });

const appPasswords = lazyModule(() => import('../../auth/app-passwords.js'));

/**
 * /v1/app-passwords: the caller's own app passwords for CardDAV/CalDAV
 * clients, the same as `holdfast app-password` (one logic in auth/accounts.ts).
 * The password is in the answer to POST once and stored only hashed.
 */
export function appPasswordRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/app-passwords', async (request) => {
      const rows = await (await appPasswords()).appPasswordsOf(ctx, callerOf(request).userId);
      return {
        appPasswords: rows.map((row) => ({
          id: row.id,
          label: row.label,
          createdAt: new Date(row.created_at).toISOString(),
          lastUsedAt: row.last_used_at ? new Date(row.last_used_at).toISOString() : null,
          revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
        })),
      };
    });

    app.post('/v1/app-passwords', { config: { changesAccounts: true } }, async (request, reply) => {
      const { label } = parseInput(createBody, request.body, 'app password');
      const created = await createAppPassword(ctx, callerOf(request).username, label);
      return reply.code(201).send({ id: created.id, label, password: created.password });
    });

    app.delete('/v1/app-passwords/:id', { config: { changesAccounts: true } }, async (request, reply) => {
      const { id } = parseInput(params, request.params, 'path');
      if (!(await (await appPasswords()).revokeOwnAppPassword(ctx, callerOf(request).userId, id)))
        throw new AppError('not_found', `No active app password ${id}.`);
      return reply.code(204).send();
    });
  };
}
