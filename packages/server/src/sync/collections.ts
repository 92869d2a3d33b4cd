import { randomUUID } from 'node:crypto';
import {
  AppError,
  type Collection,
  type CreateCollection,
  EMPTY_DIGEST,
  type UpdateCollection,
} from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import type { Caller, Context } from '../context.js';
import {
  type CollectionRow,
  insertCollection,
  listCollectionRows,
  readCollection,
  readLiveCollection,
  updateCollectionRow,
} from '../store/collections.js';
import { liveItemsOfCollection } from '../store/items.js';
import type { NewRevision } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { writeItemHeads } from './item-heads.js';
import { toWireCollection } from './wire.js';
import { writeTransaction } from './write-transaction.js';

// Collection changes are revisions too, so devices learn of them from the same feed and they can be restored.
export function collectionRevision(
  caller: Caller,
  id: string,
  op: 'put' | 'delete',
  fields: { type: string; name: string; description: string; color: string | null },
  now: number,
  origin = 'client',
): NewRevision {
  const content = JSON.stringify(fields);
  return {
    user_id: caller.userId,
    entity: 'collection',
    op,
    collection_id: id,
    item_id: null,
    device_id: caller.deviceId,
    origin,
    content_type: 'application/vnd.holdfast.collection+json',
    content,
    blob_sha256: null,
    blob_content_type: null,
    meta: null,
    content_hash: null,
    size: Buffer.byteLength(content),
    base_seq: null,
    client_change_id: null,
    created_at: now,
  };
}

export async function listCollections(ctx: Context, caller: Caller, includeDeleted = false): Promise<Collection[]> {
  return (await listCollectionRows(ctx.db, caller.userId, includeDeleted)).map(toWireCollection);
}

export async function getCollection(ctx: Context, caller: Caller, id: string): Promise<Collection> {
  const row = await readLiveCollection(ctx.db, caller.userId, id);
  if (!row) throw new AppError('not_found', `No collection ${id}.`);
  return toWireCollection(row);
}

/**
 * Adds the row of a new, empty, live collection whose `fields` were just
 * written as its revision `headSeq` (inside the same write transaction).
 */
export async function insertCollectionRow(
  trx: Transaction<Database>,
  userId: string,
  id: string,
  fields: { type: string; name: string; description: string; color: string | null },
  headSeq: number,
  now: number,
): Promise<CollectionRow> {
  const row = {
    user_id: userId,
    id,
    ...fields,
    deleted: 0,
    head_seq: headSeq,
    item_count: 0,
    digest: EMPTY_DIGEST,
    created_at: now,
    updated_at: now,
  };
  await insertCollection(trx, row);
  return row;
}

export async function createCollection(ctx: Context, caller: Caller, input: CreateCollection): Promise<Collection> {
  const id = input.id ?? randomUUID();
  const now = ctx.now();
  return writeTransaction(ctx, caller, async (trx, append) => {
    const existing = await readCollection(trx, caller.userId, id);
    if (existing)
      throw new AppError('conflict', `Collection ${id} already exists${existing.deleted ? ' (deleted)' : ''}.`);
    const fields = { type: input.type, name: input.name, description: input.description, color: input.color };
    const [seq] = await append([collectionRevision(caller, id, 'put', fields, now)]);
    const row = await insertCollectionRow(trx, caller.userId, id, fields, seq as number, now);
    return toWireCollection(row);
  });
}

export async function updateCollection(
  ctx: Context,
  caller: Caller,
  id: string,
  input: UpdateCollection,
): Promise<Collection> {
  const now = ctx.now();
  return writeTransaction(ctx, caller, async (trx, append) => {
    const row = await liveCollection(trx, caller.userId, id);
    const fields = {
      type: row.type,
      name: input.name ?? row.name,
      description: input.description ?? row.description,
      color: input.color === undefined ? row.color : input.color,
    };
    const [seq] = await append([collectionRevision(caller, id, 'put', fields, now)]);
    await updateCollectionRow(trx, caller.userId, id, { ...fields, head_seq: seq as number, updated_at: now });
    return toWireCollection({ ...row, ...fields, head_seq: seq as number, updated_at: now });
  });
}

/**
 * Deletes a collection by writing a tombstone for each live item and then for
 * the collection: devices see explicit deletes, and every item stays in the
 * history for restore.
 */
export async function deleteCollection(ctx: Context, caller: Caller, id: string): Promise<{ revision: number }> {
  const now = ctx.now();
  return writeTransaction(ctx, caller, async (trx, append) => {
    const row = await liveCollection(trx, caller.userId, id);
    const items = await liveItemsOfCollection(trx, caller.userId, id);
    const tombstones: NewRevision[] = items.map((item) => ({
      user_id: caller.userId,
      entity: 'item',
      op: 'delete',
      collection_id: id,
      item_id: item.id,
      device_id: caller.deviceId,
      origin: 'client',
      content_type: null,
      content: null,
      blob_sha256: null,
      blob_content_type: null,
      meta: null,
      content_hash: null,
      size: 0,
      base_seq: item.head_seq,
      client_change_id: null,
      created_at: now,
    }));
    const fields = { type: row.type, name: row.name, description: row.description, color: row.color };
    const seqs = await append([...tombstones, collectionRevision(caller, id, 'delete', fields, now)]);
    await writeItemHeads(
      trx,
      caller.userId,
      items.map((item, i) => ({
        itemId: item.id,
        collectionId: id,
        seq: seqs[i] as number,
        deleted: true,
        hash: null,
        size: 0,
        previousLiveHash: item.content_hash ?? '',
      })),
      now,
    );
    const last = seqs[seqs.length - 1] as number;
    await updateCollectionRow(trx, caller.userId, id, { deleted: 1, head_seq: last, updated_at: now });
    return { revision: last };
  });
}

async function liveCollection(trx: Transaction<Database>, userId: string, id: string) {
  const row = await readLiveCollection(trx, userId, id);
  if (!row) throw new AppError('not_found', `No collection ${id}.`);
  return row;
}
