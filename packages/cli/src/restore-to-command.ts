import { AppError } from '@holdfast/protocol';
import { applyRestore, previewRestore, requireUser } from '@holdfast/server';
import { withCommandContext } from './admin-db.js';
import type { Invocation } from './main.js';

/**
 * `holdfast restore-to --user NAME (--at TIME | --revision N) [--collection ID] [--keep-newer] [--yes]`:
 * puts one user's data back as of a moment, as new revisions. Shows the
 * preview unless --yes is given.
 */
export async function restoreToCommand({ config, options, io }: Invocation): Promise<number> {
  const username = options.user;
  if (typeof username !== 'string') throw new AppError('invalid_request', 'Name the user: --user NAME');
  const at = typeof options.at === 'string' ? Date.parse(options.at) : undefined;
  const seq = typeof options.revision === 'string' ? Number(options.revision) : undefined;
  if (
    (at === undefined) === (seq === undefined) ||
    (at !== undefined && Number.isNaN(at)) ||
    (seq !== undefined && !Number.isInteger(seq))
  ) {
    throw new AppError('invalid_request', 'Give one of --at TIME (ISO 8601) or --revision N.');
  }
  // The preview only reads; applying writes new revisions.
  return withCommandContext(config, options.yes ? 'write' : 'read', async (ctx) => {
    const user = await requireUser(ctx, username);
    const caller = { userId: user.id, username: user.username, deviceId: 'admin-cli' };
    const point = {
      ...(at !== undefined ? { at } : {}),
      ...(seq !== undefined ? { seq } : {}),
      ...(typeof options.collection === 'string' ? { collectionIds: [options.collection] } : {}),
      keepNewer: options['keep-newer'] === true,
    };
    const plan = options.yes ? await applyRestore(ctx, caller, point) : await previewRestore(ctx, caller, point);
    if (options.json) io.out(JSON.stringify(plan, null, 2));
    else {
      io.out(
        `${options.yes ? 'Restored' : 'Would restore'} ${plan.counts.restore} items, remove ${plan.counts.remove}, leave ${plan.counts.unchanged} unchanged.`,
      );
      for (const step of plan.steps.slice(0, 50)) io.out(`  ${step.action}\t${step.collectionId}/${step.itemId}`);
      if (plan.steps.length > 50) io.out(`  … and ${plan.steps.length - 50} more`);
      if (!options.yes) io.out('Nothing changed. Run again with --yes to apply; the restore can itself be undone.');
      else {
        const first = (plan as { firstRevision?: number | null }).firstRevision;
        if (typeof first === 'number') {
          io.out(`Undo with: holdfast restore-to --user ${user.username} --revision ${first - 1} --yes`);
        }
      }
    }
    return 0;
  });
}
