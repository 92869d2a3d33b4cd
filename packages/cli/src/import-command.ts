import { AppError } from '@holdfast/protocol';
import {
  formatImportReport,
  type ImportReport,
  importFile,
  listImports,
  requireUser,
  undoImport,
} from '@holdfast/server';
import { withCommandContext } from './admin-db.js';
import type { Io } from './io.js';
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
    if (options.json) await writeJsonReport(io, report, (performance.now() - started) / 1000);
    else for (const line of formatImportReport(report)) io.out(line);
    return report.counts.rejected > 0 ? 1 : 0;
  });
}

/** Items per line of the JSON report. */
const ITEMS_PER_LINE = 1000;

/**
 * The report as one JSON document, its items written a thousand to a line:
 * a backup of 100,000 messages made a single string of some 20 MB (and its
 * bytes again on the way out), the largest allocation of the whole import,
 * and a pipe read slowly held all of it at once.
 */
async function writeJsonReport(io: Io, report: ImportReport, seconds: number): Promise<void> {
  const { items, ...rest } = report;
  io.out(`${JSON.stringify({ ...rest, seconds }).slice(0, -1)},"items":[`);
  for (let i = 0; i < items.length; i += ITEMS_PER_LINE) {
    const line = JSON.stringify(items.slice(i, i + ITEMS_PER_LINE)).slice(1, -1);
    io.out(i + ITEMS_PER_LINE < items.length ? `${line},` : line);
    // Written lines wait for a slow reader in memory: the next is made once they have gone on.
    await io.outDrained?.();
  }
  io.out(']}');
}
