import { orderedId } from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import { createSlicer } from '../slices.js';
import { itemStates } from '../store/import-lookups.js';
import type { NewRevision } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { type HeadWrite, writeItemHeads } from '../sync/item-heads.js';
import type { Append } from '../sync/write-transaction.js';
import { type CreatedCollection, createDestinationResolver } from './import-destinations.js';
import { type CollectionIndex, type IndexedItem, loadIndex } from './import-index.js';
import type { ImportReportItem, PreparedItem } from './import-report.js';

const CHUNK = 500;

export interface WriteOwner {
  userId: string;
  deviceId: string | null;
}

interface Decision {
  status: 'created' | 'updated' | 'skipped';
  itemId: string;
  reason?: string;
  /** For writes: the item's current head (null for a new item) and its live hash (null if none). */
  baseSeq?: number | null;
  previousLiveHash?: string | null;
  replaces?: IndexedItem;
  /** A new random id. */
  fresh?: boolean;
}

/**
 * Writes prepared items inside the caller's transaction, in chunks. Each item
 * is matched against what the destination collection holds (and what this import
 * already wrote): same id from a bundle, then identical content (skipped),
 * then the same UID (updated), else created. Returns a report entry per item.
 */
export async function writePrepared(
  trx: Transaction<Database>,
  append: Append,
  owner: WriteOwner,
  importId: string,
  now: number,
  prepared: AsyncIterable<PreparedItem>,
  collectionId: string | undefined,
): Promise<{ items: ImportReportItem[]; created: CreatedCollection[] }> {
  const destinations = createDestinationResolver(trx, append, owner, now, collectionId);
  const indexes = new Map<string, CollectionIndex>();
  const usedIds = new Set<string>();
  const report: ImportReportItem[] = [];

  const indexFor = async (id: string) => {
    let index = indexes.get(id);
    if (!index) {
      index = await loadIndex(trx, owner.userId, id);
      indexes.set(id, index);
    }
    return index;
  };

  const processChunk = async (chunk: PreparedItem[]) => {
    const existing = await existingItems(
      trx,
      owner.userId,
      chunk.flatMap((p) => (p.itemId ? [p.itemId] : [])),
    );
    const writes: { p: PreparedItem; collectionId: string; decision: Decision; uid: string | null }[] = [];
    for (const p of chunk) {
      const destination = await destinations.destinationOf(p.type, p.collection);
      if ('reason' in destination) {
        report.push({ source: p.source, status: 'rejected', type: p.type, reason: destination.reason });
        continue;
      }
      const index = await indexFor(destination.collectionId);
      const uid = typeof p.meta?.uid === 'string' && p.meta.uid.length > 0 ? p.meta.uid : null;
      const decision = decide(p, destination.collectionId, index, existing, usedIds, uid);
      // A freshly made id can name nothing else; only ids taken from the input or the account can repeat.
      if (!decision.fresh) usedIds.add(decision.itemId);
      report.push({
        source: p.source,
        status: decision.status,
        type: p.type,
        itemId: decision.itemId,
        collectionId: destination.collectionId,
        ...(p.meta && 'uid' in p.meta ? { uid } : {}),
        ...(decision.reason ? { reason: decision.reason } : {}),
        ...(p.encoding ? { encoding: p.encoding } : {}),
      });
      if (decision.status === 'skipped') continue;
      const indexed: IndexedItem = {
        itemId: decision.itemId,
        seq: -1,
        hash: p.hash,
        fromThisImport: true,
        source: p.source,
      };
      if (decision.replaces) index.replace(decision.replaces, indexed, uid);
      else index.add(indexed, uid);
      writes.push({ p, collectionId: destination.collectionId, decision, uid });
    }
    const seqs = await append(
      writes.map(({ p, collectionId, decision }) => revision(p, collectionId, decision, owner, importId, now)),
    );
    const heads: HeadWrite[] = writes.map(({ p, collectionId, decision }, i) => ({
      itemId: decision.itemId,
      collectionId,
      seq: seqs[i] as number,
      deleted: false,
      hash: p.hash,
      size: p.size,
      previousLiveHash: decision.previousLiveHash ?? null,
    }));
    await writeItemHeads(trx, owner.userId, heads, now);
  };

  let chunk: PreparedItem[] = [];
  const pause = createSlicer();
  for await (const p of prepared) {
    await pause();
    chunk.push(p);
    if (chunk.length >= CHUNK) {
      await processChunk(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await processChunk(chunk);
  return { items: report, created: destinations.created };
}

type Existing = Map<string, { collectionId: string; deleted: boolean; seq: number; hash: string | null }>;

function decide(
  p: PreparedItem,
  collectionId: string,
  index: CollectionIndex,
  existing: Existing,
  usedIds: Set<string>,
  uid: string | null,
): Decision {
  // A bundle's item id names the same item when it is in the same collection.
  let freshId: string | null = null;
  if (p.itemId && !usedIds.has(p.itemId)) {
    const row = existing.get(p.itemId);
    if (!row) freshId = p.itemId;
    else if (row.collectionId === collectionId) {
      if (!row.deleted && row.hash === p.hash)
        return { status: 'skipped', itemId: p.itemId, reason: 'already here, unchanged' };
      if (row.deleted)
        return {
          status: 'created',
          itemId: p.itemId,
          baseSeq: row.seq,
          previousLiveHash: null,
          reason: 'brought back (it had been deleted)',
        };
      const old = index.byId.get(p.itemId);
      return {
        status: 'updated',
        itemId: p.itemId,
        baseSeq: row.seq,
        previousLiveHash: row.hash,
        reason: `replaced revision ${row.seq} (kept in its history)`,
        ...(old ? { replaces: old } : {}),
      };
    }
  }
  const same = index.byHash.get(p.hash);
  if (same) {
    const where = same.fromThisImport
      ? `the same as ${same.source} of this import`
      : `identical to item ${same.itemId}`;
    return { status: 'skipped', itemId: same.itemId, reason: where };
  }
  const matches = uid === null ? [] : (index.byUid.get(uid) ?? []);
  const earlier = matches.filter((m) => !m.fromThisImport);
  if (earlier.length === 1 && matches.length === 1) {
    const old = earlier[0] as IndexedItem;
    return {
      status: 'updated',
      itemId: old.itemId,
      baseSeq: old.seq,
      previousLiveHash: old.hash,
      reason: `same UID; replaced revision ${old.seq} (kept in its history)`,
      replaces: old,
    };
  }
  const itemId = freshId ?? orderedId();
  const fresh = freshId === null;
  const note =
    matches.length > 0
      ? `${matches.length} item(s) with this UID already (${matches.map((m) => m.source ?? m.itemId).join(', ')}); kept as a separate item`
      : undefined;
  return {
    status: 'created',
    itemId,
    baseSeq: null,
    previousLiveHash: null,
    ...(note ? { reason: note } : {}),
    ...(fresh ? { fresh } : {}),
  };
}

async function existingItems(trx: Transaction<Database>, userId: string, ids: string[]): Promise<Existing> {
  const out: Existing = new Map();
  if (ids.length === 0) return out;
  const rows = await itemStates(trx, userId, [...new Set(ids)]);
  for (const row of rows) {
    out.set(row.id, {
      collectionId: row.collection_id,
      deleted: row.deleted === 1,
      seq: row.head_seq,
      hash: row.content_hash,
    });
  }
  return out;
}

function revision(
  p: PreparedItem,
  collectionId: string,
  decision: Decision,
  owner: WriteOwner,
  importId: string,
  now: number,
): NewRevision {
  return {
    user_id: owner.userId,
    entity: 'item',
    op: 'put',
    collection_id: collectionId,
    item_id: decision.itemId,
    device_id: owner.deviceId,
    origin: 'import',
    content_type: p.contentType,
    content: p.text,
    blob_sha256: p.blob?.sha256 ?? null,
    blob_content_type: p.blob?.contentType ?? null,
    meta: p.meta ? JSON.stringify(p.meta) : null,
    content_hash: p.hash,
    size: p.size,
    base_seq: decision.baseSeq ?? null,
    client_change_id: `import:${importId}`,
    created_at: now,
  };
}
