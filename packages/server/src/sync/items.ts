import { AppError, type WireItem, type WireRevision } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { readLiveCollection } from '../store/collections.js';
import { listLiveItemsAtHead, readItemAtHead } from '../store/items.js';
import { readItemRevisions, readRevision } from '../store/revision-log.js';
import { toWireItem, toWireRevision } from './wire.js';

/** An item as of its head revision; deleted items answer 404 unless asked for. */
export async function getItem(ctx: Context, caller: Caller, itemId: string, includeDeleted = false): Promise<WireItem> {
  const row = await readItemAtHead(ctx.db, caller.userId, itemId);
  if (!row || (row.item_deleted === 1 && !includeDeleted)) throw new AppError('not_found', `No item ${itemId}.`);
  return toWireItem(row, row.item_deleted === 1);
}

/** Live items of a collection in id order, paged by id. */
export async function listItems(
  ctx: Context,
  caller: Caller,
  collectionId: string,
  options: { after?: string; limit: number },
): Promise<{ items: WireItem[]; next: string | null }> {
  const collection = await readLiveCollection(ctx.db, caller.userId, collectionId);
  if (!collection) throw new AppError('not_found', `No collection ${collectionId}.`);
  const rows = await listLiveItemsAtHead(ctx.db, caller.userId, collectionId, {
    after: options.after,
    limit: options.limit + 1,
  });
  const page = rows.slice(0, options.limit);
  return {
    items: page.map((row) => toWireItem(row, false)),
    next: rows.length > options.limit ? (page[page.length - 1]?.item_id ?? null) : null,
  };
}

/** An item's history, oldest first, including deletes. */
export async function itemHistory(
  ctx: Context,
  caller: Caller,
  itemId: string,
  options: { after?: number; limit: number },
): Promise<{ revisions: WireRevision[]; next: number | null }> {
  const rows = await readItemRevisions(ctx.db, caller.userId, itemId, {
    afterSeq: options.after ?? 0,
    limit: options.limit + 1,
  });
  if (rows.length === 0 && !options.after) throw new AppError('not_found', `No item ${itemId}.`);
  const page = rows.slice(0, options.limit);
  return {
    revisions: page.map(toWireRevision),
    next: rows.length > options.limit ? (page[page.length - 1]?.seq ?? null) : null,
  };
}

/** One past revision of an item. */
export async function getItemRevision(
  ctx: Context,
  caller: Caller,
  itemId: string,
  seq: number,
): Promise<WireRevision> {
  const row = await readRevision(ctx.db, caller.userId, seq);
  if (!row || row.item_id !== itemId || row.entity !== 'item') {
    throw new AppError('not_found', `No revision ${seq} of item ${itemId}.`);
  }
  return toWireRevision(row);
}
