import { AppError } from '@holdfast/protocol';
import {
  databaseLiveSource,
  formatVerifyReport,
  httpLiveSource,
  type LiveSource,
  requireUser,
  verifyExport,
} from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

const USAGE = 'Usage: holdfast verify-export FILE.zip [--server URL --token TOKEN | --user NAME] [--json]';

/**
 * `holdfast verify-export`: checks a bundle against its manifest and,
 * optionally, against the live account. Exit 0 when everything matches,
 * 1 on any mismatch (each one listed by item).
 */
export async function verifyExportCommand({ config, args, options, io }: Invocation): Promise<number> {
  const [file] = args;
  if (!file || args.length > 1) throw new AppError('invalid_request', USAGE);
  const server = typeof options.server === 'string' ? options.server : undefined;
  const token = typeof options.token === 'string' ? options.token : (io.env.HOLDFAST_TOKEN ?? undefined);
  const username = typeof options.user === 'string' ? options.user : undefined;
  if (server && username) throw new AppError('invalid_request', `Give --server or --user, not both. ${USAGE}`);
  if (server && !token) throw new AppError('invalid_request', `--server needs --token (or HOLDFAST_TOKEN). ${USAGE}`);
  const run = async (live?: LiveSource) => {
    const report = await verifyExport(file, live);
    if (options.json) io.out(JSON.stringify(report));
    else for (const line of formatVerifyReport(file, report)) (report.ok ? io.out : io.err)(line);
    return report.ok ? 0 : 1;
  };
  if (server) return run(httpLiveSource(server, token as string));
  if (username) {
    return withDatabase(config, 'read', async (ctx) => {
      const user = await requireUser(ctx, username);
      return run(databaseLiveSource(ctx.db.kysely, { id: user.id, username: user.username }));
    });
  }
  return run();
}
