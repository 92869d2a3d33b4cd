import { executor, type Queryable } from './queryable.js';

/** A live photo item's head, as WebDAV lists it. */
export interface PhotoFileRow {
  id: string;
  created_at: number;
  updated_at: number;
  head_seq: number;
  content: string | null;
  blob_sha256: string | null;
  blob_content_type: string | null;
  meta: string | null;
}

/** Live items of a collection with their head revision's photo fields, oldest first. */
export async function listPhotoFileRows(on: Queryable, userId: string, collectionId: string): Promise<PhotoFileRow[]> {
  return executor(on)
    .selectFrom('items')
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .select([
      'items.id',
      'items.created_at',
      'items.updated_at',
      'items.head_seq',
      'revisions.content',
      'revisions.blob_sha256',
      'revisions.blob_content_type',
      'revisions.meta',
    ])
    .where('items.user_id', '=', userId)
    .where('items.collection_id', '=', collectionId)
    .where('items.deleted', '=', 0)
    .orderBy('items.created_at')
    .orderBy('items.id')
    .execute();
}
