import { sql } from 'kysely';
import { compiledForList, compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';

/** What one user's account holds: live items, and bytes of item content plus blobs. */
export interface Usage {
  items: number;
  bytes: number;
}

/**
 * A user's storage use. Item bytes are each live item's head size, leaving
 * out items whose bytes are a blob (photos: their size includes the blob,
 * which is counted once, with the user's blobs).
 */
export async function readUsage(on: Queryable, userId: string): Promise<Usage> {
  const db = executor(on);
  const items = await db
    .selectFrom('items')
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .select([
      sql<number>`count(*)`.as('n'),
      sql<number>`coalesce(sum(case when revisions.blob_sha256 is null then items.size else 0 end), 0)`.as('bytes'),
    ])
    .where('items.user_id', '=', userId)
    .where('items.deleted', '=', 0)
    .executeTakeFirst();
  const blobs = await db
    .selectFrom('user_blobs')
    .innerJoin('blobs', 'blobs.sha256', 'user_blobs.sha256')
    .select(sql<number>`coalesce(sum(blobs.size), 0)`.as('bytes'))
    .where('user_blobs.user_id', '=', userId)
    .executeTakeFirst();
  return { items: Number(items?.n ?? 0), bytes: Number(items?.bytes ?? 0) + Number(blobs?.bytes ?? 0) };
}

/** Which of `itemIds` the user has no live item for (what a write of them would add). */
const liveItem = compiledOnce<{ id: string }, [string, string]>((db, [userId, id]) =>
  db.selectFrom('items').select('id').where('user_id', '=', userId).where('deleted', '=', 0).where('id', '=', id),
);

const liveItemsIn = compiledForList<{ id: string }, [string]>((db, ids, [userId]) =>
  db.selectFrom('items').select('id').where('user_id', '=', userId).where('deleted', '=', 0).where('id', 'in', ids),
);

export async function newItemIds(on: Queryable, userId: string, itemIds: string[]): Promise<Set<string>> {
  const unique = [...new Set(itemIds)];
  if (unique.length === 1) {
    const [id] = unique as [string];
    return new Set((await liveItem(on, userId, id)).length > 0 ? [] : [id]);
  }
  const live = new Set<string>();
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await liveItemsIn(on, unique.slice(i, i + 500), userId);
    for (const row of rows) live.add(row.id);
  }
  return new Set(unique.filter((id) => !live.has(id)));
}
