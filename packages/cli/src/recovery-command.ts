import { userInfo } from 'node:os';
import { AppError } from '@holdfast/protocol';
import { acceptLoss, listHolds, listUsers, requireUser } from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

const USAGE = 'Usage: holdfast recovery list | accept --user NAME|--all';

/**
 * `holdfast recovery list | accept --user NAME|--all`: the accounts whose
 * CardDAV/CalDAV clients are held off after the server lost data, and the
 * operator's acceptance of that loss, which ends the hold.
 */
export async function recoveryCommand({ config, args, options, io }: Invocation): Promise<number> {
  const [verb] = args;
  if (verb === 'list') {
    return withDatabase(config, 'read', async (ctx) => {
      const holds = await listHolds(ctx.db);
      const names = new Map((await listUsers(ctx.db.kysely)).map((u) => [u.id, u.username]));
      if (options.json) io.out(JSON.stringify(holds, null, 2));
      else if (holds.length === 0) io.out('No account is held.');
      else
        for (const h of holds) {
          const pending = (JSON.parse(h.pending_devices) as string[]).length;
          io.out(
            `${names.get(h.user_id) ?? h.user_id}\t${h.reason}\tsince ${new Date(h.since).toISOString()}\t${pending} device(s) yet to re-seed`,
          );
        }
      return 0;
    });
  }
  if (verb === 'accept') {
    const all = options.all === true;
    const user = typeof options.user === 'string' ? options.user : undefined;
    if (all === (user !== undefined)) throw new AppError('invalid_request', USAGE);
    return withDatabase(config, 'write', async (ctx) => {
      const userId = user === undefined ? undefined : (await requireUser(ctx, user)).id;
      const ended = await acceptLoss(ctx.db, { ...(userId ? { userId } : {}), operator: operatorName() }, Date.now());
      io.out(
        ended.length === 0
          ? 'No hold to end.'
          : `Loss accepted for ${ended.length} account(s): their CardDAV/CalDAV clients are served again.`,
      );
      return 0;
    });
  }
  throw new AppError('invalid_request', USAGE);
}

function operatorName(): string {
  try {
    return `operator ${userInfo().username}`;
  } catch {
    return 'an operator';
  }
}
