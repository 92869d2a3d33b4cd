import { prepareContent } from '../replica/content-hash.js';
import type { EditEnv } from '../replica/local-edits.js';
import type { ItemOutboxEntry, ItemRecord, OutboxEntry, ReplicaTx } from '../replica/store.js';

/** The item's entries still waiting to be sent or answered, oldest first. */
export function pendingItemEntries(tx: ReplicaTx, itemId: string): ItemOutboxEntry[] {
  return tx.listOutbox({ itemId, status: 'pending' }).filter((e): e is ItemOutboxEntry => e.entity === 'item');
}

/** The server hash a put entry's content will have, or null if it cannot be computed here. */
export function entryHash(tx: ReplicaTx, entry: ItemOutboxEntry): string | null {
  if (entry.op === 'delete') return null;
  const collection = tx.getCollection(entry.collectionId);
  if (!collection) return null;
  try {
    return prepareContent(collection.type, entry.content, entry.blob).hash;
  } catch {
    return null; // The pull that brings this revision back sets the server's hash.
  }
}

/**
 * The server applied `entry` as `revision`: the entry leaves the outbox and
 * the item's base moves to that revision, in the caller's transaction. The
 * item stays dirty if later entries for it are still queued.
 */
export function acknowledge(tx: ReplicaTx, entry: ItemOutboxEntry, revision: number): void {
  tx.removeOutbox(entry.seq);
  const item = tx.getItem(entry.itemId);
  if (!item) return;
  tx.putItem({
    ...item,
    baseRevision: revision,
    baseHash: entryHash(tx, entry),
    dirty: pendingItemEntries(tx, item.id).length > 0,
  });
}

/**
 * The server refused `entry`: it stays in the outbox with the reason (its
 * content is kept there), and the item stops being dirty unless other changes
 * are queued, so pulls can bring the server's copy again.
 */
export function markRejected(tx: ReplicaTx, entry: OutboxEntry, code: string, message: string): OutboxEntry {
  const rejected = { ...entry, status: 'rejected' as const, error: { code, message } };
  tx.updateOutbox(rejected);
  if (entry.entity === 'item') {
    const item = tx.getItem(entry.itemId);
    if (item) tx.putItem({ ...item, dirty: pendingItemEntries(tx, item.id).length > 0 });
  }
  return rejected;
}

/**
 * Replaces all of an item's queued entries with one new entry carrying the
 * item's current state (after a merge). Only the oldest entry can have been
 * sent, and its answer is known (a conflict), so dropping it loses nothing:
 * its content is part of what the new entry carries.
 */
export function requeueItem(tx: ReplicaTx, env: EditEnv, item: ItemRecord): void {
  for (const entry of pendingItemEntries(tx, item.id)) tx.removeOutbox(entry.seq);
  tx.putItem({ ...item, dirty: true });
  tx.appendOutbox({
    entity: 'item',
    op: item.deleted ? 'delete' : 'put',
    clientChangeId: env.newId(),
    collectionId: item.collectionId,
    itemId: item.id,
    content: item.deleted ? null : item.content,
    blob: item.deleted ? null : item.blob,
    attempts: 0,
    status: 'pending',
    error: null,
    createdAt: env.now(),
  });
}

/** Drops an item's queued entries because the server already has what they carry. */
export function settleItem(tx: ReplicaTx, item: ItemRecord): void {
  for (const entry of pendingItemEntries(tx, item.id)) tx.removeOutbox(entry.seq);
  tx.putItem({ ...item, dirty: false });
}
