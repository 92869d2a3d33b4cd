import { sql } from 'kysely';
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

function photoFileRows(on: Queryable, userId: string, collectionId: string) {
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
    .orderBy('items.id');
}

/** Live items of a collection with their head revision's photo fields, oldest first. */
export async function listPhotoFileRows(on: Queryable, userId: string, collectionId: string): Promise<PhotoFileRow[]> {
  return photoFileRows(on, userId, collectionId).execute();
}

export interface PhotoFileMatch {
  /** Rows whose content may have this `filename`. */
  filename: string | null;
  /** Rows with one of these ids. */
  ids: string[];
  /** Only rows older than this one, in the listing's order. */
  before: Pick<PhotoFileRow, 'id' | 'created_at'> | null;
  limit: number;
}

const likeLiteral = (text: string) => text.replace(/[!%_]/g, (c) => `!${c}`);

/**
 * The first rows of the listing (same order) that match by id or may match by
 * filename. Photo content is stored as canonical JSON (its content hash is
 * taken over that text), so a photo whose `filename` is the name holds
 * `"filename":<the name as JSON>` verbatim; a plain text match finds it on
 * both engines without parsing every row. It may also find rows that do not
 * have that filename (SQLite's LIKE ignores ASCII case; the text may sit
 * elsewhere), so callers check each row's parsed content.
 */
export async function findPhotoFileRows(
  on: Queryable,
  userId: string,
  collectionId: string,
  match: PhotoFileMatch,
): Promise<PhotoFileRow[]> {
  const { filename, ids, before, limit } = match;
  if (filename === null && ids.length === 0) return [];
  let query = photoFileRows(on, userId, collectionId).where((eb) => {
    const any = [];
    if (ids.length > 0) any.push(eb('items.id', 'in', ids));
    if (filename !== null) {
      const pattern = `%${likeLiteral(`"filename":${JSON.stringify(filename)}`)}%`;
      any.push(sql<boolean>`${sql.ref('revisions.content')} like ${pattern} escape '!'`);
    }
    return eb.or(any);
  });
  if (before) {
    query = query.where((eb) =>
      eb.or([
        eb('items.created_at', '<', before.created_at),
        eb.and([eb('items.created_at', '=', before.created_at), eb('items.id', '<', before.id)]),
      ]),
    );
  }
  return query.limit(limit).execute();
}
