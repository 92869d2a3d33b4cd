import type { CollectionType } from '@holdfast/protocol';
import type { Kysely } from 'kysely';
import type { RevisionRow } from './revision-log.js';
import type { Database } from './schema.js';

/**
 * Reads a user's data as it was at one revision of the log, page by page,
 * while writes go on. An item changed or deleted after that revision is read
 * from its history instead; one created after it is left out. So an export
 * is one consistent moment of the account however long it takes.
 */

export interface SnapshotCollection {
  id: string;
  type: CollectionType;
  name: string;
  description: string;
  color: string | null;
  /** The collection's own latest revision at the snapshot. */
  revision: number;
}

/** The columns of a revision an export reads. */
export type SnapshotRevision = Pick<
  RevisionRow,
  'seq' | 'op' | 'content' | 'meta' | 'blob_sha256' | 'blob_content_type' | 'created_at'
>;

export interface SnapshotItem {
  id: string;
  collectionId: string;
  createdAt: number;
  revision: SnapshotRevision;
}

const REVISION_COLUMNS = ['seq', 'op', 'content', 'meta', 'blob_sha256', 'blob_content_type', 'created_at'] as const;

type Db = Kysely<Database>;

/** Live collections at `seq`, oldest first. */
export async function collectionsAt(db: Db, userId: string, seq: number): Promise<SnapshotCollection[]> {
  const rows = await db
    .selectFrom('collections')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const out: SnapshotCollection[] = [];
  for (const row of rows) {
    if (row.head_seq <= seq) {
      if (row.deleted === 0) out.push({ ...fields(row), revision: row.head_seq });
      continue;
    }
    const past = await db
      .selectFrom('revisions')
      .select(['seq', 'op', 'content'])
      .where('user_id', '=', userId)
      .where('entity', '=', 'collection')
      .where('collection_id', '=', row.id)
      .where('seq', '<=', seq)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (past?.op !== 'put' || past.content === null) continue;
    const then = JSON.parse(past.content) as { name: string; description: string; color: string | null };
    out.push({ ...fields(row), name: then.name, description: then.description, color: then.color, revision: past.seq });
  }
  return out;
}

function fields(row: { id: string; type: string; name: string; description: string; color: string | null }) {
  return {
    id: row.id,
    type: row.type as CollectionType,
    name: row.name,
    description: row.description,
    color: row.color,
  };
}

/** Items of a collection live at `seq`, in id order after `after`, at most `limit` ids looked at. */
export async function itemsAt(
  db: Db,
  userId: string,
  collectionId: string,
  seq: number,
  after: string | null,
  limit: number,
): Promise<{ items: SnapshotItem[]; next: string | null }> {
  let query = db
    .selectFrom('items')
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .select([
      'items.id as id',
      'items.created_at as item_created_at',
      ...REVISION_COLUMNS.map((c) => `revisions.${c}` as const),
    ])
    .where('items.user_id', '=', userId)
    .where('items.collection_id', '=', collectionId)
    .where((eb) => eb.or([eb('items.deleted', '=', 0), eb('items.head_seq', '>', seq)]))
    .orderBy('items.id')
    .limit(limit);
  if (after !== null) query = query.where('items.id', '>', after);
  const rows = await query.execute();
  const items: SnapshotItem[] = [];
  for (const row of rows) {
    const head: SnapshotRevision = {
      seq: row.seq,
      op: row.op,
      content: row.content,
      meta: row.meta,
      blob_sha256: row.blob_sha256,
      blob_content_type: row.blob_content_type,
      created_at: row.created_at,
    };
    const then = head.seq <= seq ? head : await revisionAt(db, userId, row.id, seq);
    if (then && then.op === 'put')
      items.push({ id: row.id, collectionId, createdAt: row.item_created_at, revision: then });
  }
  const last = rows.at(-1);
  return { items, next: rows.length === limit && last ? last.id : null };
}

async function revisionAt(db: Db, userId: string, itemId: string, seq: number): Promise<SnapshotRevision | undefined> {
  return db
    .selectFrom('revisions')
    .select(REVISION_COLUMNS)
    .where('user_id', '=', userId)
    .where('entity', '=', 'item')
    .where('item_id', '=', itemId)
    .where('seq', '<=', seq)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Every item of a collection at `seq`, a page at a time. */
export async function* allItemsAt(
  db: Db,
  userId: string,
  collectionId: string,
  seq: number,
  pageSize = 250,
): AsyncGenerator<SnapshotItem> {
  let after: string | null = null;
  do {
    const page = await itemsAt(db, userId, collectionId, seq, after, pageSize);
    yield* page.items;
    after = page.next;
  } while (after !== null);
}
