import type { OutboxEntry, ReplicaTx } from './store.js';

/**
 * Runs a transaction body and refuses asynchronous ones: a body that awaited
 * would let other code run mid-transaction and commit half of its work.
 */
export function runSynchronously<T>(fn: (tx: ReplicaTx) => T, tx: ReplicaTx): T {
  const result = fn(tx);
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    // Nothing the body does after its first await can be part of this transaction.
    (result as unknown as Promise<unknown>).catch(() => {});
    throw new Error('Replica transaction functions must be synchronous; this one returned a promise.');
  }
  return result;
}

/** The filter `listOutbox` applies, shared by the backends. */
export function outboxMatches(
  entry: OutboxEntry,
  query: { afterSeq?: number; itemId?: string; collectionId?: string; status?: 'pending' | 'rejected' },
): boolean {
  if (query.afterSeq !== undefined && entry.seq <= query.afterSeq) return false;
  if (query.itemId !== undefined && entry.itemId !== query.itemId) return false;
  if (query.collectionId !== undefined && entry.collectionId !== query.collectionId) return false;
  if (query.status !== undefined && entry.status !== query.status) return false;
  return true;
}
