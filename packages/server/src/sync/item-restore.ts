import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { liveCollectionTypes } from '../store/collections.js';
import { readItemHeads } from '../store/items.js';
import { type NewRevision, readRevision } from '../store/revision-log.js';
import { lastPutSeqs, listDeletedItems } from '../store/trash.js';
import { writeItemHeads } from './item-heads.js';
import { revisionNames } from './item-names.js';
import { checkNewItems } from './quota.js';
import { writeTransaction } from './write-transaction.js';

const DAY_MS = 86_400_000;

/** One deleted item as the trash lists it (docs/protocol.md, "Trash, undelete and item restore"). */
export interface TrashEntry {
  id: string;
  collectionId: string;
  type: string;
  /** The display name of its last live revision. */
  name: string;
  deletedAt: string;
  /** The tombstone's revision: the item's head. */
  revision: number;
  /** Until when the trash lists it. */
  retentionUntil: string;
}

/** A page of the caller's trash, newest deletion first; `next` is the `after` of the following page. */
export async function listTrash(
  ctx: Context,
  userId: string,
  options: { collectionId?: string | undefined; after?: number | undefined; limit: number },
): Promise<{ items: TrashEntry[]; retentionDays: number; next: string | null }> {
  const retentionDays = ctx.config.trashRetentionDays;
  const rows = await listDeletedItems(ctx.db, userId, {
    collectionId: options.collectionId,
    beforeSeq: options.after,
    since: ctx.now() - retentionDays * DAY_MS,
    limit: options.limit + 1,
  });
  const page = rows.slice(0, options.limit);
  const lastPuts = await lastPutSeqs(
    ctx.db,
    userId,
    page.map((r) => r.id),
  );
  const names = await revisionNames(ctx.db, userId, [...lastPuts.values()]);
  return {
    items: page.map((row) => {
      const deletedAt = Number(row.deleted_at);
      const lastPut = lastPuts.get(row.id);
      return {
        id: row.id,
        collectionId: row.collection_id,
        type: row.type,
        name: lastPut === undefined ? '' : (names.get(lastPut) ?? ''),
        deletedAt: new Date(deletedAt).toISOString(),
        revision: Number(row.head_seq),
        retentionUntil: new Date(deletedAt + retentionDays * DAY_MS).toISOString(),
      };
    }),
    retentionDays,
    next: rows.length > options.limit ? String(page[page.length - 1]?.head_seq) : null,
  };
}

/** Brings a deleted item back as it was before it was deleted. */
export async function undeleteItem(ctx: Context, caller: Caller, itemId: string): Promise<{ revision: number }> {
  const head = (await readItemHeads(ctx.db, caller.userId, [itemId])).get(itemId);
  if (!head) throw new AppError('not_found', `No item ${itemId}.`);
  if (head.deleted === 0) throw new AppError('conflict', `Item ${itemId} is not deleted.`, { revision: head.head_seq });
  const lastPut = (await lastPutSeqs(ctx.db, caller.userId, [itemId])).get(itemId);
  if (lastPut === undefined) throw new AppError('not_found', `Item ${itemId} has no content to bring back.`);
  return restoreItemRevision(ctx, caller, itemId, lastPut);
}

/**
 * Writes a new revision of an item holding the content of its revision
 * `seq` (origin `restore`), through the one write path: the log, the heads,
 * the summaries, the contact index, live events and DAV all see it as any
 * other write. Restoring the content the item already has writes nothing.
 */
export async function restoreItemRevision(
  ctx: Context,
  caller: Caller,
  itemId: string,
  seq: number,
): Promise<{ revision: number }> {
  const source = await readRevision(ctx.db, caller.userId, seq);
  if (source?.entity !== 'item' || source.item_id !== itemId)
    throw new AppError('not_found', `No revision ${seq} of item ${itemId}.`);
  if (source.op !== 'put') throw new AppError('invalid_request', `Revision ${seq} is a deletion; it has no content.`);
  await checkNewItems(ctx, caller.userId, [{ itemId, size: source.size }]);
  const now = ctx.now();
  return writeTransaction(ctx, caller, async (trx, append) => {
    // Read again under the log lock: the head may have moved since.
    const head = (await readItemHeads(trx, caller.userId, [itemId])).get(itemId);
    if (!head) throw new AppError('not_found', `No item ${itemId}.`);
    if (!(await liveCollectionTypes(trx, caller.userId, [head.collection_id])).has(head.collection_id))
      throw new AppError(
        'not_found',
        `The collection ${head.collection_id} of item ${itemId} is deleted; restore it first.`,
      );
    if (head.deleted === 0 && head.content_hash === source.content_hash) return { revision: head.head_seq };
    const revision: NewRevision = {
      user_id: caller.userId,
      entity: 'item',
      op: 'put',
      collection_id: head.collection_id,
      item_id: itemId,
      device_id: caller.deviceId,
      origin: 'restore',
      content_type: source.content_type,
      content: source.content,
      blob_sha256: source.blob_sha256,
      blob_content_type: source.blob_content_type,
      meta: source.meta,
      content_hash: source.content_hash,
      size: source.size,
      base_seq: head.head_seq,
      client_change_id: null,
      created_at: now,
    };
    const [written] = await append([revision]);
    await writeItemHeads(
      trx,
      caller.userId,
      [
        {
          itemId,
          collectionId: head.collection_id,
          seq: written as number,
          deleted: false,
          hash: source.content_hash,
          size: source.size,
          previousLiveHash: head.deleted === 0 ? (head.content_hash ?? '') : null,
        },
      ],
      now,
    );
    return { revision: written as number };
  });
}
