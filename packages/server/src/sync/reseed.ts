import type { CollectionType, InventoryRequest, InventoryResponse, SummaryResponse } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { appendLedgerEntry } from '../ledger/ledger.js';
import { userBlobSizes } from '../store/blob-index.js';
import { collectionDeletedFlags, liveCollectionSummaries, updateCollectionRow } from '../store/collections.js';
import { listDevices } from '../store/devices.js';
import { readItemHeads } from '../store/items.js';
import { readGeneration } from '../store/meta.js';
import { countDeviceRevisions, readHead } from '../store/revision-log.js';
import { collectionRevision, insertCollectionRow } from './collections.js';
import { noteReseeded } from './recovery.js';
import { writeTransaction } from './write-transaction.js';

/** Live collections with their item count and digest, for devices to compare with their replica. */
export async function readSummary(ctx: Context, caller: Caller): Promise<SummaryResponse> {
  const generation = await readGeneration(ctx.db);
  const head = await readHead(ctx.db);
  const rows = await liveCollectionSummaries(ctx.db, caller.userId);
  return {
    generation,
    head,
    collections: rows.map((r) => ({ id: r.id, type: r.type as CollectionType, count: r.item_count, digest: r.digest })),
  };
}

/**
 * Compares a device's inventory with what the server holds after a loss:
 * recreates collections the server lost (as re-seed revisions) and names the
 * items and blobs the device must upload. Nothing the server holds is removed.
 */
export async function takeInventory(
  ctx: Context,
  caller: Caller,
  inventory: InventoryRequest,
): Promise<InventoryResponse> {
  const now = ctx.now();
  const recreatedCollections = await writeTransaction(ctx, caller, async (trx, append) => {
    const existing = await collectionDeletedFlags(
      trx,
      caller.userId,
      inventory.collections.map((c) => c.id),
    );
    const recreated: string[] = [];
    for (const c of inventory.collections) {
      const state = existing.get(c.id);
      if (state === 0) continue;
      const fields = { type: c.type, name: c.name, description: c.description, color: c.color };
      const [seq] = await append([collectionRevision(caller, c.id, 'put', fields, now, 'reseed')]);
      if (state === undefined) {
        await insertCollectionRow(trx, caller.userId, c.id, fields, seq as number, now);
      } else {
        // Deleted here but alive on the device: an edit wins over a delete the device never saw.
        await updateCollectionRow(trx, caller.userId, c.id, {
          ...fields,
          deleted: 0,
          head_seq: seq as number,
          updated_at: now,
        });
      }
      recreated.push(c.id);
    }
    return recreated;
  });

  const heads = await readItemHeads(
    ctx.db,
    caller.userId,
    inventory.items.map((i) => i.itemId),
  );
  const missingItems: string[] = [];
  const differentItems: string[] = [];
  for (const item of inventory.items) {
    const head = heads.get(item.itemId);
    if (item.deleted) {
      if (head && head.deleted === 0) differentItems.push(item.itemId);
      continue;
    }
    if (!head) missingItems.push(item.itemId);
    else if (head.deleted === 1 || head.content_hash !== item.hash) differentItems.push(item.itemId);
  }
  const haveBlobs = await userBlobSizes(ctx.db, caller.userId, inventory.blobs);
  return {
    generation: await readGeneration(ctx.db),
    recreatedCollections,
    missingItems,
    differentItems,
    missingBlobs: inventory.blobs.filter((sha) => !haveBlobs.has(sha)),
  };
}

export interface ReseedReport {
  previousGeneration: string | null;
  collectionsRecreated: number;
  itemsUploaded: number;
  blobsUploaded: number;
  /** Deletes the server had lost, re-sent from the device's tombstones. */
  deletesResent: number;
}

/**
 * Records a finished re-seed in the incident ledger, with the device's counts
 * and the server's own count of re-seeded revisions from that device, so the
 * user can see what was recovered and from where.
 */
export async function completeReseed(ctx: Context, caller: Caller, report: ReseedReport) {
  const reseeded = await countDeviceRevisions(ctx.db, caller.userId, caller.deviceId, 'reseed');
  const generation = await readGeneration(ctx.db);
  const live = (await listDevices(ctx.db, caller.userId)).filter((d) => d.revoked_at === null).map((d) => d.id);
  let released = false;
  const row = await writeTransaction(ctx, caller, async (trx) => {
    released = await noteReseeded(trx, caller.userId, caller.deviceId, live);
    return appendLedgerEntry(
      trx,
      {
        kind: 'reseed',
        userId: caller.userId,
        summary: `Device re-uploaded ${report.itemsUploaded} items, ${report.blobsUploaded} blobs, ${report.collectionsRecreated} collections and ${report.deletesResent} deletes the server had lost.`,
        details: {
          ...report,
          deviceId: caller.deviceId,
          generation,
          reseededRevisionsFromDevice: reseeded,
        },
      },
      ctx.now(),
    );
  });
  if (released) ctx.log.warn({ userId: caller.userId }, 'every device re-seeded: DAV clients are served again');
  ctx.log.warn({ userId: caller.userId, deviceId: caller.deviceId, items: report.itemsUploaded }, 'reseed recorded');
  return row;
}
