import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A loop over a whole account (an export, an import, a duplicate scan) runs
 * on the one thread that answers every other request. Awaiting a promise is
 * not enough to let those in: SQLite answers synchronously, so an async loop
 * over it can run for seconds without reaching the event loop. `pause()`
 * gives the event loop a turn once the loop has held it for `budgetMs`, so
 * other requests wait at most about that long.
 */
export function createSlicer(budgetMs = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < budgetMs) return;
    await nextTurn();
    since = performance.now();
  };
}
