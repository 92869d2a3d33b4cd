import type { Db } from './database.js';
import type { RevisionRow } from './revision-log.js';

/** A head revision without its content: enough to tell which revision an entity is at. */
export type LightRevision = Pick<
  RevisionRow,
  | 'seq'
  | 'user_id'
  | 'entity'
  | 'collection_id'
  | 'item_id'
  | 'op'
  | 'content_hash'
  | 'blob_sha256'
  | 'blob_content_type'
>;

/** A materialised head joined to its revision; `k_user` and `k_id` name the entity whatever its head is. */
export type LightHeadRow = LightRevision & { k_user: string; k_id: string };

const lightColumns = [
  'r.seq',
  'r.user_id',
  'r.entity',
  'r.collection_id',
  'r.item_id',
  'r.op',
  'r.content_hash',
  'r.blob_sha256',
  'r.blob_content_type',
] as const;

/**
 * One page of item heads with their revisions (without content), in
 * primary-key order after `after` (user id, item id).
 */
export async function readItemHeadPage(db: Db, after: [string, string], limit: number): Promise<LightHeadRow[]> {
  return (
    db.kysely
      .selectFrom('items as i')
      .innerJoin('revisions as r', 'r.seq', 'i.head_seq')
      .select(['i.user_id as k_user', 'i.id as k_id', ...lightColumns])
      // A row-value comparison lets both engines seek the primary key; the equivalent OR rescans from the start.
      .where((eb) => eb(eb.refTuple('i.user_id', 'i.id'), '>', eb.tuple(after[0], after[1])))
      .orderBy('i.user_id')
      .orderBy('i.id')
      .limit(limit)
      .execute()
  );
}

/** Every collection head with its revision (without content). */
export async function readCollectionHeads(db: Db): Promise<LightHeadRow[]> {
  return db.kysely
    .selectFrom('collections as c')
    .innerJoin('revisions as r', 'r.seq', 'c.head_seq')
    .select(['c.user_id as k_user', 'c.id as k_id', ...lightColumns])
    .execute();
}

/** The newest revision of one entity at or before seq `at`, from the immutable log. */
export async function readHeadAsOf(
  db: Db,
  entity: { userId: string; kind: 'item' | 'collection'; id: string },
  at: number,
): Promise<LightRevision | undefined> {
  const keyColumn = entity.kind === 'item' ? 'r.item_id' : 'r.collection_id';
  return db.kysely
    .selectFrom('revisions as r')
    .select(lightColumns)
    .where('r.user_id', '=', entity.userId)
    .where('r.entity', '=', entity.kind)
    .where(keyColumn, '=', entity.id)
    .where('r.seq', '<=', at)
    .orderBy('r.seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The full head revisions of every item and every collection (collections first). */
export async function readHeadRevisions(db: Db): Promise<RevisionRow[]> {
  const items = await db.kysely
    .selectFrom('items as i')
    .innerJoin('revisions as r', 'r.seq', 'i.head_seq')
    .selectAll('r')
    .execute();
  const collections = await db.kysely
    .selectFrom('collections as c')
    .innerJoin('revisions as r', 'r.seq', 'c.head_seq')
    .selectAll('r')
    .where('r.entity', '=', 'collection')
    .execute();
  return [...collections, ...items];
}

/** The head seq of each of these items of a user (items it does not have are left out). */
export async function readItemHeadSeqs(
  db: Db,
  userId: string,
  itemIds: string[],
): Promise<{ id: string; head_seq: number }[]> {
  return db.kysely
    .selectFrom('items')
    .select(['id', 'head_seq'])
    .where('user_id', '=', userId)
    .where('id', 'in', itemIds)
    .execute();
}

/** Every collection's summary (live item count and digest), by user and id. */
export async function readCollectionSummaries(
  db: Db,
): Promise<{ user_id: string; id: string; item_count: number; digest: string; deleted: number }[]> {
  return db.kysely
    .selectFrom('collections')
    .select(['user_id', 'id', 'item_count', 'digest', 'deleted'])
    .orderBy('user_id')
    .orderBy('id')
    .execute();
}

/** The owner and live item count of every collection that is not deleted. */
export async function readLiveCollectionCounts(db: Db): Promise<{ user_id: string; item_count: number }[]> {
  return db.kysely.selectFrom('collections').select(['user_id', 'item_count']).where('deleted', '=', 0).execute();
}

/** The columns a log digest depends on, for every collection and item head: no content is read. */
export async function readHeadDigestColumns(db: Db) {
  const columns = ['r.user_id', 'r.collection_id', 'r.item_id', 'r.entity', 'r.op', 'r.content_hash'] as const;
  return [
    ...(await db.kysely
      .selectFrom('collections as c')
      .innerJoin('revisions as r', 'r.seq', 'c.head_seq')
      .select(columns)
      .where('r.entity', '=', 'collection')
      .execute()),
    ...(await db.kysely
      .selectFrom('items as i')
      .innerJoin('revisions as r', 'r.seq', 'i.head_seq')
      .select(columns)
      .execute()),
  ];
}
