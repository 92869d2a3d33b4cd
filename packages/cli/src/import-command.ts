import { AppError } from '@holdfast/protocol';
import { formatImportReport, importFile, listImports, requireUser, undoImport } from '@holdfast/server';
import { withCommandContext } from './admin-db.js';
import type { Invocation } from './main.js';

const USAGE =
  'Usage: holdfast import --user NAME FILE|FOLDER [--collection ID] | import --user NAME --list | import --user NAME --undo IMPORT-ID';

/**
 * `holdfast import`: a .vcf, .ics, Holdfast export, or a folder or ZIP of Markdown notes into an account, as one
 * undoable batch. Exit 0 when every item was taken (or already there), 1 when
 * some were rejected (the rest is imported and the report says why).
 */
export async function importCommand({ config, args, options, io }: Invocation): Promise<number> {
  const username = typeof options.user === 'string' ? options.user : undefined;
  if (!username) throw new AppError('invalid_request', USAGE);
  return withCommandContext(config, options.list ? 'read' : 'write', async (ctx) => {
    const user = await requireUser(ctx, username);
    const owner = { userId: user.id, deviceId: null };
    if (options.list) {
      const rows = await listImports(ctx.db.kysely, user.id);
      for (const row of rows) {
        const state = row.undone_by ? 'undone' : 'active';
        io.out(
          `${row.id}\t${new Date(row.created_at).toISOString()}\t${row.source}\t${row.created} created, ${row.updated} updated, ${row.skipped} skipped, ${row.rejected} rejected\t${state}`,
        );
      }
      return 0;
    }
    if (typeof options.undo === 'string') {
      const result = await undoImport(ctx, owner, options.undo);
      if (options.json) io.out(JSON.stringify(result));
      else {
        io.out(`Undid import ${result.importId}: ${result.undone} items put back.`);
        for (const kept of result.kept) io.out(`  kept ${kept.itemId}: ${kept.reason}`);
      }
      return 0;
    }
    const [file] = args;
    if (!file || args.length > 1) throw new AppError('invalid_request', USAGE);
    const collectionId = typeof options.collection === 'string' ? options.collection : undefined;
    const started = performance.now();
    const report = await importFile(ctx, owner, file, collectionId ? { collectionId } : {});
    if (options.json) io.out(JSON.stringify({ ...report, seconds: (performance.now() - started) / 1000 }));
    else for (const line of formatImportReport(report)) io.out(line);
    return report.counts.rejected > 0 ? 1 : 0;
  });
}
