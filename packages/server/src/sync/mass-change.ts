import { AppError, type PushChange, type PushResult } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { recordIncident } from '../ledger/ledger.js';
import { liveCollectionSummaries } from '../store/collections.js';

/**
 * The server side of the mass-change guard. A push (or a run of DAV DELETEs)
 * may delete at most max(massDeleteMaxItems, massDeleteMaxPercent % of the
 * collection's live items) items of one collection within
 * massDeleteWindowMs, counted per device or app password and per collection.
 * More is refused unless the user confirmed it; both outcomes are recorded
 * in the ledger. The same rule as the device's own guard on pulls, so a
 * device that deletes by mistake is stopped by the server even when its own
 * code is wrong.
 */

/** One collection's deletions weighed against its budget. */
export interface MassDelete {
  collectionId: string;
  deletes: number;
  /** Deletions already counted in the window before this request. */
  recentDeletes: number;
  liveItems: number;
  limit: number;
}

interface Budget {
  /** Times of counted deletions, oldest first. */
  times: number[];
  /** When a refusal was last written to the ledger (one entry per window). */
  recordedAt: number;
}

// Kept per context so servers in one process never share counts; a deployment of
// several servers counts per server (a burst spread over servers is counted less).
const budgets = new WeakMap<Context, Map<string, Budget>>();

function budgetOf(ctx: Context, key: string): Budget {
  let map = budgets.get(ctx);
  if (!map) {
    map = new Map();
    budgets.set(ctx, map);
  }
  const now = ctx.now();
  const since = now - ctx.config.massDeleteWindowMs;
  for (const [k, b] of map) {
    while (b.times.length > 0 && (b.times[0] as number) <= since) b.times.shift();
    if (b.times.length === 0 && b.recordedAt <= since) map.delete(k);
  }
  let budget = map.get(key);
  if (!budget) {
    budget = { times: [], recordedAt: 0 };
    map.set(key, budget);
  }
  return budget;
}

/** The most deletions one collection of `liveItems` items may take unconfirmed. */
export function massDeleteLimit(ctx: Context, liveItems: number): number {
  return Math.max(ctx.config.massDeleteMaxItems, Math.ceil((ctx.config.massDeleteMaxPercent / 100) * liveItems));
}

function describe(over: MassDelete): string {
  const share = over.liveItems > 0 ? Math.round((100 * over.deletes) / over.liveItems) : 100;
  return `${over.deletes} items (${share}%) from collection ${over.collectionId}`;
}

/** Weighs `deletes` per collection against each budget; returns the collections over it. */
async function weigh(ctx: Context, caller: Caller, deletes: Map<string, number>): Promise<MassDelete[]> {
  if (deletes.size === 0) return [];
  const live = new Map((await liveCollectionSummaries(ctx.db, caller.userId)).map((c) => [c.id, Number(c.item_count)]));
  const over: MassDelete[] = [];
  for (const [collectionId, count] of deletes) {
    const recentDeletes = budgetOf(ctx, `${caller.deviceId}:${collectionId}`).times.length;
    const liveItems = live.get(collectionId) ?? 0;
    const limit = massDeleteLimit(ctx, liveItems);
    if (recentDeletes + count > limit) over.push({ collectionId, deletes: count, recentDeletes, liveItems, limit });
  }
  return over;
}

function charge(ctx: Context, caller: Caller, deletes: Map<string, number>): void {
  const now = ctx.now();
  for (const [collectionId, count] of deletes) {
    const budget = budgetOf(ctx, `${caller.deviceId}:${collectionId}`);
    for (let i = 0; i < count; i++) budget.times.push(now);
  }
}

async function recordBlocked(ctx: Context, caller: Caller, over: MassDelete[], via: 'sync' | 'dav') {
  const now = ctx.now();
  const fresh = over.filter((o) => {
    const budget = budgetOf(ctx, `${caller.deviceId}:${o.collectionId}`);
    if (budget.recordedAt > now - ctx.config.massDeleteWindowMs) return false;
    budget.recordedAt = now;
    return true;
  });
  if (fresh.length === 0) return;
  await recordIncident(
    ctx.db,
    {
      kind: 'mass_change_blocked',
      userId: caller.userId,
      summary: `Refused to delete ${fresh.map(describe).join(', ')} without confirmation (${via === 'dav' ? 'CalDAV/CardDAV client' : 'device'} ${caller.deviceId}).`,
      details: { via, deviceId: caller.deviceId, collections: fresh },
    },
    now,
  );
}

/** Deletions per collection in a push, leaving out changes already answered. */
function countDeletes(changes: PushChange[], answered: ReadonlySet<string>): Map<string, number> {
  const deletes = new Map<string, number>();
  for (const change of changes) {
    if (change.op !== 'delete' || answered.has(change.clientChangeId)) continue;
    deletes.set(change.collectionId, (deletes.get(change.collectionId) ?? 0) + 1);
  }
  return deletes;
}

/**
 * Run at the start of a sync push: refuses it whole with `mass_change_blocked`
 * when a collection's deletions go over the budget and the push is not
 * confirmed. Returns the confirmed mass deletions, to be recorded once applied.
 */
export async function checkMassDelete(
  ctx: Context,
  caller: Caller,
  changes: PushChange[],
  answered: ReadonlySet<string>,
  confirmed: boolean,
): Promise<MassDelete[]> {
  const deletes = countDeletes(changes, answered);
  const over = await weigh(ctx, caller, deletes);
  if (over.length > 0 && !confirmed) {
    await recordBlocked(ctx, caller, over, 'sync');
    const first = over[0] as MassDelete;
    throw new AppError(
      'mass_change_blocked',
      `This push would delete ${describe(first)}; the user must confirm it (confirmMassChange).`,
      {
        collectionId: first.collectionId,
        deletes: first.deletes,
        recentDeletes: first.recentDeletes,
        liveItems: first.liveItems,
        limit: first.limit,
        collections: over,
      },
    );
  }
  charge(ctx, caller, deletes);
  return over;
}

/** Records confirmed mass deletions that went through (with the number actually applied). */
export async function recordConfirmedMassDelete(
  ctx: Context,
  caller: Caller,
  over: MassDelete[],
  changes: PushChange[],
  results: PushResult[],
): Promise<void> {
  if (over.length === 0) return;
  const applied = new Set(results.filter((r) => r.status === 'applied').map((r) => r.clientChangeId));
  const collections = over.map((o) => ({
    ...o,
    applied: changes.filter(
      (c) => c.op === 'delete' && c.collectionId === o.collectionId && applied.has(c.clientChangeId),
    ).length,
  }));
  if (collections.every((c) => c.applied === 0)) return;
  await recordIncident(
    ctx.db,
    {
      kind: 'mass_change_confirmed',
      userId: caller.userId,
      summary: `The user confirmed deleting ${collections.map((c) => `${c.applied} items from collection ${c.collectionId} (of ${c.liveItems})`).join(', ')} (device ${caller.deviceId}).`,
      details: { via: 'sync', deviceId: caller.deviceId, collections },
    },
    ctx.now(),
  );
}

/**
 * One DAV DELETE against the same budget. DAV clients cannot confirm, so past
 * the budget the DELETE is refused (403) until the window has passed.
 */
export async function chargeDavDelete(ctx: Context, caller: Caller, collectionId: string): Promise<void> {
  const deletes = new Map([[collectionId, 1]]);
  const over = await weigh(ctx, caller, deletes);
  if (over.length > 0) {
    await recordBlocked(ctx, caller, over, 'dav');
    const first = over[0] as MassDelete;
    const seconds = Math.ceil(ctx.config.massDeleteWindowMs / 1000);
    throw new AppError(
      'forbidden',
      `Too many deletions: ${first.recentDeletes} items of this collection were deleted in the last ${seconds} s (limit ${first.limit}). Nothing more is deleted for now; if this was intended, wait and try again, or delete from a Holdfast device, which asks for confirmation.`,
      { precondition: { ns: 'https://holdfast.dev/ns', name: 'mass-change-blocked' } },
    );
  }
  charge(ctx, caller, deletes);
}
