import { sql } from 'kysely';
import { executor, type Queryable } from './queryable.js';

const CHUNK = 400;

/**
 * Deleted items of a user's live collections, newest deletion first (by the
 * tombstone's seq, below `beforeSeq`), deleted at or after `since`.
 */
export async function listDeletedItems(
  on: Queryable,
  userId: string,
  options: { collectionId?: string | undefined; beforeSeq?: number | undefined; since: number; limit: number },
): Promise<{ id: string; collection_id: string; type: string; head_seq: number; deleted_at: number }[]> {
  let query = executor(on)
    .selectFrom('items')
    .innerJoin('collections', (join) =>
      join.onRef('collections.user_id', '=', 'items.user_id').onRef('collections.id', '=', 'items.collection_id'),
    )
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .select([
      'items.id as id',
      'items.collection_id as collection_id',
      'collections.type as type',
      'items.head_seq as head_seq',
      'revisions.created_at as deleted_at',
    ])
    .where('items.user_id', '=', userId)
    .where('items.deleted', '=', 1)
    .where('collections.deleted', '=', 0)
    .where('revisions.created_at', '>=', options.since)
    .orderBy('items.head_seq', 'desc')
    .limit(options.limit);
  if (options.collectionId !== undefined) query = query.where('items.collection_id', '=', options.collectionId);
  if (options.beforeSeq !== undefined) query = query.where('items.head_seq', '<', options.beforeSeq);
  return query.execute();
}

/** Each item's newest put revision (its last live state), by item id. */
export async function lastPutSeqs(on: Queryable, userId: string, itemIds: string[]): Promise<Map<string, number>> {
  const unique = [...new Set(itemIds)];
  const out = new Map<string, number>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await executor(on)
      .selectFrom('revisions')
      .select(['item_id', sql<number>`max(seq)`.as('seq')])
      .where('user_id', '=', userId)
      .where('entity', '=', 'item')
      .where('op', '=', 'put')
      .where('item_id', 'in', unique.slice(i, i + CHUNK))
      .groupBy('item_id')
      .execute();
    for (const row of rows) if (row.item_id !== null) out.set(row.item_id, Number(row.seq));
  }
  return out;
}
