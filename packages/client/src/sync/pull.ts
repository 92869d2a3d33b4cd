import type { CollectionType, WireRevision } from '@holdfast/protocol';
import { throwIfAborted } from '../errors.js';
import * as api from '../http/api.js';
import type { CollectionFields, ItemRecord, PendingMassChange, ReplicaTx } from '../replica/store.js';
import { blobsOf, downloadBlobs } from './blob-transfer.js';
import { isBlanking, massChangeLimit } from './mass-change.js';
import type { SyncContext } from './sync-context.js';

/**
 * A run of feed revisions reduced to each entity's last revision in it.
 * Applying only the last one is equivalent (every revision is a full state)
 * and keeps an item that was deleted and restored within the run from ever
 * appearing deleted.
 */
interface Chunk {
  collections: Map<string, WireRevision>;
  items: Map<string, WireRevision>;
  revisions: number;
  cursor: string;
  generation: string;
  hasMore: boolean;
  /** The server's backup watermark as of the last page; undefined from servers that do not send it. */
  backupWatermark: number | null | undefined;
}

interface Plan {
  deletes: number;
  blanks: number;
  blobs: Map<string, string>;
}

const timeOf = (revision: WireRevision) => Date.parse(revision.at) || 0;

/** Whether a feed revision may replace the local copy: never over unsent local edits, never backwards. */
function applies(local: ItemRecord | null, revision: WireRevision): boolean {
  if (!local) return revision.op === 'put';
  if (local.dirty) return false;
  return local.baseRevision === null || revision.revision >= local.baseRevision;
}

/** A change-feed page from `cursor`: the one sent ahead (if it was for this cursor), else a new request. */
function nextPage(ctx: SyncContext, cursor: string | null) {
  const early = ctx.prefetch;
  if (early?.changes) {
    const changes = early.changes;
    early.changes = null;
    if (early.cursor === cursor) return changes;
  }
  return api.changes(ctx.transport, cursor, ctx.settings.pullPageSize, ctx.signal);
}

async function fetchChunk(ctx: SyncContext, cursor: string | null): Promise<Chunk> {
  const chunk: Chunk = {
    collections: new Map(),
    items: new Map(),
    revisions: 0,
    cursor: '',
    generation: '',
    hasMore: false,
    backupWatermark: undefined,
  };
  let at = cursor;
  do {
    throwIfAborted(ctx.signal);
    const page = await nextPage(ctx, at);
    for (const revision of page.changes) {
      if (revision.entity === 'collection') chunk.collections.set(revision.collectionId, revision);
      else if (revision.itemId !== null) chunk.items.set(revision.itemId, revision);
    }
    chunk.revisions += page.changes.length;
    chunk.cursor = page.cursor;
    chunk.generation = page.generation;
    chunk.hasMore = page.hasMore;
    chunk.backupWatermark = page.backupWatermark;
    at = page.cursor;
  } while (chunk.hasMore && chunk.revisions < ctx.settings.pullChunkRevisions);
  return chunk;
}

function typeOf(tx: ReplicaTx, chunk: Chunk, collectionId: string): CollectionType | null {
  const fromFeed = chunk.collections.get(collectionId)?.content as Partial<CollectionFields> | undefined;
  return fromFeed?.type ?? tx.getCollection(collectionId)?.type ?? null;
}

/** What applying `chunk` would do to live local items, and which blobs it needs. */
function plan(tx: ReplicaTx, chunk: Chunk): Plan {
  const out: Plan = { deletes: 0, blanks: 0, blobs: new Map() };
  for (const [itemId, revision] of chunk.items) {
    const local = tx.getItem(itemId);
    if (!applies(local, revision)) continue;
    if (revision.op === 'put') for (const sha of blobsOf(revision.content, revision.blob)) out.blobs.set(sha, itemId);
    if (!local || local.deleted) continue;
    if (revision.op === 'delete') out.deletes++;
    else {
      const type = typeOf(tx, chunk, revision.collectionId);
      if (type && isBlanking(type, local.content, revision.content)) out.blanks++;
    }
  }
  return out;
}

function applyChunk(tx: ReplicaTx, chunk: Chunk): string[] {
  for (const [id, revision] of chunk.collections) {
    if (tx.listOutbox({ collectionId: id, status: 'pending' }).some((e) => e.entity === 'collection')) continue;
    const fields = revision.content as CollectionFields;
    const local = tx.getCollection(id);
    if (local?.revision != null && revision.revision < local.revision) continue;
    tx.putCollection({
      id,
      type: fields.type,
      name: fields.name,
      description: fields.description ?? '',
      color: fields.color ?? null,
      revision: revision.revision,
      deleted: revision.op === 'delete',
      updatedAt: timeOf(revision),
    });
  }
  const applied: string[] = [];
  for (const [itemId, revision] of chunk.items) {
    const local = tx.getItem(itemId);
    if (!applies(local, revision)) continue;
    applied.push(itemId);
    if (revision.op === 'delete') {
      // The explicit tombstone is the only thing that deletes a local item; its last content stays in the replica.
      tx.putItem({
        ...(local as ItemRecord),
        deleted: true,
        dirty: false,
        baseRevision: revision.revision,
        baseHash: null,
        updatedAt: timeOf(revision),
      });
      continue;
    }
    tx.putItem({
      id: itemId,
      collectionId: revision.collectionId,
      content: revision.content,
      contentType: revision.contentType,
      blob: revision.blob,
      meta: revision.meta,
      hash: revision.hash,
      baseRevision: revision.revision,
      baseHash: revision.hash,
      dirty: false,
      deleted: false,
      updatedAt: timeOf(revision),
    });
  }
  tx.setState({
    cursor: chunk.cursor,
    generation: chunk.generation,
    pendingMassChange: null,
    ...(chunk.backupWatermark === undefined ? {} : { backupWatermark: chunk.backupWatermark }),
  });
  return applied;
}

function contentBytes(chunk: Chunk): number {
  let bytes = 0;
  for (const revision of chunk.items.values()) {
    const content = revision.content;
    if (content !== null && content !== undefined) {
      bytes += Buffer.byteLength(typeof content === 'string' ? content : JSON.stringify(content));
    }
  }
  return bytes;
}

/**
 * Pulls the change feed from the replica's cursor to the head. Pages are
 * fetched in chunks; each chunk is checked by the mass-change guard, its
 * blobs are downloaded into the cache, and then it is applied together with
 * its cursor in one transaction, so a crash resumes exactly after the last
 * applied chunk and re-downloads no blob it already stored.
 *
 * Returns the pending mass change if the guard stopped the pull: nothing of
 * the offending chunk was applied and the cursor did not move.
 */
export async function pull(ctx: SyncContext, confirmMassChange: boolean): Promise<PendingMassChange | null> {
  const liveItems = ctx.store.transaction((tx) => tx.countItems());
  const limit = massChangeLimit(liveItems, ctx.settings.massChange);
  let destructive = 0;
  const progress = { revisions: 0, bytes: 0, blobs: 0 };
  for (;;) {
    const cursor = ctx.store.transaction((tx) => tx.getState().cursor);
    const chunk = await fetchChunk(ctx, cursor);
    if (chunk.hasMore) {
      // Read ahead: the server prepares the next page while this chunk is checked, its blobs fetched and applied.
      const next = api.changes(ctx.transport, chunk.cursor, ctx.settings.pullPageSize, ctx.signal);
      next.catch(() => {});
      ctx.prefetch = { cursor: chunk.cursor, changes: next, summary: ctx.prefetch?.summary ?? null };
    }
    const planned = ctx.store.transaction((tx) => plan(tx, chunk));
    const damage = planned.deletes + planned.blanks;
    if (!confirmMassChange && destructive + damage > limit) {
      const pending: PendingMassChange = {
        deletes: planned.deletes,
        blanks: planned.blanks,
        liveItems,
        limit,
        detectedAt: ctx.now(),
      };
      ctx.store.transaction((tx) => tx.setState({ pendingMassChange: pending }));
      return pending;
    }
    // The replica does not change while the chunk's blobs download: count its live items once, not per blob.
    const itemsNow = planned.blobs.size > 0 ? ctx.store.transaction((tx) => tx.countItems()) : 0;
    await downloadBlobs(ctx, planned.blobs, (bytes) => {
      progress.bytes += bytes;
      progress.blobs++;
      emitProgress(ctx, 'blobs', progress, itemsNow);
    });
    const applied = ctx.store.transaction((tx) => applyChunk(tx, chunk));
    destructive += damage;
    progress.revisions += chunk.revisions;
    progress.bytes += contentBytes(chunk);
    ctx.result.pulled += chunk.revisions;
    if (applied.length > 0 || chunk.collections.size > 0) {
      ctx.events.emit('changed', { source: 'pull', collections: [...chunk.collections.keys()], items: applied });
    }
    emitProgress(ctx, 'items', progress);
    if (!chunk.hasMore) return null;
  }
}

function emitProgress(
  ctx: SyncContext,
  phase: 'items' | 'blobs',
  p: { revisions: number; bytes: number; blobs: number },
  items = ctx.store.transaction((tx) => tx.countItems()),
) {
  ctx.events.emit('progress', { phase, items, itemsTotal: ctx.itemsTotal, ...p });
}
