import type { Kysely } from 'kysely';
import type { Context } from '../context.js';
import type { Database } from '../store/schema.js';

/** Table added by migration 0003-dav; see there for why it exists. */
export interface DavNamesTable {
  user_id: string;
  collection_id: string;
  name: string;
  item_id: string;
  created_at: number;
}

type DavDatabase = Database & { dav_names: DavNamesTable };

export function davDb(ctx: Context): Kysely<DavDatabase> {
  return ctx.db.kysely.withTables<{ dav_names: DavNamesTable }>();
}

/** The collection types DAV exposes: address books, calendars (VEVENT) and task lists (VTODO). */
export type DavType = 'contacts' | 'calendar' | 'tasks';

export interface DavCollection {
  id: string;
  type: DavType;
  name: string;
  description: string;
  color: string | null;
}

export interface DavItem {
  id: string;
  /** The resource name in its collection: the client's own name, or `<id>.vcf|.ics`. */
  name: string;
  hash: string | null;
  size: number;
  updatedAt: number;
  headSeq: number;
  deleted: boolean;
  /** The stored text, when asked for. */
  content?: string | null;
}

const DAV_TYPES: ReadonlySet<string> = new Set(['contacts', 'calendar', 'tasks']);

export function extensionOf(type: DavType): string {
  return type === 'contacts' ? 'vcf' : 'ics';
}

export async function findCollection(
  ctx: Context,
  userId: string,
  id: string,
): Promise<(DavCollection & { deleted: boolean }) | undefined> {
  const row = await ctx.db.kysely
    .selectFrom('collections')
    .select(['id', 'type', 'name', 'description', 'color', 'deleted'])
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row || !DAV_TYPES.has(row.type)) return undefined;
  return { ...row, type: row.type as DavType, deleted: row.deleted === 1 };
}

export async function listDavCollections(ctx: Context, userId: string, types: DavType[]): Promise<DavCollection[]> {
  const rows = await ctx.db.kysely
    .selectFrom('collections')
    .select(['id', 'type', 'name', 'description', 'color'])
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .where('type', 'in', types)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ ...row, type: row.type as DavType }));
}

/** The seq of the collection's latest revision (itself or any item) at or below `upto`. */
export async function latestCollectionSeq(
  ctx: Context,
  userId: string,
  collectionId: string,
  upto?: number,
): Promise<number> {
  let query = ctx.db.kysely
    .selectFrom('revisions')
    .select((eb) => eb.fn.max('seq').as('last'))
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId);
  if (upto !== undefined) query = query.where('seq', '<=', upto);
  const row = await query.executeTakeFirst();
  return Number(row?.last ?? 0);
}

function itemQuery(ctx: Context, userId: string, collection: DavCollection, withContent: boolean) {
  return itemColumns(ctx, withContent)
    .where('items.user_id', '=', userId)
    .where('items.collection_id', '=', collection.id);
}

function itemColumns(ctx: Context, withContent: boolean) {
  return davDb(ctx)
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

function toItem(
  collection: DavCollection,
  row: {
    id: string;
    head_seq: number;
    deleted: number;
    content_hash: string | null;
    size: number;
    updated_at: number;
    name: string | null;
    content?: string | null;
  },
): DavItem {
  const item: DavItem = {
    id: row.id,
    name: row.name ?? `${row.id}.${extensionOf(collection.type)}`,
    hash: row.content_hash,
    size: Number(row.size),
    updatedAt: Number(row.updated_at),
    headSeq: Number(row.head_seq),
    deleted: row.deleted === 1,
  };
  if (row.content !== undefined) item.content = row.content;
  return item;
}

/**
 * One page of a collection's live items in head-revision order: every item
 * whose head is at or below the last one returned has been listed, which is
 * what a truncated initial sync-collection needs for its token.
 */
export async function listItemsPage(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  options: { afterSeq: number; limit: number; withContent: boolean },
): Promise<DavItem[]> {
  const rows = await itemQuery(ctx, userId, collection, options.withContent)
    .where('items.deleted', '=', 0)
    .where('items.head_seq', '>', options.afterSeq)
    .orderBy('items.head_seq')
    .limit(options.limit)
    .execute();
  return rows.map((row) => toItem(collection, row));
}

/** Every live item of a collection, a page at a time. */
export async function* allItems(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  withContent: boolean,
  pageSize = 200,
): AsyncGenerator<DavItem[]> {
  let afterSeq = 0;
  for (;;) {
    const page = await listItemsPage(ctx, userId, collection, { afterSeq, limit: pageSize, withContent });
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (!last || page.length < pageSize) return;
    afterSeq = last.headSeq;
  }
}

const CHUNK = 400;

/** Items of the collection by id, live or deleted. */
export async function findItemsById(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  ids: string[],
  withContent: boolean,
): Promise<Map<string, DavItem>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, DavItem>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    // By primary key only, then filtered here: with the collection in the WHERE clause SQLite
    // prefers the collection index and walks the whole collection for a hundred ids.
    const rows = await itemColumns(ctx, withContent)
      .select('items.collection_id')
      .where('items.user_id', '=', userId)
      .where('items.id', 'in', unique.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) if (row.collection_id === collection.id) out.set(row.id, toItem(collection, row));
  }
  return out;
}

/**
 * Items of the collection with revisions in (after, upto], each with its
 * latest such seq, in seq order. Reads only the log's index for this
 * collection, so the cost follows the number of changes, not the collection.
 */
export async function changedItems(
  ctx: Context,
  userId: string,
  collectionId: string,
  after: number,
  upto: number,
  limit: number,
): Promise<{ itemId: string; seq: number }[]> {
  const rows = await ctx.db.kysely
    .selectFrom('revisions')
    .select((eb) => ['item_id', eb.fn.max('seq').as('last_seq')])
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId)
    .where('entity', '=', 'item')
    .where('seq', '>', after)
    .where('seq', '<=', upto)
    .groupBy('item_id')
    .orderBy('last_seq')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ itemId: row.item_id as string, seq: Number(row.last_seq) }));
}
