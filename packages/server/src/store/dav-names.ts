import type { Insertable, Kysely } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import type { Database, DavNamesTable } from './schema.js';

const CHUNK = 400;

/** An item head with its DAV name (null when it has none: `<id>.<ext>`), and its text when asked for. */
export interface DavItemRow {
  id: string;
  head_seq: number;
  deleted: number;
  content_hash: string | null;
  size: number;
  updated_at: number;
  name: string | null;
  content?: string | null;
}

function itemColumns(on: Queryable | Kysely<Database>, withContent: boolean) {
  return executor(on)
    .selectFrom('items')
    .leftJoin('dav_names', (join) =>
      join.onRef('dav_names.user_id', '=', 'items.user_id').onRef('dav_names.item_id', '=', 'items.id'),
    )
    .select([
      'items.id',
      'items.head_seq',
      'items.deleted',
      'items.content_hash',
      'items.size',
      'items.updated_at',
      'dav_names.name',
    ])
    .$if(withContent, (qb) =>
      qb.innerJoin('revisions', 'revisions.seq', 'items.head_seq').select('revisions.content as content'),
    );
}

/** Live items of a collection with heads after `afterSeq`, in head order. */
export async function listDavItemsPage(
  on: Queryable,
  userId: string,
  collectionId: string,
  options: { afterSeq: number; limit: number; withContent: boolean },
): Promise<DavItemRow[]> {
  return itemColumns(on, options.withContent)
    .where('items.user_id', '=', userId)
    .where('items.collection_id', '=', collectionId)
    .where('items.deleted', '=', 0)
    .where('items.head_seq', '>', options.afterSeq)
    .orderBy('items.head_seq')
    .limit(options.limit)
    .execute();
}

type DavItemRowIn = DavItemRow & { collection_id: string };

// One id is what every DAV PUT, GET and DELETE reads: compiled once, with and without the text.
const oneItemById = (withContent: boolean) =>
  compiledOnce<DavItemRowIn, [string, string]>((db, [userId, id]) =>
    itemColumns(db, withContent)
      .select('items.collection_id')
      .where('items.user_id', '=', userId)
      .where('items.id', '=', id),
  );
const oneItem = oneItemById(false);
const oneItemWithContent = oneItemById(true);

/** Items (live or deleted, in any collection) by id, with their collection. */
export async function findDavItemsById(
  on: Queryable,
  userId: string,
  ids: string[],
  withContent: boolean,
): Promise<DavItemRowIn[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 1) return (withContent ? oneItemWithContent : oneItem)(on, userId, unique[0] as string);
  const out: DavItemRowIn[] = [];
  for (let i = 0; i < unique.length; i += CHUNK) {
    // By primary key only: with the collection in the WHERE clause SQLite
    // prefers the collection index and walks the whole collection for a hundred ids.
    const rows = await itemColumns(on, withContent)
      .select('items.collection_id')
      .where('items.user_id', '=', userId)
      .where('items.id', 'in', unique.slice(i, i + CHUNK))
      .execute();
    out.push(...rows);
  }
  return out;
}

/** The item ids mapped to these names in a collection, by name. */
export async function findNamedItemIds(
  on: Queryable,
  userId: string,
  collectionId: string,
  names: string[],
): Promise<Map<string, string>> {
  const unique = [...new Set(names)];
  const out = new Map<string, string>();
  if (unique.length === 1) {
    const [name] = unique as [string];
    for (const row of await namedItemId(on, userId, collectionId, name)) out.set(name, row.item_id);
    return out;
  }
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await executor(on)
      .selectFrom('dav_names')
      .select(['name', 'item_id'])
      .where('user_id', '=', userId)
      .where('collection_id', '=', collectionId)
      .where('name', 'in', unique.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) out.set(row.name, row.item_id);
  }
  return out;
}

const namedItemId = compiledOnce<{ item_id: string }, [string, string, string]>((db, [userId, collectionId, name]) =>
  db
    .selectFrom('dav_names')
    .select('item_id')
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId)
    .where('name', '=', name),
);

export async function readNamedItemId(
  on: Queryable,
  userId: string,
  collectionId: string,
  name: string,
): Promise<string | undefined> {
  const [row] = await namedItemId(on, userId, collectionId, name);
  return row?.item_id;
}

/** Maps a name to an item unless the name is already mapped (a concurrent request won). */
export async function insertDavName(on: Queryable, row: Insertable<DavNamesTable>): Promise<void> {
  await executor(on)
    .insertInto('dav_names')
    .values(row)
    .onConflict((oc) => oc.columns(['user_id', 'collection_id', 'name']).doNothing())
    .execute();
}

/**
 * Whether the collection was deleted in (after, upto]: a sync token from
 * before a delete belongs to an earlier incarnation of a revived collection.
 * Reads only the collection's revisions since the token, like the sync itself.
 */
export async function collectionDeletedSince(
  on: Queryable,
  userId: string,
  collectionId: string,
  after: number,
  upto: number,
): Promise<boolean> {
  const row = await executor(on)
    .selectFrom('revisions')
    .select('seq')
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId)
    .where('seq', '>', after)
    .where('seq', '<=', upto)
    .where('entity', '=', 'collection')
    .where('op', '=', 'delete')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
