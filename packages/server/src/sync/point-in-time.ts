import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { appendLedgerEntry } from '../ledger/ledger.js';
import { collectionsInScope, readCollection, updateCollectionRow } from '../store/collections.js';
import { itemHeadsOfCollections, readItemHeads } from '../store/items.js';
import type { Queryable } from '../store/queryable.js';
import { itemSeqsAt, type NewRevision, readRevisionsBySeq } from '../store/revision-log.js';
import { collectionRevision } from './collections.js';
import { type HeadWrite, writeItemHeads } from './item-heads.js';
import { revisionNames } from './item-names.js';
import { writeTransaction } from './write-transaction.js';

/** Which moment to go back to: a time, or a revision (exact, and what "undo a restore" uses). */
export interface PointInTime {
  at?: number;
  seq?: number;
  /** Limit to these collections; all of the user's otherwise. */
  collectionIds?: string[];
  /** Keep items created after the point instead of removing them. */
  keepNewer?: boolean;
}

export interface RestoreStep {
  itemId: string;
  collectionId: string;
  action: 'restore' | 'remove';
  /** The current head being replaced. */
  currentRevision: number | null;
  /** The historic revision whose content comes back (null for remove). */
  fromRevision: number | null;
  /** In a preview: the item's display name (content/item-view.ts) in the revision that comes back, or that goes. */
  name?: string;
}

export interface RestorePlan {
  point: { at: string | null; seq: number | null };
  steps: RestoreStep[];
  collectionsRevived: string[];
  counts: { restore: number; remove: number; unchanged: number };
}

export interface RestoreResult extends RestorePlan {
  /** The revisions this restore wrote; restoring to `firstRevision - 1` undoes it. */
  firstRevision: number | null;
  lastRevision: number | null;
}

// Formats read history through here too.
export { readRevisionsBySeq };

/** What a restore to `point` would change, without changing anything. */
export async function previewRestore(ctx: Context, caller: Caller, point: PointInTime): Promise<RestorePlan> {
  const plan = await planRestore(ctx.db, caller.userId, point);
  // Named from the revision that comes back, or for a removal the one that goes.
  const shown = (s: RestoreStep) => s.fromRevision ?? s.currentRevision ?? 0;
  const names = await revisionNames(ctx.db, caller.userId, plan.steps.map(shown));
  return { ...plan, steps: plan.steps.map((s) => ({ ...s, name: names.get(shown(s)) ?? '' })) };
}

/**
 * Puts a user's data back as it was at `point`, as NEW revisions (origin
 * `restore`): nothing is overwritten, devices sync the result like any edit,
 * and the restore itself can be undone the same way.
 */
export async function applyRestore(ctx: Context, caller: Caller, point: PointInTime): Promise<RestoreResult> {
  const now = ctx.now();
  return writeTransaction(ctx, caller, async (trx, append) => {
    const plan = await planRestore(trx, caller.userId, point);
    for (const id of plan.collectionsRevived) {
      // The collection comes back first, as a revision devices see like any other.
      const row = await readCollection(trx, caller.userId, id);
      if (!row) throw new AppError('not_found', `No collection ${id}.`);
      const fields = { type: row.type, name: row.name, description: row.description, color: row.color };
      const [seq] = await append([collectionRevision(caller, id, 'put', fields, now, 'restore')]);
      await updateCollectionRow(trx, caller.userId, id, { deleted: 0, head_seq: seq as number, updated_at: now });
    }
    const historic = await readRevisionsBySeq(
      trx,
      caller.userId,
      plan.steps.flatMap((s) => (s.fromRevision === null ? [] : [s.fromRevision])),
    );
    const revisions: NewRevision[] = plan.steps.map((step) => {
      const from = step.fromRevision === null ? undefined : historic.get(step.fromRevision);
      return {
        user_id: caller.userId,
        entity: 'item',
        op: step.action === 'restore' ? 'put' : 'delete',
        collection_id: step.collectionId,
        item_id: step.itemId,
        device_id: caller.deviceId,
        origin: 'restore',
        content_type: from?.content_type ?? null,
        content: from?.content ?? null,
        blob_sha256: from?.blob_sha256 ?? null,
        blob_content_type: from?.blob_content_type ?? null,
        meta: from?.meta ?? null,
        content_hash: from?.content_hash ?? null,
        size: from?.size ?? 0,
        base_seq: step.currentRevision,
        client_change_id: null,
        created_at: now,
      };
    });
    const seqs = await append(revisions);
    const currentHashes = await currentLiveHashes(
      trx,
      caller.userId,
      plan.steps.map((s) => s.itemId),
    );
    const writes: HeadWrite[] = plan.steps.map((step, i) => ({
      itemId: step.itemId,
      collectionId: step.collectionId,
      seq: seqs[i] as number,
      deleted: step.action === 'remove',
      hash: revisions[i]?.content_hash ?? null,
      size: revisions[i]?.size ?? 0,
      previousLiveHash: currentHashes.get(step.itemId) ?? null,
    }));
    await writeItemHeads(trx, caller.userId, writes, now);
    if (plan.steps.length > 0 || plan.collectionsRevived.length > 0) {
      await appendLedgerEntry(
        trx,
        {
          kind: 'restore',
          userId: caller.userId,
          summary: `Restored ${plan.counts.restore} items and removed ${plan.counts.remove} to their state at ${plan.point.at ?? `revision ${plan.point.seq}`}.`,
          details: {
            scope: 'user',
            point: plan.point,
            collections: point.collectionIds ?? 'all',
            restored: plan.counts.restore,
            removed: plan.counts.remove,
            collectionsRevived: plan.collectionsRevived,
            firstRevision: seqs[0] ?? null,
            lastRevision: seqs[seqs.length - 1] ?? null,
          },
        },
        now,
      );
    }
    return { ...plan, firstRevision: seqs[0] ?? null, lastRevision: seqs[seqs.length - 1] ?? null };
  });
}

async function planRestore(db: Queryable, userId: string, point: PointInTime): Promise<RestorePlan> {
  if ((point.at === undefined) === (point.seq === undefined)) {
    throw new AppError('invalid_request', 'Give exactly one of a time (at) or a revision (seq) to restore to.');
  }
  if (point.collectionIds?.length === 0) throw new AppError('invalid_request', 'No collections named.');
  const collections = await collectionsInScope(db, userId, point.collectionIds);
  if (point.collectionIds && collections.length !== new Set(point.collectionIds).size) {
    throw new AppError('not_found', 'One of the named collections does not exist.');
  }
  const ids = collections.map((c) => c.id);
  if (ids.length === 0) return emptyPlan(point);

  // The last revision of each item at or before the point.
  const pastHeads = await itemSeqsAt(
    db,
    userId,
    ids,
    point.seq !== undefined ? { seq: point.seq } : { at: point.at as number },
  );
  const pastRows = await readRevisionsBySeq(db, userId, [...pastHeads.values()]);
  const current = await itemHeadsOfCollections(db, userId, ids);

  const steps: RestoreStep[] = [];
  let unchanged = 0;
  for (const item of current) {
    const pastSeq = pastHeads.get(item.id);
    const then = pastSeq === undefined ? undefined : pastRows.get(pastSeq);
    const liveThen = then !== undefined && then.op === 'put';
    const liveNow = item.deleted === 0;
    if (liveThen && (!liveNow || item.content_hash !== then.content_hash)) {
      steps.push({
        itemId: item.id,
        collectionId: item.collection_id,
        action: 'restore',
        currentRevision: item.head_seq,
        fromRevision: then.seq,
      });
    } else if (!liveThen && liveNow && !point.keepNewer) {
      steps.push({
        itemId: item.id,
        collectionId: item.collection_id,
        action: 'remove',
        currentRevision: item.head_seq,
        fromRevision: null,
      });
    } else {
      unchanged++;
    }
  }
  const revived = new Set(steps.filter((s) => s.action === 'restore').map((s) => s.collectionId));
  return {
    point: { at: point.at === undefined ? null : new Date(point.at).toISOString(), seq: point.seq ?? null },
    steps,
    collectionsRevived: collections.filter((c) => c.deleted === 1 && revived.has(c.id)).map((c) => c.id),
    counts: {
      restore: steps.filter((s) => s.action === 'restore').length,
      remove: steps.filter((s) => s.action === 'remove').length,
      unchanged,
    },
  };
}

function emptyPlan(point: PointInTime): RestorePlan {
  return {
    point: { at: point.at === undefined ? null : new Date(point.at).toISOString(), seq: point.seq ?? null },
    steps: [],
    collectionsRevived: [],
    counts: { restore: 0, remove: 0, unchanged: 0 },
  };
}

async function currentLiveHashes(db: Queryable, userId: string, itemIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const row of (await readItemHeads(db, userId, itemIds)).values()) {
    if (row.deleted === 0) out.set(row.id, row.content_hash ?? '');
  }
  return out;
}
