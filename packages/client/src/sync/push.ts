import { MAX_PUSH_CHANGES, type PushChange, type PushResult } from '@holdfast/protocol';
import { HoldfastError, throwIfAborted } from '../errors.js';
import * as api from '../http/api.js';
import type {
  CollectionOutboxEntry,
  ItemOutboxEntry,
  OutboxEntry,
  PendingMassChange,
  ReplicaTx,
} from '../replica/store.js';
import { uploadBlobs } from './blob-transfer.js';
import { acknowledge, markRejected, pendingItemEntries } from './outbox.js';
import { resolveConflict } from './resolve-conflict.js';
import type { SyncContext } from './sync-context.js';

type Batch =
  | { kind: 'empty' }
  | { kind: 'collection'; entry: CollectionOutboxEntry }
  | { kind: 'items'; entries: ItemOutboxEntry[]; changes: PushChange[]; generation: string | null };

/** Thrown when a push answer comes from another server lineage than the replica's. */
export function lineageChanged(generation: string, expected: string): HoldfastError {
  return new HoldfastError('generation_changed', 'The server answered from another database lineage.', 409, {
    generation,
    cursorGeneration: expected,
  });
}

/**
 * Picks the next batch and, in the same transaction, counts it as sent: from
 * then on its entries are never coalesced with new edits, so a retry sends
 * exactly the same change under the same clientChangeId. Entries go in seq
 * order; a collection change goes alone, and no item appears twice in one
 * batch (its later entry waits for the earlier one's answer).
 */
function takeBatch(tx: ReplicaTx, size: number): Batch {
  const window = tx.listOutbox({ status: 'pending', limit: size * 4 });
  const first = window[0];
  if (!first) return { kind: 'empty' };
  if (first.entity === 'collection') {
    const entry = { ...first, attempts: first.attempts + 1 };
    tx.updateOutbox(entry);
    return { kind: 'collection', entry };
  }
  const entries: ItemOutboxEntry[] = [];
  const seen = new Set<string>();
  for (const entry of window) {
    if (entry.entity === 'collection') break;
    if (seen.has(entry.itemId)) continue;
    seen.add(entry.itemId);
    entries.push({ ...entry, attempts: entry.attempts + 1 });
    if (entries.length >= size) break;
  }
  for (const entry of entries) tx.updateOutbox(entry);
  const changes = entries.map((entry): PushChange => {
    const base = tx.getItem(entry.itemId)?.baseRevision ?? null;
    const change: PushChange = {
      clientChangeId: entry.clientChangeId,
      collectionId: entry.collectionId,
      itemId: entry.itemId,
      op: entry.op,
      baseRevision: base,
    };
    if (entry.op === 'put') {
      change.content = entry.content;
      if (entry.blob) change.blob = entry.blob;
    }
    return change;
  });
  return { kind: 'items', entries, changes, generation: tx.getState().generation };
}

/**
 * Sends the outbox to the server in batches until it is empty (or only holds
 * rejected entries). Every step is retry-safe: a batch is marked as sent
 * before it leaves, answers are applied in one transaction per batch, and a
 * batch whose answer was lost is sent again unchanged and answered from the
 * server's receipts. Conflicts are merged and re-queued.
 */
export async function pushOutbox(ctx: SyncContext, confirmMassChange = false): Promise<PendingMassChange | null> {
  const size = Math.min(ctx.settings.pushBatchSize, MAX_PUSH_CHANGES);
  const initial = ctx.store.transaction((tx) => tx.countOutbox('pending'));
  // Bounded so a server that keeps changing an item under us cannot keep one sync busy forever.
  let rounds = Math.ceil(initial / size) * 3 + initial + 10;
  while (rounds-- > 0) {
    throwIfAborted(ctx.signal);
    const batch = ctx.store.transaction((tx) => takeBatch(tx, size));
    if (batch.kind === 'empty') return null;
    if (batch.kind === 'collection') await pushCollection(ctx, batch.entry);
    else {
      const refused = await pushItems(ctx, batch, confirmMassChange);
      if (refused) return refused;
    }
  }
  return null;
}

/**
 * The server's mass-change refusal as the sync's stop: the batch stays in the
 * outbox, unchanged, to be sent again with the user's confirmation.
 */
function massChangeRefusal(ctx: SyncContext, error: unknown): PendingMassChange | null {
  if (!(error instanceof HoldfastError) || error.code !== 'mass_change_blocked') return null;
  const number = (key: string) => (typeof error.details?.[key] === 'number' ? (error.details[key] as number) : 0);
  const collectionId = typeof error.details?.collectionId === 'string' ? error.details.collectionId : undefined;
  // Everything this sync would delete there, not only the batch the server weighed.
  const queued = ctx.store.transaction(
    (tx) =>
      tx
        .listOutbox({ status: 'pending' })
        .filter((e) => e.entity === 'item' && e.op === 'delete' && e.collectionId === collectionId).length,
  );
  return {
    direction: 'push',
    ...(collectionId ? { collectionId } : {}),
    deletes: Math.max(queued, number('deletes')),
    blanks: 0,
    liveItems: number('liveItems'),
    limit: number('limit'),
    detectedAt: ctx.now(),
  };
}

/**
 * Sends one batch. It names the lineage its base revisions come from, so a
 * server restored since the pre-flight check refuses it whole rather than
 * matching a base revision against an unrelated revision of the new lineage.
 */
async function pushItems(
  ctx: SyncContext,
  batch: Extract<Batch, { kind: 'items' }>,
  confirmMassChange: boolean,
): Promise<PendingMassChange | null> {
  const { entries, changes, generation } = batch;
  await uploadBlobs(ctx, entries);
  let response: Awaited<ReturnType<typeof api.push>>;
  try {
    response = await api.push(ctx.transport, changes, ctx.signal, generation, confirmMassChange);
  } catch (error) {
    const refused = massChangeRefusal(ctx, error);
    if (refused) return refused;
    throw error;
  }
  const bySeq = new Map(entries.map((e) => [e.clientChangeId, e]));
  const conflicts: ItemOutboxEntry[] = [];
  const rejected: OutboxEntry[] = [];
  const touched: string[] = [];
  ctx.store.transaction((tx) => {
    for (const result of response.results) {
      const entry = bySeq.get(result.clientChangeId);
      if (!entry) continue;
      touched.push(entry.itemId);
      applyResult(tx, entry, result, conflicts, rejected);
    }
  });
  ctx.result.pushed += touched.length - conflicts.length - rejected.length;
  for (const entry of rejected) ctx.events.emit('rejected', { entry });
  ctx.result.rejected += rejected.length;
  if (generation !== null && response.generation !== generation) throw lineageChanged(response.generation, generation);
  for (const entry of conflicts) {
    if ((await resolveConflict(ctx, entry)) === 'settled') ctx.result.pushed++;
  }
  return null;
}

function applyResult(
  tx: ReplicaTx,
  entry: ItemOutboxEntry,
  result: PushResult,
  conflicts: ItemOutboxEntry[],
  rejected: OutboxEntry[],
): void {
  if (result.status === 'applied') {
    acknowledge(tx, entry, result.revision);
  } else if (result.status === 'conflict') {
    conflicts.push(entry);
  } else if (entry.op === 'delete' && result.code === 'not_found') {
    // Deleting what the server does not have: the goal is reached.
    tx.removeOutbox(entry.seq);
    const item = tx.getItem(entry.itemId);
    if (item)
      tx.putItem({ ...item, baseRevision: null, baseHash: null, dirty: pendingItemEntries(tx, item.id).length > 0 });
  } else {
    rejected.push(markRejected(tx, entry, result.code, result.message));
  }
}

/** Answers that refuse this one change; anything else (network, auth, 5xx) fails the sync and is retried later. */
const REFUSALS: ReadonlySet<string> = new Set([
  'invalid_request',
  'invalid_content',
  'conflict',
  'not_found',
  'forbidden',
  'payload_too_large',
  'precondition_failed',
]);

/**
 * Collection changes go through the collection routes. Each is idempotent:
 * a create whose collection already exists with the same type, or a delete
 * of a collection that is already gone, counts as done.
 */
async function pushCollection(ctx: SyncContext, entry: CollectionOutboxEntry): Promise<void> {
  const t = ctx.transport;
  let revision: number | null = null;
  try {
    if (entry.op === 'create') {
      revision = (await createOrFind(ctx, entry)).revision;
    } else if (entry.op === 'update') {
      const { name, description, color } = entry.fields;
      revision = (await api.updateCollection(t, entry.collectionId, { name, description, color }, ctx.signal)).revision;
    } else {
      revision = await api.deleteCollection(t, entry.collectionId, ctx.signal).then(
        (r) => r.revision,
        (error: unknown) => {
          if (error instanceof HoldfastError && error.code === 'not_found') return null;
          throw error;
        },
      );
    }
  } catch (error) {
    if (!(error instanceof HoldfastError) || !REFUSALS.has(error.code)) throw error;
    const rejected = ctx.store.transaction((tx) => markRejected(tx, entry, error.code, error.message));
    ctx.result.rejected++;
    ctx.events.emit('rejected', { entry: rejected });
    return;
  }
  ctx.store.transaction((tx) => {
    tx.removeOutbox(entry.seq);
    const local = tx.getCollection(entry.collectionId);
    if (local && revision !== null) tx.putCollection({ ...local, revision: Math.max(revision, local.revision ?? 0) });
  });
  ctx.result.pushed++;
}

async function createOrFind(ctx: SyncContext, entry: CollectionOutboxEntry) {
  try {
    return await api.createCollection(ctx.transport, entry.collectionId, entry.fields, ctx.signal);
  } catch (error) {
    if (!(error instanceof HoldfastError) || error.code !== 'conflict') throw error;
    // A retry of a create that did reach the server, or a re-seed that recreated it.
    const existing = await api.collection(ctx.transport, entry.collectionId, ctx.signal);
    if (existing.type !== entry.fields.type) throw error;
    return existing;
  }
}
