import type { Insertable, Kysely, Transaction } from 'kysely';
import { engineOf, insertMany, withEveryColumn } from './bulk-restore.js';
import { compiledForList, compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import type { RevisionRow } from './revision-log.js';
import type { Database, ItemsTable } from './schema.js';

const CHUNK = 400;

export interface ItemHeadRow {
  id: string;
  collection_id: string;
  head_seq: number;
  deleted: number;
  content_hash: string | null;
}

/** An item's head revision, with whether the item is deleted. */
export async function readItemAtHead(
  on: Queryable,
  userId: string,
  itemId: string,
): Promise<(RevisionRow & { item_deleted: number }) | undefined> {
  return executor(on)
    .selectFrom('items')
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .selectAll('revisions')
    .select('items.deleted as item_deleted')
    .where('items.user_id', '=', userId)
    .where('items.id', '=', itemId)
    .executeTakeFirst();
}

/** Head revisions of a collection's live items in id order, after the id `after`. */
export async function listLiveItemsAtHead(
  on: Queryable,
  userId: string,
  collectionId: string,
  options: { after?: string; limit: number },
): Promise<RevisionRow[]> {
  let query = executor(on)
    .selectFrom('items')
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .selectAll('revisions')
    .where('items.user_id', '=', userId)
    .where('items.collection_id', '=', collectionId)
    .where('items.deleted', '=', 0)
    .orderBy('items.id')
    .limit(options.limit);
  if (options.after) query = query.where('items.id', '>', options.after);
  return query.execute();
}

const oneItemHead = compiledOnce<ItemHeadRow, [string, string]>((db, [userId, id]) =>
  db
    .selectFrom('items')
    .select(['id', 'collection_id', 'head_seq', 'deleted', 'content_hash'])
    .where('user_id', '=', userId)
    .where('id', '=', id),
);

/** The heads of the items among `itemIds` that exist (live or deleted), by id. */
export async function readItemHeads(
  on: Queryable,
  userId: string,
  itemIds: string[],
): Promise<Map<string, ItemHeadRow>> {
  const unique = [...new Set(itemIds)];
  const out = new Map<string, ItemHeadRow>();
  if (unique.length === 1) {
    for (const row of await oneItemHead(on, userId, unique[0] as string)) out.set(row.id, row);
    return out;
  }
  for (let i = 0; i < unique.length; i += CHUNK) {
    for (const row of await itemHeadsIn(on, unique.slice(i, i + CHUNK), userId)) out.set(row.id, row);
  }
  return out;
}

const itemHeadsIn = compiledForList<ItemHeadRow, [string]>((db, ids, [userId]) =>
  db
    .selectFrom('items')
    .select(['id', 'collection_id', 'head_seq', 'deleted', 'content_hash'])
    .where('user_id', '=', userId)
    .where('id', 'in', ids),
);

/** The heads of every item (live or deleted) in these collections. */
export async function itemHeadsOfCollections(
  on: Queryable,
  userId: string,
  collectionIds: string[],
): Promise<ItemHeadRow[]> {
  return executor(on)
    .selectFrom('items')
    .select(['id', 'collection_id', 'head_seq', 'deleted', 'content_hash'])
    .where('user_id', '=', userId)
    .where('collection_id', 'in', collectionIds)
    .execute();
}

/** A collection's live items in id order. */
export async function liveItemsOfCollection(
  on: Queryable,
  userId: string,
  collectionId: string,
): Promise<{ id: string; head_seq: number; content_hash: string | null }[]> {
  return executor(on)
    .selectFrom('items')
    .select(['id', 'head_seq', 'content_hash'])
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId)
    .where('deleted', '=', 0)
    .orderBy('id')
    .execute();
}

/** Whether any item, live or deleted, in any collection, has this id. */
export async function itemIdExists(on: Queryable, userId: string, itemId: string): Promise<boolean> {
  const row = await executor(on)
    .selectFrom('items')
    .select('id')
    .where('user_id', '=', userId)
    .where('id', '=', itemId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Inserts item heads or moves existing ones (keeping their creation time), in pages. */
const ITEM_COLUMNS = [
  'user_id',
  'id',
  'collection_id',
  'head_seq',
  'deleted',
  'content_hash',
  'size',
  'created_at',
  'updated_at',
] as const;

function itemUpsert(db: Kysely<Database>, rows: Insertable<ItemsTable>[]) {
  return db
    .insertInto('items')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['user_id', 'id']).doUpdateSet((eb) => ({
        head_seq: eb.ref('excluded.head_seq'),
        deleted: eb.ref('excluded.deleted'),
        content_hash: eb.ref('excluded.content_hash'),
        size: eb.ref('excluded.size'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    );
}

// A write of one item (every DAV PUT) upserts one head: compiled once.
const oneItemUpsert = compiledOnce<never, unknown[]>((db, slots) =>
  itemUpsert(db, [Object.fromEntries(ITEM_COLUMNS.map((c, i) => [c, slots[i]])) as Insertable<ItemsTable>]),
);

export async function upsertItemHeads(trx: Transaction<Database>, rows: Insertable<ItemsTable>[]): Promise<void> {
  if (rows.length === 1) {
    const row = rows[0] as Insertable<ItemsTable>;
    await oneItemUpsert(trx, ...ITEM_COLUMNS.map((c) => row[c] ?? null));
    return;
  }
  // Every column, in one order: each batch size is one statement text, built and prepared once.
  const full = withEveryColumn(rows, ITEM_COLUMNS);
  // An existing head keeps its collection and creation time.
  await insertMany(trx, engineOf(trx), 'items', full, {
    columns: ['user_id', 'id'],
    update: ['head_seq', 'deleted', 'content_hash', 'size', 'updated_at'],
  });
}
