import type { SummaryResponse } from '@holdfast/protocol';
import { HoldfastError } from '../errors.js';
import * as api from '../http/api.js';
import { type LocalSummary, replicaSummaries } from '../replica/digest.js';
import { cursorSeq } from './cursor.js';
import type { SyncContext } from './sync-context.js';

/** Collections whose count or digest differ between the server and the replica (in either direction). */
export function summaryDifferences(server: SummaryResponse, local: Map<string, LocalSummary>): string[] {
  const differ = new Set<string>();
  const seen = new Set<string>();
  for (const collection of server.collections) {
    seen.add(collection.id);
    const mine = local.get(collection.id);
    if (!mine || mine.count !== collection.count || mine.digest !== collection.digest) differ.add(collection.id);
  }
  for (const id of local.keys()) if (!seen.has(id)) differ.add(id);
  return [...differ].sort();
}

/** The summary sent ahead at the start of the sync, if any (used once). */
function takeSummary(ctx: SyncContext) {
  const early = ctx.prefetch?.summary ?? null;
  if (ctx.prefetch) ctx.prefetch.summary = null;
  return early;
}

/**
 * Compares the replica with the server's per-collection summaries after a
 * complete pull, so a server that lost data is noticed even when its
 * generation did not change. Both directions count: a collection or item the
 * device has and the server lacks is a difference as much as the reverse.
 *
 * The server's head is global, so it may move between the pull and the
 * summary; then the device catches up (`catchUp`) and compares again. A
 * mismatch is reported only when the device has seen everything up to the
 * summary's head, twice in a row (the summary is not read in one snapshot).
 * A summary sent ahead at the start of the sync may be older than the pull;
 * it can confirm a match, and a mismatch is then checked with a fresh one.
 */
export async function verifySummary(
  ctx: SyncContext,
  catchUp: () => Promise<boolean>,
): Promise<{ verdict: 'match' | 'mismatch' | 'skipped'; collections: string[] }> {
  let confirmed = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (ctx.store.transaction((tx) => tx.countOutbox('pending')) > 0) return { verdict: 'skipped', collections: [] };
    const server = await (takeSummary(ctx) ?? api.summary(ctx.transport, ctx.signal));
    const { state, local } = ctx.store.transaction((tx) => ({ state: tx.getState(), local: replicaSummaries(tx) }));
    if (state.generation !== null && server.generation !== state.generation) {
      throw new HoldfastError('generation_changed', 'The server summary belongs to another lineage.', 409, {
        generation: server.generation,
      });
    }
    const seq = cursorSeq(state.cursor);
    if (seq === null) return { verdict: 'skipped', collections: [] };
    if (seq > server.head) {
      throw new HoldfastError('cursor_ahead', 'The server is behind what this device has seen.', 409, {
        head: server.head,
        cursorSeq: seq,
      });
    }
    const differences = summaryDifferences(server, local);
    if (differences.length === 0) return { verdict: 'match', collections: [] };
    if (server.head === seq && ++confirmed >= 2) return { verdict: 'mismatch', collections: differences };
    if (!(await catchUp())) return { verdict: 'skipped', collections: [] };
  }
  return { verdict: 'skipped', collections: [] };
}
