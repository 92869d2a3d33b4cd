import { AppError } from '@holdfast/protocol';
import { findDuplicates, requireUser } from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

const USAGE = 'Usage: holdfast contacts duplicates --user NAME [--json]';

/** `holdfast contacts duplicates`: contacts that look like one person. Suggests; never merges. */
export async function contactsCommand({ config, args, options, io }: Invocation): Promise<number> {
  const username = typeof options.user === 'string' ? options.user : undefined;
  if (args[0] !== 'duplicates' || args.length > 1 || !username) throw new AppError('invalid_request', USAGE);
  return withDatabase(config, 'read', async (ctx) => {
    const user = await requireUser(ctx, username);
    const groups = await findDuplicates(ctx.db.kysely, user.id);
    if (options.json) {
      io.out(JSON.stringify({ groups }));
      return 0;
    }
    if (groups.length === 0) io.out('No likely duplicates.');
    groups.forEach((group, index) => {
      io.out(
        `${index + 1}. ${group.confidence === 'high' ? 'Likely' : 'Possibly'} the same person (${group.reasons.join('; ')}):`,
      );
      for (const c of group.contacts) {
        const details = [...c.tels, ...c.emails].join(', ');
        const nick = c.nicknames.length > 0 ? ` "${c.nicknames.join('", "')}"` : '';
        io.out(`   ${c.itemId}  ${c.fn || '(no name)'}${nick}${details ? `  ${details}` : ''}`);
      }
    });
    if (groups.length > 0) io.out('Nothing was merged. Merge in your contacts app, or keep them apart.');
    return 0;
  });
}
