import { AppError } from '@holdfast/protocol';
import { listDevices, requireUser, revokeDevice } from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import { DEVICE_VERBS, deviceSimCommand } from './device-sim-command.js';
import type { Invocation } from './main.js';

const USAGE =
  'Usage: holdfast device list [--user NAME] | revoke ID (admin) | login|sync|watch|status|add-contact|delete|export (a device)';

const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : '-');

export async function deviceCommand(invocation: Invocation): Promise<number> {
  const { config, args, options, io } = invocation;
  const [verb, id] = args;
  if (verb && DEVICE_VERBS.has(verb)) return deviceSimCommand(invocation);
  if (verb !== 'list' && !(verb === 'revoke' && id)) throw new AppError('invalid_request', USAGE);
  return withDatabase(config, verb === 'list' ? 'read' : 'write', async (ctx) => {
    if (verb === 'list') {
      const userId = typeof options.user === 'string' ? (await requireUser(ctx, options.user)).id : undefined;
      const devices = await listDevices(ctx.db.kysely, userId);
      if (options.json) io.out(JSON.stringify(devices.map(({ token_hash, ...d }) => d)));
      else {
        for (const d of devices) {
          io.out(
            `${d.id}\t${d.user_id}\t${d.name}\tlast seen ${iso(d.last_seen_at)}\t${d.revoked_at ? 'revoked' : 'active'}`,
          );
        }
      }
      return 0;
    }
    if (!id || !(await revokeDevice(ctx.db.kysely, id, ctx.now())))
      throw new AppError('not_found', `No active device ${id}.`);
    io.out(`Revoked device ${id}`);
    return 0;
  });
}
