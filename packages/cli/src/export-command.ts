import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { AppError } from '@holdfast/protocol';
import { exportAccount, requireUser } from '@holdfast/server';
import { withCommandContext } from './admin-db.js';
import type { Invocation } from './main.js';

const USAGE = 'Usage: holdfast export --user NAME --out FILE.zip [--vcard 3]';

/** `holdfast export`: the whole account as one verifiable ZIP (docs/export-format.md). */
export async function exportCommand({ config, options, io }: Invocation): Promise<number> {
  const username = typeof options.user === 'string' ? options.user : undefined;
  const out = typeof options.out === 'string' ? options.out : undefined;
  if (!username || !out) throw new AppError('invalid_request', USAGE);
  const vcard =
    options.vcard === undefined ? 'original' : options.vcard === '3' || options.vcard === '3.0' ? '3.0' : null;
  if (vcard === null)
    throw new AppError('invalid_request', `--vcard takes 3 (or leave it out for the cards as stored). ${USAGE}`);
  return withCommandContext(config, 'read', async (ctx) => {
    const user = await requireUser(ctx, username);
    // Written under a temporary name: a half-written export never sits under the name asked for.
    const partial = `${out}.partial`;
    try {
      const started = performance.now();
      // A deep write buffer: the export goes on producing while the disk takes the previous megabyte.
      const file = createWriteStream(partial, { highWaterMark: 1 << 20 });
      const manifest = await exportAccount(ctx, { id: user.id, username: user.username }, file, { vcard });
      const seconds = (performance.now() - started) / 1000;
      await rename(partial, out);
      const items = manifest.collections.reduce((sum, c) => sum + c.itemCount, 0);
      if (options.json) {
        io.out(
          JSON.stringify({
            file: out,
            revision: manifest.revision,
            items,
            totals: manifest.totals,
            problems: manifest.problems,
            seconds,
          }),
        );
      } else {
        io.out(
          `Wrote ${out} (${(await stat(out)).size} bytes): ${manifest.collections.length} collections, ${items} items, as of revision ${manifest.revision}.`,
        );
        for (const c of manifest.collections) {
          const fields = Object.entries(c.fields)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ');
          io.out(`  ${c.path}: ${fields}`);
        }
        for (const p of manifest.problems)
          io.err(`  NOT EXPORTED: collection ${p.collectionId}${p.itemId ? ` item ${p.itemId}` : ''}: ${p.problem}`);
      }
      return manifest.problems.length > 0 ? 1 : 0;
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  });
}
