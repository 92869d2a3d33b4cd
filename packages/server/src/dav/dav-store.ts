import { noteContentSchema } from '@holdfast/protocol';
import { journalFromNote } from '../content/vjournal.js';
import type { Context } from '../context.js';
import { listLiveCollectionsOfTypes, readCollectionForDav } from '../store/collections.js';
import { type DavItemRow, findDavItemsById, listDavItemsPage } from '../store/dav-names.js';
import { changedItemSeqs, latestCollectionSeq as readLatestCollectionSeq } from '../store/revision-log.js';

/**
 * The collection types DAV exposes: address books, calendars (VEVENT), task
 * lists (VTODO) and notes, as journals (VJOURNAL).
 */
export type DavType = 'contacts' | 'calendar' | 'tasks' | 'notes';

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

const DAV_TYPES: ReadonlySet<string> = new Set(['contacts', 'calendar', 'tasks', 'notes']);

export function extensionOf(type: DavType): string {
  return type === 'contacts' ? 'vcf' : 'ics';
}

export async function findCollection(
  ctx: Context,
  userId: string,
  id: string,
): Promise<(DavCollection & { deleted: boolean }) | undefined> {
  const row = await readCollectionForDav(ctx.db, userId, id);
  if (!row || !DAV_TYPES.has(row.type)) return undefined;
  return { ...row, type: row.type as DavType, deleted: row.deleted === 1 };
}

export async function listDavCollections(ctx: Context, userId: string, types: DavType[]): Promise<DavCollection[]> {
  const rows = await listLiveCollectionsOfTypes(ctx.db, userId, types);
  return rows.map((row) => ({ ...row, type: row.type as DavType }));
}

/** The seq of the collection's latest revision (itself or any item) at or below `upto`. */
export async function latestCollectionSeq(
  ctx: Context,
  userId: string,
  collectionId: string,
  upto?: number,
): Promise<number> {
  return readLatestCollectionSeq(ctx.db, userId, collectionId, upto);
}

function toItem(collection: DavCollection, row: DavItemRow): DavItem {
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
  if (collection.type === 'notes' && typeof item.content === 'string') {
    // A note is stored as JSON; DAV clients see it as the journal entry it is (or was sent as).
    const note = noteContentSchema.parse(JSON.parse(item.content));
    item.content = journalFromNote(row.id, note, { updated: new Date(item.updatedAt) });
    item.size = Buffer.byteLength(item.content, 'utf8');
  }
  return item;
}

/** Notes are read with their content always: their size over DAV is that of the VJOURNAL made from it. */
function needsContent(collection: DavCollection, withContent: boolean): boolean {
  return withContent || collection.type === 'notes';
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
  const rows = await listDavItemsPage(ctx.db, userId, collection.id, {
    ...options,
    withContent: needsContent(collection, options.withContent),
  });
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

/**
 * Items of the collection by id, live or deleted. `taken`, if given, is
 * filled with every id that some item of the user has, in any collection.
 */
export async function findItemsById(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  ids: string[],
  withContent: boolean,
  taken?: Set<string>,
): Promise<Map<string, DavItem>> {
  const out = new Map<string, DavItem>();
  // Read by id in any collection, then filtered here (store/dav-names.ts says why).
  for (const row of await findDavItemsById(ctx.db, userId, ids, needsContent(collection, withContent))) {
    taken?.add(row.id);
    if (row.collection_id === collection.id) out.set(row.id, toItem(collection, row));
  }
  return out;
}

/** Items of the collection with revisions in (after, upto], each with its latest such seq, in seq order. */
export async function changedItems(
  ctx: Context,
  userId: string,
  collectionId: string,
  after: number,
  upto: number,
  limit: number,
): Promise<{ itemId: string; seq: number }[]> {
  return changedItemSeqs(ctx.db, userId, collectionId, { after, upto, limit });
}
