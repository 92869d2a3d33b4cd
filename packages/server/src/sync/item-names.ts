import { itemDisplayName } from '../content/item-view.js';
import { collectionTypesOf } from '../store/collections.js';
import type { Queryable } from '../store/queryable.js';
import { readRevisionsBySeq } from '../store/revision-log.js';

/** The display name of each revision among `seqs` (content/item-view.ts), by seq; revisions of other users are left out. */
export async function revisionNames(db: Queryable, userId: string, seqs: number[]): Promise<Map<number, string>> {
  const rows = await readRevisionsBySeq(db, userId, [...new Set(seqs)]);
  const types = await collectionTypesOf(
    db,
    userId,
    [...rows.values()].map((r) => r.collection_id),
  );
  const out = new Map<number, string>();
  for (const row of rows.values()) out.set(row.seq, itemDisplayName(types.get(row.collection_id) ?? '', row.content));
  return out;
}
