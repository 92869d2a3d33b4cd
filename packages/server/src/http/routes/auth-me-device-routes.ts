import { AppError, loginRequestSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { changeOwnPassword, login } from '../../auth/accounts.js';
import type { Caller, Context } from '../../context.js';
import { readEmail, setEmail } from '../../notify/addresses.js';
import { listDevices, renameDevice, revokeDevice } from '../../store/devices.js';
import { readGeneration } from '../../store/meta.js';
import { readHead } from '../../store/revision-log.js';
import { isAdmin } from '../../store/user-directory.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const deviceParams = z.object({ id: z.string().min(1).max(128) });
// The address itself is checked by setEmail, which the command line shares.
const meChanges = z.object({ email: z.string().max(254).nullable() }).strict();
// The length rule is checked by changeOwnPassword, which says it in words.
const passwordChange = z
  .object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().max(1024) })
  .strict();

async function meView(ctx: Context, caller: Caller) {
  return {
    userId: caller.userId,
    username: caller.username,
    deviceId: caller.deviceId,
    admin: await isAdmin(ctx.db, caller.userId),
    email: await readEmail(ctx, caller.userId),
    generation: await readGeneration(ctx.db),
    head: await readHead(ctx.db),
  };
}

const renameBody = z.object({ name: z.string().trim().min(1).max(200) }).strict();

/**
 * /v1/auth/login and /logout, /v1/me and /v1/me/password, and the caller's
 * devices (/v1/devices: list, rename, revoke).
 */
export function authMeDeviceRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/v1/auth/login',
      { bodyLimit: ctx.config.maxLoginBodyBytes, config: { changesAccounts: true } },
      async (request) => {
        const body = parseInput(loginRequestSchema, request.body, 'login');
        return login(ctx, { ...body, clientAddress: request.ip });
      },
    );

    app.post('/v1/auth/logout', { config: { changesAccounts: true } }, async (request, reply) => {
      const caller = callerOf(request);
      await revokeDevice(ctx.db, caller.deviceId, ctx.now(), caller.userId);
      return reply.code(204).send();
    });

    app.get('/v1/me', async (request) => meView(ctx, callerOf(request)));

    app.patch(
      '/v1/me',
      { bodyLimit: ctx.config.maxControlBodyBytes, config: { changesAccounts: true } },
      async (request) => {
        const caller = callerOf(request);
        const changes = parseInput(meChanges, request.body, 'body');
        await setEmail(ctx, caller.userId, changes.email);
        return meView(ctx, caller);
      },
    );

    app.post(
      '/v1/me/password',
      { bodyLimit: ctx.config.maxLoginBodyBytes, config: { changesAccounts: true } },
      async (request) => {
        const body = parseInput(passwordChange, request.body, 'body');
        const signedOut = await changeOwnPassword(ctx, callerOf(request), { ...body, clientAddress: request.ip });
        return { signedOut };
      },
    );

    app.get('/v1/devices', async (request) => {
      const caller = callerOf(request);
      const devices = await listDevices(ctx.db, caller.userId);
      return {
        devices: devices.map((d) => ({
          id: d.id,
          name: d.name,
          current: d.id === caller.deviceId,
          createdAt: new Date(d.created_at).toISOString(),
          lastSeenAt: d.last_seen_at ? new Date(d.last_seen_at).toISOString() : null,
          revokedAt: d.revoked_at ? new Date(d.revoked_at).toISOString() : null,
        })),
      };
    });

    app.patch('/v1/devices/:id', { config: { changesAccounts: true } }, async (request, reply) => {
      const caller = callerOf(request);
      const { id } = parseInput(deviceParams, request.params, 'path');
      const { name } = parseInput(renameBody, request.body, 'device');
      if (!(await renameDevice(ctx.db, id, name, caller.userId))) throw new AppError('not_found', `No device ${id}.`);
      return reply.code(204).send();
    });

    app.delete('/v1/devices/:id', { config: { changesAccounts: true } }, async (request, reply) => {
      const caller = callerOf(request);
      const { id } = parseInput(deviceParams, request.params, 'path');
      const revoked = await revokeDevice(ctx.db, id, ctx.now(), caller.userId);
      if (!revoked) throw new AppError('not_found', `No device ${id}.`);
      return reply.code(204).send();
    });
  };
}
