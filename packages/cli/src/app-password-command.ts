import { AppError } from '@holdfast/protocol';
import { createAppPassword, listAppPasswords, requireUser, revokeAppPassword } from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

export async function appPasswordCommand({ config, args, options, io }: Invocation): Promise<number> {
  const [verb, username, id] = args;
  if (!username) throw new AppError('invalid_request', 'Usage: holdfast app-password add|list USER | revoke USER ID');
  if (verb !== 'add' && verb !== 'list' && verb !== 'revoke')
    throw new AppError('invalid_request', 'Usage: holdfast app-password add|list USER | revoke USER ID');
  return withDatabase(config, verb === 'list' ? 'read' : 'write', async (ctx) => {
    const user = await requireUser(ctx, username);
    switch (verb) {
      case 'add': {
        const label = typeof options.label === 'string' ? options.label : 'app';
        const created = await createAppPassword(ctx, username, label);
        io.out(`App password for ${username} (${label}), shown once: ${created.password}`);
        io.out(`id ${created.id}`);
        return 0;
      }
      case 'list':
        for (const p of await listAppPasswords(ctx.db.kysely, user.id)) {
          io.out(`${p.id}\t${p.label}\t${p.revoked_at ? 'revoked' : 'active'}`);
        }
        return 0;
      case 'revoke':
        if (!id || !(await revokeAppPassword(ctx.db.kysely, user.id, id, ctx.now()))) {
          throw new AppError('not_found', `No active app password ${id ?? ''} for ${username}.`);
        }
        io.out(`Revoked app password ${id}`);
        return 0;
      default:
        throw new AppError('invalid_request', 'Usage: holdfast app-password add|list USER | revoke USER ID');
    }
  });
}
