import type { WireItem } from '@holdfast/protocol';
import { HoldfastError } from '../errors.js';
import * as api from '../http/api.js';
import { prepareContent } from '../replica/content-hash.js';
import type { ConflictRecord, ItemOutboxEntry, ItemRecord, ReplicaTx } from '../replica/store.js';
import { type MergeOutcome, mergeContent } from './content-merge.js';
import { pendingItemEntries, requeueItem, settleItem } from './outbox.js';
import type { SyncContext } from './sync-context.js';

type Resolution =
  | { kind: 'adopt'; remote: WireItem; conflict?: Omit<ConflictRecord, 'id' | 'createdAt'> }
  | { kind: 'requeue'; item: ItemRecord; conflict?: Omit<ConflictRecord, 'id' | 'createdAt'> };

/** The server's head of an item, deleted or not; null when the server has never heard of it. */
async function fetchHead(ctx: SyncContext, itemId: string): Promise<WireItem | null> {
  try {
    return await api.item(ctx.transport, itemId, ctx.signal);
  } catch (error) {
    if (error instanceof HoldfastError && error.code === 'not_found') return null;
    throw error;
  }
}

/** The content of the revision both sides started from, or null if it cannot be had. */
async function fetchBase(ctx: SyncContext, item: ItemRecord): Promise<unknown> {
  if (item.baseRevision === null) return null;
  try {
    const base = await api.revision(ctx.transport, item.id, item.baseRevision, ctx.signal);
    return base.op === 'delete' ? null : base.content;
  } catch (error) {
    if (error instanceof HoldfastError && error.code === 'not_found') return null;
    throw error;
  }
}

const remoteTime = (remote: WireItem) => Date.parse(remote.updatedAt) || 0;

function rebased(item: ItemRecord, remote: WireItem | null): ItemRecord {
  return {
    ...item,
    baseRevision: remote?.revision ?? null,
    baseHash: remote && !remote.deleted ? remote.hash : null,
  };
}

function conflictOf(
  item: ItemRecord,
  remote: WireItem | null,
  outcome: Pick<ConflictRecord, 'kind' | 'winner' | 'losingContent' | 'fields'>,
) {
  return {
    itemId: item.id,
    collectionId: item.collectionId,
    kind: outcome.kind,
    winner: outcome.winner,
    losingContent: outcome.losingContent,
    fields: outcome.fields,
    remoteRevision: remote?.revision ?? null,
  } satisfies Omit<ConflictRecord, 'id' | 'createdAt'>;
}

/**
 * Decides what becomes of an item whose queued change the server refused as
 * a conflict. An edit beats a concurrent delete, on either side; otherwise
 * the copies are merged (see `mergeContent`), and whatever lost is recorded.
 */
async function decide(ctx: SyncContext, item: ItemRecord, remote: WireItem | null): Promise<Resolution> {
  if (!remote) return { kind: 'requeue', item: rebased(item, null) };
  if (remote.deleted) {
    if (item.deleted) return { kind: 'adopt', remote };
    const conflict = conflictOf(item, remote, {
      kind: 'edit_over_delete',
      winner: 'local',
      losingContent: null,
      fields: [],
    });
    return { kind: 'requeue', item: rebased(item, remote), conflict };
  }
  if (item.deleted) {
    // The delete stands only if nobody changed the item since the copy that was deleted.
    if (remote.hash === item.baseHash) return { kind: 'requeue', item: rebased(item, remote) };
    const conflict = conflictOf(item, remote, {
      kind: 'edit_over_delete',
      winner: 'remote',
      losingContent: null,
      fields: [],
    });
    return { kind: 'adopt', remote, conflict };
  }
  if (remote.hash === item.hash) return { kind: 'adopt', remote };
  if (remote.hash === item.baseHash) return { kind: 'requeue', item: rebased(item, remote) };

  const type = ctx.store.transaction((tx) => tx.getCollection(item.collectionId))?.type;
  if (!type) throw new HoldfastError('not_found', `No collection ${item.collectionId} for item ${item.id}.`);
  const base = await fetchBase(ctx, item);
  const outcome = mergeContent(
    type,
    base,
    { content: item.content, blob: item.blob, time: item.updatedAt },
    { content: remote.content, blob: remote.blob, time: remoteTime(remote) },
  );
  let prepared: ReturnType<typeof prepareContent>;
  try {
    prepared = prepareContent(type, outcome.content, outcome.blob);
  } catch {
    // A merge result the schema refuses is never pushed; the newer copy wins whole instead.
    const fallback = mergeContent(
      'notes',
      null,
      { ...item, time: item.updatedAt },
      { ...remote, time: remoteTime(remote) },
    );
    return resolutionFor(item, remote, { ...fallback, kind: 'merge_failed' }, null);
  }
  return resolutionFor(item, remote, outcome, prepared);
}

function resolutionFor(
  item: ItemRecord,
  remote: WireItem,
  outcome: MergeOutcome,
  prepared: ReturnType<typeof prepareContent> | null,
): Resolution {
  const recorded = outcome.fields.length > 0 || outcome.losingContent !== null;
  const conflict = recorded ? conflictOf(item, remote, outcome) : undefined;
  const hash = prepared?.hash ?? (outcome.winner === 'remote' ? remote.hash : item.hash);
  if (hash === remote.hash) return { kind: 'adopt', remote, ...(conflict ? { conflict } : {}) };
  const merged: ItemRecord = {
    ...rebased(item, remote),
    content: prepared?.content ?? outcome.content,
    contentType: prepared?.contentType ?? item.contentType,
    blob: outcome.blob,
    hash,
  };
  return { kind: 'requeue', item: merged, ...(conflict ? { conflict } : {}) };
}

function adopt(tx: ReplicaTx, item: ItemRecord, remote: WireItem): void {
  settleItem(tx, {
    ...item,
    content: remote.deleted ? item.content : remote.content,
    contentType: remote.deleted ? item.contentType : remote.contentType,
    blob: remote.deleted ? item.blob : remote.blob,
    meta: remote.deleted ? item.meta : remote.meta,
    hash: remote.deleted ? item.hash : remote.hash,
    deleted: remote.deleted,
    baseRevision: remote.revision,
    baseHash: remote.deleted ? null : remote.hash,
    updatedAt: remoteTime(remote),
  });
}

/**
 * Settles one conflict answer for `entry` (the oldest queued change of its
 * item). Reads the server's head and, if needed, the base revision, decides
 * outside any transaction, then applies the decision in one transaction, but
 * only if the item was not edited meanwhile; otherwise the entry stays queued
 * and the next push gets the same conflict answer and decides again.
 * Returns whether the server's copy was adopted (`settled`), a merged or
 * rebased change was queued (`requeued`), or nothing was decided (`retry`).
 */
export async function resolveConflict(
  ctx: SyncContext,
  entry: ItemOutboxEntry,
): Promise<'settled' | 'requeued' | 'retry'> {
  const before = ctx.store.transaction((tx) => ({
    item: tx.getItem(entry.itemId),
    queued: pendingItemEntries(tx, entry.itemId).map((e) => e.seq),
  }));
  if (!before.item) {
    ctx.store.transaction((tx) => tx.removeOutbox(entry.seq));
    return 'settled';
  }
  const item = before.item;
  const remote = await fetchHead(ctx, entry.itemId);
  const resolution = await decide(ctx, item, remote);
  const written = ctx.store.transaction((tx) => {
    const now = tx.getItem(item.id);
    const queued = pendingItemEntries(tx, item.id).map((e) => e.seq);
    if (!now || now.updatedAt !== item.updatedAt || queued.join() !== before.queued.join()) return null;
    if (resolution.kind === 'adopt') adopt(tx, item, resolution.remote);
    else requeueItem(tx, ctx, resolution.item);
    if (!resolution.conflict) return { record: null };
    const record: ConflictRecord = { ...resolution.conflict, id: ctx.newId(), createdAt: ctx.now() };
    tx.addConflict(record);
    return { record };
  });
  if (!written) return 'retry';
  if (written.record) {
    ctx.result.conflicts++;
    ctx.events.emit('conflict', { conflict: written.record });
  }
  ctx.events.emit('changed', { source: 'merge', collections: [], items: [item.id] });
  return resolution.kind === 'adopt' ? 'settled' : 'requeued';
}
