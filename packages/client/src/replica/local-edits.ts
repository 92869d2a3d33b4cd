import { type BlobRef, type CollectionType, collectionTypeSchema, idSchema } from '@holdfast/protocol';
import { HoldfastError } from '../errors.js';
import { prepareContent } from './content-hash.js';
import type {
  CollectionFields,
  CollectionOutboxEntry,
  CollectionRecord,
  ItemOutboxEntry,
  ItemRecord,
  ReplicaTx,
} from './store.js';

/** Clock and id source for local edits. */
export interface EditEnv {
  now: () => number;
  newId: () => string;
}

/** What a device may set when it creates a collection. */
export interface NewCollection {
  id?: string;
  type: CollectionType;
  name: string;
  description?: string;
  color?: string | null;
}

function checkId(id: string, what: string): void {
  if (!idSchema.safeParse(id).success) {
    throw new HoldfastError(
      'invalid_request',
      `Invalid ${what} id '${id}': ids are URL-safe (letters, digits, . _ ~ -).`,
    );
  }
}

function checkFields(fields: CollectionFields): void {
  if (!collectionTypeSchema.safeParse(fields.type).success) {
    throw new HoldfastError('invalid_request', `Unknown collection type '${fields.type}'.`);
  }
  if (fields.name.length < 1 || fields.name.length > 200) {
    throw new HoldfastError('invalid_request', 'Collection names have 1 to 200 characters.');
  }
  if (fields.description.length > 2000)
    throw new HoldfastError('invalid_request', 'Descriptions are at most 2000 characters.');
  if (fields.color !== null && !/^#[0-9a-fA-F]{6}$/.test(fields.color)) {
    throw new HoldfastError('invalid_request', `Colors are #rrggbb, not '${fields.color}'.`);
  }
}

/** A live collection, or `not_found`. */
export function liveCollection(tx: ReplicaTx, id: string): CollectionRecord {
  const collection = tx.getCollection(id);
  if (!collection || collection.deleted) throw new HoldfastError('not_found', `No collection ${id}.`);
  return collection;
}

/**
 * Queues a collection change. An entry that was never sent is folded into
 * (a create stays a create with the new fields; an update becomes a delete);
 * one that was sent is left alone, so its retry stays idempotent.
 */
function enqueueCollection(tx: ReplicaTx, env: EditEnv, op: CollectionOutboxEntry['op'], c: CollectionRecord): void {
  const fields: CollectionFields = { type: c.type, name: c.name, description: c.description, color: c.color };
  const last = tx
    .listOutbox({ collectionId: c.id, status: 'pending' })
    .filter((e) => e.entity === 'collection')
    .pop();
  if (last?.entity === 'collection' && last.attempts === 0 && last.op !== 'delete') {
    const folded = op === 'update' ? last.op : op;
    tx.updateOutbox({ ...last, op: folded, fields });
    return;
  }
  tx.appendOutbox({
    entity: 'collection',
    op,
    clientChangeId: env.newId(),
    collectionId: c.id,
    itemId: null,
    fields,
    attempts: 0,
    status: 'pending',
    error: null,
    createdAt: env.now(),
  });
}

/** Creates a collection in the replica and queues it for the server, in the caller's transaction. */
export function createCollection(tx: ReplicaTx, env: EditEnv, input: NewCollection): CollectionRecord {
  const id = input.id ?? env.newId();
  checkId(id, 'collection');
  const fields: CollectionFields = {
    type: input.type,
    name: input.name,
    description: input.description ?? '',
    color: input.color ?? null,
  };
  checkFields(fields);
  if (tx.getCollection(id)) throw new HoldfastError('conflict', `Collection ${id} already exists.`);
  const record: CollectionRecord = { id, ...fields, revision: null, deleted: false, updatedAt: env.now() };
  tx.putCollection(record);
  enqueueCollection(tx, env, 'create', record);
  return record;
}

/** Renames or recolours a collection. */
export function updateCollection(
  tx: ReplicaTx,
  env: EditEnv,
  id: string,
  patch: { name?: string; description?: string; color?: string | null },
): CollectionRecord {
  const current = liveCollection(tx, id);
  const next: CollectionRecord = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    color: patch.color === undefined ? current.color : patch.color,
    updatedAt: env.now(),
  };
  checkFields(next);
  tx.putCollection(next);
  enqueueCollection(tx, env, 'update', next);
  return next;
}

/**
 * Deletes a collection and, locally, every item in it (the server writes a
 * tombstone per item). Item changes already queued are still sent first, so
 * the server's history keeps them.
 */
export function deleteCollection(tx: ReplicaTx, env: EditEnv, id: string): void {
  const current = liveCollection(tx, id);
  const now = env.now();
  for (const item of tx.listItems({ collectionId: id })) tx.putItem({ ...item, deleted: true, updatedAt: now });
  const next = { ...current, deleted: true, updatedAt: now };
  tx.putCollection(next);
  enqueueCollection(tx, env, 'delete', next);
}

/**
 * Queues an item change. The newest pending entry of the item is rewritten if
 * it was never sent; otherwise a new entry follows it. So an item has at most
 * one entry that may have reached the server, and it is always its oldest.
 */
function enqueueItem(tx: ReplicaTx, env: EditEnv, item: ItemRecord, op: 'put' | 'delete'): void {
  const pending = tx.listOutbox({ itemId: item.id, status: 'pending' });
  const last = pending[pending.length - 1];
  const payload = { op, content: op === 'put' ? item.content : null, blob: op === 'put' ? item.blob : null };
  if (last?.entity === 'item' && last.attempts === 0) {
    tx.updateOutbox({ ...last, ...payload });
    return;
  }
  const entry: Omit<ItemOutboxEntry, 'seq'> = {
    entity: 'item',
    clientChangeId: env.newId(),
    collectionId: item.collectionId,
    itemId: item.id,
    ...payload,
    attempts: 0,
    status: 'pending',
    error: null,
    createdAt: env.now(),
  };
  tx.appendOutbox(entry);
}

/**
 * Creates or replaces an item's content in the replica and queues it, in one
 * transaction: the edit and its outbox entry exist together or not at all.
 * Content is checked against the protocol's schema first (`invalid_content`).
 */
export function putItem(
  tx: ReplicaTx,
  env: EditEnv,
  input: { collectionId: string; itemId: string; content: unknown; blob?: BlobRef | null },
): ItemRecord {
  checkId(input.itemId, 'item');
  const collection = liveCollection(tx, input.collectionId);
  const existing = tx.getItem(input.itemId);
  if (existing && existing.collectionId !== input.collectionId) {
    throw new HoldfastError('invalid_request', `Item ${input.itemId} belongs to collection ${existing.collectionId}.`);
  }
  const blob = input.blob === undefined ? (existing?.blob ?? null) : input.blob;
  const prepared = prepareContent(collection.type, input.content, blob);
  const item: ItemRecord = {
    id: input.itemId,
    collectionId: input.collectionId,
    content: prepared.content,
    contentType: prepared.contentType,
    blob,
    meta: existing?.meta ?? null,
    hash: prepared.hash,
    baseRevision: existing?.baseRevision ?? null,
    baseHash: existing?.baseHash ?? null,
    dirty: true,
    deleted: false,
    updatedAt: env.now(),
  };
  tx.putItem(item);
  enqueueItem(tx, env, item, 'put');
  return item;
}

/** Deletes an item locally (its last content is kept in the replica) and queues the delete. */
export function deleteItem(tx: ReplicaTx, env: EditEnv, itemId: string): void {
  const existing = tx.getItem(itemId);
  if (!existing || existing.deleted) throw new HoldfastError('not_found', `No item ${itemId}.`);
  const item: ItemRecord = { ...existing, deleted: true, dirty: true, updatedAt: env.now() };
  tx.putItem(item);
  enqueueItem(tx, env, item, 'delete');
}
