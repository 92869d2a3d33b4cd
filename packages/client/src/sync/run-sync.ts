import { HoldfastError } from '../errors.js';
import * as api from '../http/api.js';
import type { ReplicaState, ReseedProgress } from '../replica/store.js';
import { cursorSeq } from './cursor.js';
import { pull } from './pull.js';
import { lineageChanged, pushOutbox } from './push.js';
import { beginReseed, reseed } from './reseed.js';
import type { SyncContext } from './sync-context.js';
import { verifySummary } from './verify-summary.js';

/** A request sent ahead that may end up unused: its failure is reported only to whoever awaits it. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * The re-seed a failed request calls for, if it says the server lost data:
 * another lineage, a cursor past the head, or a cursor whose position now
 * holds other revisions (the log was rolled back and written again).
 */
function lossReason(error: unknown): ReseedProgress['reason'] | null {
  if (!(error instanceof HoldfastError)) return null;
  return error.code === 'generation_changed' || error.code === 'cursor_ahead' || error.code === 'cursor_diverged'
    ? error.code
    : null;
}

/**
 * Before anything is pushed, checks that the server is still the lineage the
 * replica's base revisions and cursor belong to: a push naming a base
 * revision of a lost lineage could be taken as current by a server that has
 * since reused the number. A replica holding nothing the server acknowledged
 * simply adopts the server's lineage.
 */
async function checkLineage(ctx: SyncContext, state: ReplicaState, asking = api.me(ctx.transport, ctx.signal)) {
  const me = await asking;
  if (state.generation === me.generation) {
    if ((cursorSeq(state.cursor) ?? 0) > me.head) {
      throw new HoldfastError('cursor_ahead', 'The server is behind what this device has seen.', 409, {
        head: me.head,
      });
    }
    return;
  }
  const holdsServerData = ctx.store.transaction(
    (tx) =>
      tx.getState().cursor !== null ||
      tx.listCollections().some((c) => c.revision !== null) ||
      tx.listItems({ includeDeleted: true }).some((i) => i.baseRevision !== null),
  );
  if (state.generation === null || !holdsServerData) {
    ctx.store.transaction((tx) => tx.setState({ generation: me.generation, cursor: null }));
    return;
  }
  throw lineageChanged(me.generation, state.generation);
}

/**
 * The start of a sync. With changes to push, the lineage is checked first
 * (`GET /v1/me`). With nothing to push, the pull's first page and the
 * summary do not depend on that answer and are asked for at the same time;
 * they are used only if the check passes and the cursor is still the one
 * they were asked for. With nothing to push and a cursor, the check itself
 * is left to the change feed, which refuses a cursor of another lineage or
 * one past its head (the same answers the check would give) before the
 * device applies anything. Returns whether the lineage was checked here.
 */
async function preflight(ctx: SyncContext): Promise<boolean> {
  const { state, pending } = ctx.store.transaction((tx) => ({
    state: tx.getState(),
    pending: tx.countOutbox('pending'),
  }));
  if (pending > 0) {
    await checkLineage(ctx, state);
    return true;
  }
  const asking = state.cursor === null ? api.me(ctx.transport, ctx.signal) : null;
  ctx.prefetch = {
    cursor: state.cursor,
    changes: quiet(api.changes(ctx.transport, state.cursor, ctx.settings.pullPageSize, ctx.signal)),
    summary: quiet(api.summary(ctx.transport, ctx.signal)),
  };
  if (!asking) return false;
  await checkLineage(ctx, state, asking);
  return true;
}

/**
 * One sync: finish any interrupted re-seed, check the lineage, push the
 * outbox, pull to the head, compare summaries. A lost lineage or a summary
 * mismatch starts a re-seed (at most one per sync) and the sync goes round
 * again on the server's new lineage. Totals accumulate in `ctx.result`.
 */
export async function runSync(ctx: SyncContext, confirmMassChange: boolean): Promise<void> {
  let reseeded = false;
  for (let round = 0; round < 3; round++) {
    ctx.prefetch = undefined;
    try {
      const progress = ctx.store.transaction((tx) => tx.getState().reseed);
      if (progress) {
        ctx.result.reseeded = await reseed(ctx, progress);
        reseeded = true;
      } else if (!(await preflight(ctx))) {
        // Edits made since the start of the sync are pushed only after the check the preflight left out.
        const { state, pending } = ctx.store.transaction((tx) => ({
          state: tx.getState(),
          pending: tx.countOutbox('pending'),
        }));
        if (pending > 0) await checkLineage(ctx, state);
      }
      const refused = await pushOutbox(ctx, confirmMassChange);
      if (refused) {
        ctx.result.massChange = refused;
        return;
      }
      const stopped = await pull(ctx, confirmMassChange);
      if (stopped) {
        ctx.result.massChange = stopped;
        return;
      }
      const summary = await verifySummary(ctx, async () => {
        const again = await pull(ctx, confirmMassChange);
        if (again) ctx.result.massChange = again;
        return again === null;
      });
      ctx.result.summary = summary.verdict;
      if (summary.verdict !== 'mismatch') return;
      if (reseeded) {
        ctx.events.emit('divergence', { collections: summary.collections });
        return;
      }
      beginReseed(ctx, 'summary_mismatch');
    } catch (error) {
      ctx.prefetch = undefined;
      const reason = lossReason(error);
      if (!reason || reseeded) throw error;
      beginReseed(ctx, reason);
    }
  }
}
