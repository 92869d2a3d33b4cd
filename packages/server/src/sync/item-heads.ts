import { EMPTY_DIGEST, xorDigest } from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import type { ContactListing } from '../content/contact-listing.js';
import { readCollectionSummary, writeCollectionSummary } from '../store/collections.js';
import { upsertItemHeads } from '../store/items.js';
import type { Database } from '../store/schema.js';
import { indexContactHeads } from './contact-index.js';
import { itemDigest } from './summary-digest.js';

/** One item's new head, with what it replaces (for the collection summary). */
export interface HeadWrite {
  itemId: string;
  collectionId: string;
  seq: number;
  deleted: boolean;
  hash: string | null;
  size: number;
  /** The hash of the live head this replaces, or null if there was none (new or deleted). */
  previousLiveHash: string | null;
  /**
   * What the writer already holds, so the contact index need not read it
   * back: the collection's type, and the head revision's stored text.
   */
  known?: { type: string; content: string | null; listing?: ContactListing };
}

/**
 * Moves item heads to their new revisions and keeps each collection's live
 * count and digest in step, in the caller's transaction (which holds the log
 * lock, so the read-modify-write of the summaries cannot race), and the
 * contact search index with them.
 */
export async function writeItemHeads(
  trx: Transaction<Database>,
  userId: string,
  writes: HeadWrite[],
  now: number,
  /** Summaries the caller read under the same lock, in this transaction: not read again. */
  summaries?: ReadonlyMap<string, { item_count: number; digest: string }>,
): Promise<void> {
  if (writes.length === 0) return;
  const rows = writes.map((w) => ({
    user_id: userId,
    id: w.itemId,
    collection_id: w.collectionId,
    head_seq: w.seq,
    deleted: w.deleted ? 1 : 0,
    content_hash: w.deleted ? null : w.hash,
    size: w.deleted ? 0 : w.size,
    created_at: now,
    updated_at: now,
  }));
  await upsertItemHeads(trx, rows);
  await indexContactHeads(trx, userId, writes);

  const deltas = new Map<string, { count: number; digest: string }>();
  for (const w of writes) {
    const delta = deltas.get(w.collectionId) ?? { count: 0, digest: EMPTY_DIGEST };
    if (w.previousLiveHash !== null) {
      delta.count -= 1;
      delta.digest = xorInto(delta.digest, itemDigest(w.itemId, w.previousLiveHash));
    }
    if (!w.deleted) {
      delta.count += 1;
      delta.digest = xorInto(delta.digest, itemDigest(w.itemId, w.hash ?? ''));
    }
    deltas.set(w.collectionId, delta);
  }
  for (const [collectionId, delta] of deltas) {
    const current = summaries?.get(collectionId) ?? (await readCollectionSummary(trx, userId, collectionId));
    await writeCollectionSummary(trx, userId, collectionId, {
      item_count: current.item_count + delta.count,
      digest: xorDigest(current.digest, delta.digest),
    });
  }
}

/** XOR into an empty digest is the other digest: the common write of one item skips a hex round trip. */
function xorInto(digest: string, more: string): string {
  return digest === EMPTY_DIGEST ? more : xorDigest(digest, more);
}
