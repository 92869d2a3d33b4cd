import type { CollectionType } from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import type { Database } from './schema.js';

/*
 * The reads an import makes inside its write transaction: the live items it
 * may match, the state of items it is about to write, and the collections
 * its items may go into.
 */

/** The live items of one collection with their head revision's derived fields. */
export async function liveItemsOf(trx: Transaction<Database>, userId: string, collectionId: string) {
  return trx
    .selectFrom('items')
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .select(['items.id as id', 'items.head_seq as seq', 'items.content_hash as hash', 'revisions.meta as meta'])
    .where('items.user_id', '=', userId)
    .where('items.collection_id', '=', collectionId)
    .where('items.deleted', '=', 0)
    .execute();
}

/** Items by id (live or deleted), with their head and content hash. */
export async function itemStates(trx: Transaction<Database>, userId: string, ids: string[]) {
  return trx
    .selectFrom('items')
    .select(['id', 'collection_id', 'deleted', 'head_seq', 'content_hash'])
    .where('user_id', '=', userId)
    .where('id', 'in', ids)
    .execute();
}

/** The head revision of each of these items. */
export async function itemHeadSeqs(trx: Transaction<Database>, userId: string, ids: string[]) {
  return trx
    .selectFrom('items')
    .select(['id', 'head_seq'])
    .where('user_id', '=', userId)
    .where('id', 'in', ids)
    .execute();
}

export async function findCollection(trx: Transaction<Database>, userId: string, id: string) {
  return trx
    .selectFrom('collections')
    .select(['id', 'type', 'deleted'])
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The user's oldest live collection of this type (ties broken by id). */
export async function oldestCollectionOfType(trx: Transaction<Database>, userId: string, type: CollectionType) {
  return trx
    .selectFrom('collections')
    .select('id')
    .where('user_id', '=', userId)
    .where('type', '=', type)
    .where('deleted', '=', 0)
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}
