import { type InventoryRequest, MAX_INVENTORY_ITEMS, MAX_PUSH_CHANGES, type PushChange } from '@holdfast/protocol';
import { HoldfastError, throwIfAborted } from '../errors.js';
import * as api from '../http/api.js';
import type { ItemRecord, ReplicaTx, ReseedProgress } from '../replica/store.js';
import { blobsOf, inParallel, uploadBlob } from './blob-transfer.js';
import { pendingItemEntries } from './outbox.js';
import type { SyncContext } from './sync-context.js';
import type { ReseedReport } from './sync-result.js';

interface Tally {
  generation: string;
  recreated: Set<string>;
  itemsUploaded: number;
  deletesResent: number;
  itemsRejected: number;
  blobsUploaded: number;
}

/**
 * Starts a re-seed, or picks up the one a crash interrupted. In the same
 * transaction as the record that a re-seed is under way, every base revision
 * is forgotten: they number revisions of a lineage the server no longer has,
 * and a push naming one could be taken as current by mistake. (Base hashes
 * stay, so a change queued before the loss can still be rebased safely.)
 */
export function beginReseed(ctx: SyncContext, reason: ReseedProgress['reason']): ReseedProgress {
  return ctx.store.transaction((tx) => {
    const state = tx.getState();
    if (state.reseed) return state.reseed;
    const progress: ReseedProgress = {
      reason,
      previousGeneration: state.generation,
      startedAt: ctx.now(),
      snapshotPath: null,
      unsafeItems: aboveWatermark(tx, state.backupWatermark),
    };
    tx.setState({ reseed: progress, backupWatermark: null });
    tx.clearBaseRevisions();
    return progress;
  });
}

/**
 * Items the server acknowledged at a revision above the last backup watermark
 * it reported: a server restored from its backups may lack them, or hold an
 * older copy stamped later than the device's (clocks differ), so they go back
 * whatever the timestamps say. Read before base revisions are forgotten.
 */
function aboveWatermark(tx: ReplicaTx, watermark: number | null): string[] {
  if (watermark === null) return [];
  const ids: string[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = tx.listItems({
      includeDeleted: true,
      limit: MAX_INVENTORY_ITEMS,
      ...(afterId === undefined ? {} : { afterId }),
    });
    for (const item of page) if (item.baseRevision !== null && item.baseRevision > watermark) ids.push(item.id);
    if (page.length < MAX_INVENTORY_ITEMS) return ids;
    afterId = page[page.length - 1]?.id;
  }
}

/**
 * Refills a server that lost data from this replica, then points the replica
 * at the server's current lineage:
 *  (a) a recovery copy of the whole replica is written locally first;
 *  (b) an inventory of live collections and items (paged) tells the server
 *      what the device holds, and the server recreates lost collections;
 *  (c) blobs the server lacks are uploaded, then every item it lacks or holds
 *      differently (and every item with unsent edits) is pushed with
 *      `reseed: true`, which the server merges rather than overwrites;
 *  (d) the server is told the counts for its incident ledger;
 *  (e) only then does the cursor restart on the new lineage, so the next pull
 *      is a full pull that merges and never deletes except by tombstone.
 * Every step is idempotent, so a crash anywhere re-runs the re-seed from (b).
 */
export async function reseed(ctx: SyncContext, progress: ReseedProgress): Promise<ReseedReport> {
  ctx.events.emit('reseed', {
    phase: 'started',
    reason: progress.reason,
    previousGeneration: progress.previousGeneration,
  });
  let snapshotPath = progress.snapshotPath;
  if (snapshotPath === null) {
    const path = await ctx.store.snapshot(ctx.settings.recoveryDirectory);
    ctx.store.transaction((tx) => {
      const reseed = tx.getState().reseed;
      if (reseed) tx.setState({ reseed: { ...reseed, snapshotPath: path } });
    });
    snapshotPath = path;
  }
  ctx.events.emit('reseed', { phase: 'snapshot', path: snapshotPath });

  const tally: Tally = {
    generation: '',
    recreated: new Set(),
    itemsUploaded: 0,
    deletesResent: 0,
    itemsRejected: 0,
    blobsUploaded: 0,
  };
  const collections = ctx.store.transaction((tx) =>
    tx
      .listCollections()
      .filter((c) => !c.deleted)
      .map(({ id, type, name, description, color }) => ({ id, type, name, description, color })),
  );
  const unsafe = new Set(progress.unsafeItems ?? []);
  let afterId: string | undefined;
  for (;;) {
    throwIfAborted(ctx.signal);
    const page = ctx.store.transaction((tx) =>
      tx.listItems({ limit: MAX_INVENTORY_ITEMS, ...(afterId === undefined ? {} : { afterId }) }),
    );
    await reseedPage(ctx, collections, page, tally, unsafe);
    if (page.length < MAX_INVENTORY_ITEMS) break;
    afterId = page[page.length - 1]?.id;
  }

  await resendTombstones(ctx, collections, tally, unsafe);

  const counts = {
    previousGeneration: progress.previousGeneration,
    collectionsRecreated: tally.recreated.size,
    itemsUploaded: tally.itemsUploaded,
    blobsUploaded: tally.blobsUploaded,
    deletesResent: tally.deletesResent,
  };
  await api.reseedComplete(ctx.transport, counts, ctx.signal);
  ctx.store.transaction((tx) => tx.setState({ cursor: null, generation: tally.generation, reseed: null }));
  ctx.events.emit('reseed', { phase: 'complete', generation: tally.generation, ...counts });
  return {
    reason: progress.reason,
    generation: tally.generation,
    snapshotPath,
    itemsRejected: tally.itemsRejected,
    ...counts,
  };
}

async function reseedPage(
  ctx: SyncContext,
  collections: InventoryRequest['collections'],
  page: ItemRecord[],
  tally: Tally,
  unsafe: Set<string>,
): Promise<void> {
  const blobs = new Set<string>();
  for (const item of page) {
    for (const sha of blobsOf(item.content, item.blob)) if (await ctx.store.blobs.has(sha)) blobs.add(sha);
  }
  const inventory = await api.inventory(
    ctx.transport,
    {
      collections,
      items: page
        .filter((i) => i.hash !== null)
        .map((i) => ({ collectionId: i.collectionId, itemId: i.id, hash: i.hash as string })),
      blobs: [...blobs],
    },
    ctx.signal,
  );
  tally.generation = inventory.generation;
  for (const id of inventory.recreatedCollections) tally.recreated.add(id);
  const missing = new Set(inventory.missingItems);
  const different = new Set(inventory.differentItems);
  ctx.events.emit('reseed', {
    phase: 'inventory',
    items: page.length,
    missing: missing.size,
    different: different.size,
    missingBlobs: inventory.missingBlobs.length,
  });

  let uploadedBlobs = 0;
  await inParallel(inventory.missingBlobs, ctx.settings.blobConcurrency, async (sha) => {
    if (await uploadBlob(ctx, sha)) uploadedBlobs++;
  });
  tally.blobsUploaded += uploadedBlobs;
  ctx.events.emit('reseed', { phase: 'blobs', uploaded: uploadedBlobs });

  const uploads = await worthUploading(ctx, page, missing, different, unsafe);
  const size = Math.min(ctx.settings.pushBatchSize, MAX_PUSH_CHANGES);
  for (let i = 0; i < uploads.length; i += size) {
    throwIfAborted(ctx.signal);
    await uploadItems(ctx, uploads.slice(i, i + size), tally);
  }
}

/**
 * Which items of a page go back to the server: those it lacks, those with
 * edits it has not acknowledged, those it acknowledged above its backup
 * watermark and holds differently, and those it holds differently where the
 * device's copy is the newer one. An unedited copy older than the server's
 * (another device already re-seeded or changed the item) stays home; the full
 * pull that follows brings the newer copy, and the server's re-seed merge
 * never sees the stale one.
 */
async function worthUploading(
  ctx: SyncContext,
  page: ItemRecord[],
  missing: Set<string>,
  different: Set<string>,
  unsafe: Set<string>,
): Promise<ItemRecord[]> {
  const keep = new Set<string>();
  const check: ItemRecord[] = [];
  for (const item of page) {
    if (missing.has(item.id) || item.dirty || (unsafe.has(item.id) && different.has(item.id))) keep.add(item.id);
    else if (different.has(item.id)) check.push(item);
  }
  await inParallel(check, ctx.settings.blobConcurrency, async (item) => {
    const head = await api.item(ctx.transport, item.id, ctx.signal).catch((error: unknown) => {
      if (error instanceof HoldfastError && error.code === 'not_found') return null;
      throw error;
    });
    if (!head || (Date.parse(head.updatedAt) || 0) <= item.updatedAt) keep.add(item.id);
  });
  return page.filter((item) => keep.has(item.id));
}

/**
 * Pushes items with `reseed: true`. Fresh clientChangeIds are safe here: the
 * server keeps an identical copy as it is and merges a different one, so
 * sending an item twice changes nothing the second time. An acknowledged item
 * no longer needs the changes queued for it when it was read (the upload
 * carried them), unless it was edited while the upload was in flight.
 */
async function uploadItems(ctx: SyncContext, items: ItemRecord[], tally: Tally): Promise<void> {
  const changes: PushChange[] = items.map((item) => ({
    clientChangeId: ctx.newId(),
    collectionId: item.collectionId,
    itemId: item.id,
    op: 'put',
    baseRevision: null,
    content: item.content,
    ...(item.blob ? { blob: item.blob } : {}),
    reseed: true,
  }));
  const response = await api.push(ctx.transport, changes, ctx.signal);
  let rejected = 0;
  ctx.store.transaction((tx) => {
    response.results.forEach((result, index) => {
      const sent = items[index];
      if (!sent) return;
      if (result.status !== 'applied') {
        if (result.status === 'rejected') rejected++;
        return;
      }
      tally.itemsUploaded++;
      const now = tx.getItem(sent.id);
      if (!now) return;
      const unchanged = now.updatedAt === sent.updatedAt && now.deleted === sent.deleted;
      if (unchanged) for (const entry of pendingItemEntries(tx, sent.id)) tx.removeOutbox(entry.seq);
      tx.putItem({
        ...now,
        baseRevision: result.revision,
        baseHash: sent.hash,
        dirty: pendingItemEntries(tx, sent.id).length > 0,
      });
    });
  });
  tally.itemsRejected += rejected;
  ctx.events.emit('reseed', { phase: 'upload', uploaded: tally.itemsUploaded, rejected: tally.itemsRejected });
}

/**
 * Deletes are changes too: a tombstone this device holds for an item the
 * restored server has live again is re-sent, as an ordinary delete against
 * the server's current head, when the device's delete is newer than that
 * head. A newer edit on the server (another device revived the item) wins,
 * as an edit always beats a concurrent delete.
 */
async function resendTombstones(
  ctx: SyncContext,
  collections: InventoryRequest['collections'],
  tally: Tally,
  unsafe: Set<string>,
) {
  let afterId: string | undefined;
  for (;;) {
    throwIfAborted(ctx.signal);
    const page = ctx.store.transaction((tx) =>
      tx.listItems({ includeDeleted: true, limit: MAX_INVENTORY_ITEMS, ...(afterId === undefined ? {} : { afterId }) }),
    );
    const tombstones = page.filter((item) => item.deleted && !item.dirty);
    if (tombstones.length > 0) await resendPage(ctx, collections, tombstones, tally, unsafe);
    if (page.length < MAX_INVENTORY_ITEMS) return;
    afterId = page[page.length - 1]?.id;
  }
}

async function resendPage(
  ctx: SyncContext,
  collections: InventoryRequest['collections'],
  tombstones: ItemRecord[],
  tally: Tally,
  unsafe: Set<string>,
): Promise<void> {
  const inventory = await api.inventory(
    ctx.transport,
    {
      collections,
      items: tombstones.map((i) => ({ collectionId: i.collectionId, itemId: i.id, hash: '', deleted: true })),
      blobs: [],
    },
    ctx.signal,
  );
  const liveOnServer = new Set(inventory.differentItems);
  const changes: PushChange[] = [];
  await inParallel(
    tombstones.filter((item) => liveOnServer.has(item.id)),
    ctx.settings.blobConcurrency,
    async (item) => {
      const head = await api.item(ctx.transport, item.id, ctx.signal).catch((error: unknown) => {
        if (error instanceof HoldfastError && error.code === 'not_found') return null;
        throw error;
      });
      if (!head || head.deleted) return;
      // A delete acknowledged above the watermark may be what the restored server lost: it goes back regardless.
      if (!unsafe.has(item.id) && (Date.parse(head.updatedAt) || 0) > item.updatedAt) return;
      changes.push({
        clientChangeId: ctx.newId(),
        collectionId: item.collectionId,
        itemId: item.id,
        op: 'delete',
        baseRevision: head.revision,
      });
    },
  );
  // Deletions this device had already made before the server lost them: the user decided them then.
  for (let i = 0; i < changes.length; i += MAX_PUSH_CHANGES) {
    const slice = changes.slice(i, i + MAX_PUSH_CHANGES);
    const response = await api.push(ctx.transport, slice, ctx.signal, null, true);
    tally.deletesResent += response.results.filter((r) => r.status === 'applied').length;
  }
}
