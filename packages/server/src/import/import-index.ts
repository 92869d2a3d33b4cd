import type { Transaction } from 'kysely';
import { liveItemsOf } from '../store/import-lookups.js';
import type { Database } from '../store/schema.js';

/** A live item an import may match. */
export interface IndexedItem {
  itemId: string;
  seq: number;
  hash: string;
  /** Written by this import (a second card with the same UID in one file is not an update of the first). */
  fromThisImport: boolean;
  /** Where in the input, when fromThisImport. */
  source?: string;
}

/**
 * The live items of one collection by UID and by content hash, read once
 * inside the import's transaction and kept up to date as the import writes,
 * so matching is consistent with what the import itself adds.
 */
export interface CollectionIndex {
  byUid: Map<string, IndexedItem[]>;
  byHash: Map<string, IndexedItem>;
  byId: Map<string, IndexedItem>;
  add(item: IndexedItem, uid: string | null): void;
  /** `item` is the new head of `old`; `uid` is the UID they share (if any). */
  replace(old: IndexedItem, item: IndexedItem, uid: string | null): void;
}

export async function loadIndex(
  trx: Transaction<Database>,
  userId: string,
  collectionId: string,
): Promise<CollectionIndex> {
  const byUid = new Map<string, IndexedItem[]>();
  const byHash = new Map<string, IndexedItem>();
  const byId = new Map<string, IndexedItem>();
  const add = (item: IndexedItem, uid: string | null) => {
    // Ids are looked up only for items that were here before (an id this import used is never matched again).
    if (!item.fromThisImport) byId.set(item.itemId, item);
    if (!byHash.has(item.hash)) byHash.set(item.hash, item);
    if (uid !== null) byUid.set(uid, [...(byUid.get(uid) ?? []), item]);
  };
  const rows = await liveItemsOf(trx, userId, collectionId);
  for (const row of rows) {
    add({ itemId: row.id, seq: row.seq, hash: row.hash ?? '', fromThisImport: false }, uidOf(row.meta));
  }
  return {
    byUid,
    byHash,
    byId,
    add,
    replace(old, item, uid) {
      byId.delete(old.itemId);
      if (byHash.get(old.hash) === old) byHash.delete(old.hash);
      if (!byHash.has(item.hash)) byHash.set(item.hash, item);
      if (uid === null) return;
      const list = byUid.get(uid) ?? [];
      const at = list.indexOf(old);
      if (at === -1) list.push(item);
      else list[at] = item;
      byUid.set(uid, list);
    },
  };
}

/** The UID recorded in a revision's derived fields (contacts, events, tasks), or null. */
export function uidOf(meta: string | null): string | null {
  if (!meta) return null;
  const uid = (JSON.parse(meta) as { uid?: unknown }).uid;
  return typeof uid === 'string' && uid.length > 0 ? uid : null;
}
