/**
 * Whether the writes a server acknowledged are really kept: looked up by a
 * direct read of a database (the live one, or one restored from a backup).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { openDatabase } from '@holdfast/server';
import type { Acknowledged } from './load-traffic.js';

const CHUNK = 500;

function chunks<T>(values: T[]): T[][] {
  const out = [];
  for (let i = 0; i < values.length; i += CHUNK) out.push(values.slice(i, i + CHUNK));
  return out;
}

/**
 * Counts acknowledged writes that `location` lacks: a push result whose
 * revision is not in the log (or names another item), a DAV PUT whose name
 * resolves to no item, an uploaded blob with no row (and, given `blobDir`, a
 * local blob store, no file).
 */
export async function countMissing(location: string, acked: Acknowledged, blobDir: string | null): Promise<number> {
  const db = openDatabase(location, { create: false });
  const k = db.kysely;
  let missing = 0;
  try {
    for (const part of chunks(acked.pushes)) {
      const rows = await k
        .selectFrom('revisions')
        .select(['seq', 'item_id'])
        .where(
          'seq',
          'in',
          part.map((p) => p.seq),
        )
        .execute();
      const found = new Map(rows.map((r) => [Number(r.seq), r.item_id]));
      missing += part.filter((p) => found.get(p.seq) !== p.itemId).length;
    }
    // A DAV name is `<item id>.vcf`, or a name kept in dav_names for the item it stands for.
    const collections = [...new Set(acked.davPuts.map((p) => p.collectionId))];
    const names = new Set<string>();
    for (const part of chunks(collections)) {
      const items = await k
        .selectFrom('items')
        .select(['collection_id', 'id'])
        .where('collection_id', 'in', part)
        .where('deleted', '=', 0)
        .execute();
      for (const item of items) names.add(`${item.collection_id}/${item.id}.vcf`);
      const davNames = await k
        .selectFrom('dav_names')
        .select(['collection_id', 'name'])
        .where('collection_id', 'in', part)
        .execute();
      for (const row of davNames) names.add(`${row.collection_id}/${row.name}`);
    }
    missing += acked.davPuts.filter((p) => !names.has(`${p.collectionId}/${p.name}`)).length;
    for (const part of chunks(acked.blobs)) {
      const rows = await k.selectFrom('blobs').select('sha256').where('sha256', 'in', part).execute();
      const found = new Set(rows.map((r) => r.sha256));
      for (const sha of part) {
        if (!found.has(sha)) missing++;
        else if (blobDir) {
          const path = join(blobDir, sha.slice(0, 2), sha.slice(2, 4), sha);
          await access(path).catch(() => missing++);
        }
      }
    }
  } finally {
    await db.close();
  }
  return missing;
}
