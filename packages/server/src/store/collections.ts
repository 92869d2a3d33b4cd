import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import type { CollectionsTable, Database } from './schema.js';

export type CollectionRow = Selectable<CollectionsTable>;

const CHUNK = 400;

/** A user's live collections, where every query of live collections below starts. */
function live(db: Kysely<Database>, userId: string) {
  return db.selectFrom('collections').where('user_id', '=', userId).where('deleted', '=', 0);
}

/** A user's collections, oldest first; deleted ones only when asked for. */
export async function listCollectionRows(
  on: Queryable,
  userId: string,
  includeDeleted: boolean,
): Promise<CollectionRow[]> {
  let query = executor(on).selectFrom('collections').selectAll().where('user_id', '=', userId).orderBy('created_at');
  if (!includeDeleted) query = query.where('deleted', '=', 0);
  return query.execute();
}

/** One collection, live or deleted. */
export async function readCollection(on: Queryable, userId: string, id: string): Promise<CollectionRow | undefined> {
  return executor(on)
    .selectFrom('collections')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function readLiveCollection(
  on: Queryable,
  userId: string,
  id: string,
): Promise<CollectionRow | undefined> {
  return live(executor(on), userId).selectAll().where('id', '=', id).executeTakeFirst();
}

/** The type of a collection that exists (live or deleted). */
export async function readCollectionType(on: Queryable, userId: string, id: string): Promise<string> {
  const row = await executor(on)
    .selectFrom('collections')
    .select('type')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.type;
}

/** The types of the live collections among `ids`. */
const liveCollectionTypeOne = compiledOnce<{ id: string; type: string }, [string, string]>((db, [userId, id]) =>
  live(db, userId).select(['id', 'type']).where('id', '=', id),
);

export async function liveCollectionTypes(on: Queryable, userId: string, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, string>();
  if (unique.length === 1) {
    for (const row of await liveCollectionTypeOne(on, userId, unique[0] as string)) out.set(row.id, row.type);
    return out;
  }
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await live(executor(on), userId)
      .select(['id', 'type'])
      .where('id', 'in', unique.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) out.set(row.id, row.type);
  }
  return out;
}

/** One column of each collection among `ids` that exists (live or deleted), `ids` read in chunks. */
async function collectionColumn<C extends 'deleted' | 'type'>(
  on: Queryable,
  userId: string,
  ids: string[],
  column: C,
): Promise<Map<string, CollectionsTable[C]>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, CollectionsTable[C]>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await executor(on)
      .selectFrom('collections')
      .select(['id', column])
      .where('user_id', '=', userId)
      .where('id', 'in', unique.slice(i, i + CHUNK))
      .execute();
    // Kysely cannot name a generic column's type: the row is read by its name.
    for (const row of rows as Record<string, unknown>[]) out.set(row.id as string, row[column] as CollectionsTable[C]);
  }
  return out;
}

/** The `deleted` flag of each collection among `ids` that exists. */
export function collectionDeletedFlags(on: Queryable, userId: string, ids: string[]): Promise<Map<string, number>> {
  return collectionColumn(on, userId, ids, 'deleted');
}

/** The types of the collections among `ids`, live or deleted. */
export function collectionTypesOf(on: Queryable, userId: string, ids: string[]): Promise<Map<string, string>> {
  return collectionColumn(on, userId, ids, 'type');
}

/** A user's collections, or only those named, with what a restore plan needs. */
export async function collectionsInScope(on: Queryable, userId: string, ids?: string[]) {
  let query = executor(on)
    .selectFrom('collections')
    .select(['id', 'deleted', 'created_at', 'head_seq'])
    .where('user_id', '=', userId);
  if (ids) query = query.where('id', 'in', ids);
  return query.execute();
}

/** Live collections with their item count and digest, in id order. */
export async function liveCollectionSummaries(on: Queryable, userId: string) {
  return live(executor(on), userId).select(['id', 'type', 'item_count', 'digest']).orderBy('id').execute();
}

export async function insertCollection(trx: Transaction<Database>, row: CollectionRow): Promise<void> {
  await trx.insertInto('collections').values(row).execute();
}

export async function updateCollectionRow(
  trx: Transaction<Database>,
  userId: string,
  id: string,
  changes: Updateable<CollectionsTable>,
): Promise<void> {
  await trx.updateTable('collections').set(changes).where('user_id', '=', userId).where('id', '=', id).execute();
}

/** A live collection's type with its item count and digest, for a write to that one collection. */
const liveCollectionSummaryOne = compiledOnce<
  { id: string; type: string; item_count: number; digest: string },
  [string, string]
>((db, [userId, id]) => live(db, userId).select(['id', 'type', 'item_count', 'digest']).where('id', '=', id));

/**
 * `liveCollectionTypes` of one collection, with its summary as it is now: a
 * write that holds the log lock passes the summary on to writeItemHeads
 * instead of reading the same row again.
 */
export async function liveCollectionWithSummary(
  on: Queryable,
  userId: string,
  id: string,
): Promise<{ type: string; item_count: number; digest: string } | null> {
  const [row] = await liveCollectionSummaryOne(on, userId, id);
  return row ? { type: row.type, item_count: row.item_count, digest: row.digest } : null;
}

/** A collection's live item count and digest. */
const collectionSummary = compiledOnce<{ item_count: number; digest: string }, [string, string]>((db, [userId, id]) =>
  db.selectFrom('collections').select(['item_count', 'digest']).where('user_id', '=', userId).where('id', '=', id),
);

export async function readCollectionSummary(
  trx: Transaction<Database>,
  userId: string,
  id: string,
): Promise<{ item_count: number; digest: string }> {
  const [row] = await collectionSummary(trx, userId, id);
  if (!row) throw new Error(`No collection ${id} to summarise.`);
  return row;
}

const summaryUpdate = compiledOnce<never, [number, string, string, string]>((db, [count, digest, userId, id]) =>
  db.updateTable('collections').set({ item_count: count, digest }).where('user_id', '=', userId).where('id', '=', id),
);

/** Sets a collection's live item count and digest. */
export async function writeCollectionSummary(
  trx: Transaction<Database>,
  userId: string,
  id: string,
  summary: { item_count: number; digest: string },
): Promise<void> {
  await summaryUpdate(trx, summary.item_count, summary.digest, userId, id);
}

/** Collection fields DAV shows, for a collection live or deleted. */
const collectionForDav = compiledOnce<
  { id: string; type: string; name: string; description: string; color: string | null; deleted: number },
  [string, string]
>((db, [userId, id]) =>
  db
    .selectFrom('collections')
    .select(['id', 'type', 'name', 'description', 'color', 'deleted'])
    .where('user_id', '=', userId)
    .where('id', '=', id),
);

export async function readCollectionForDav(on: Queryable, userId: string, id: string) {
  const [row] = await collectionForDav(on, userId, id);
  return row;
}

/** Live collections of these types, oldest first, with the fields DAV shows. */
export async function listLiveCollectionsOfTypes(on: Queryable, userId: string, types: string[]) {
  return live(executor(on), userId)
    .select(['id', 'type', 'name', 'description', 'color'])
    .where('type', 'in', types)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
