import { EMPTY_DIGEST, itemDigest, xorDigest } from '@holdfast/protocol';
import type { ReplicaTx } from './store.js';

/** A collection's count and digest as `GET /v1/summary` reports them. */
export interface LocalSummary {
  count: number;
  digest: string;
}

const PAGE = 2000;

/**
 * Per-collection count and digest of what the server has acknowledged,
 * computed the way `protocol/summary.ts` defines them. The server's view of
 * an item is its base: an item counts as live on the server when it has a
 * base hash, and contributes that hash. For a clean item that is its content;
 * for an item with changes still in the outbox it is the copy the server
 * last confirmed. Only collections the server has acknowledged are listed.
 */
export function replicaSummaries(tx: ReplicaTx): Map<string, LocalSummary> {
  const out = new Map<string, LocalSummary>();
  for (const collection of tx.listCollections()) {
    if (!collection.deleted && collection.revision !== null) out.set(collection.id, { count: 0, digest: EMPTY_DIGEST });
  }
  if (tx.itemTallies) {
    for (const [id, tally] of tx.itemTallies()) {
      const summary = out.get(id);
      if (summary) out.set(id, { count: tally.acked, digest: tally.digest });
    }
    return out;
  }
  let afterId: string | undefined;
  for (;;) {
    const page = tx.listItems({ includeDeleted: true, limit: PAGE, ...(afterId === undefined ? {} : { afterId }) });
    for (const item of page) {
      const summary = out.get(item.collectionId);
      if (!summary || item.baseHash === null) continue;
      summary.count++;
      summary.digest = xorDigest(summary.digest, itemDigest(item.id, item.baseHash));
    }
    if (page.length < PAGE) break;
    afterId = page[page.length - 1]?.id;
  }
  return out;
}
