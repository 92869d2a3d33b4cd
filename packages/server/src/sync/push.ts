import {
  AppError,
  type BlobRef,
  type CollectionType,
  type ItemHead,
  type PushChange,
  type PushResult,
} from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import { type BlobInfo, type NormalizedContent, normalizeContent, readPhotoMeta } from '../content/index.js';
import type { Caller, Context } from '../context.js';
import { readBlobHead, userBlobSizes } from '../store/blob-index.js';
import { liveCollectionWithSummary, liveCollectionTypes as readLiveCollectionTypes } from '../store/collections.js';
import { readItemHeads } from '../store/items.js';
import { recordBlobRows } from '../store/journal-apply.js';
import { insertPushReceipts, readPushReceipts } from '../store/push-receipts.js';
import type { Queryable } from '../store/queryable.js';
import { type NewRevision, readRevisionsBySeq } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { type HeadWrite, writeItemHeads } from './item-heads.js';
import { checkMassDelete, recordConfirmedMassDelete } from './mass-change.js';
import { missingAttachments } from './message-attachments.js';
import { checkNewItems } from './quota.js';
import { reseedContent } from './reseed-merge.js';
import { writeTransaction } from './write-transaction.js';

interface Prepared {
  change: PushChange;
  type: CollectionType;
  normalized: NormalizedContent | null;
  blobInfo?: BlobInfo | undefined;
}

interface Head {
  seq: number;
  deleted: boolean;
  hash: string | null;
  collectionId: string;
}

/** Push options for writers that never retry a change under the same id. */
export interface PushOptions {
  /**
   * Record receipts so a retried clientChangeId returns its first result.
   * DAV mints a fresh id for every request, so its receipts would never be read.
   */
  receipts: boolean;
  /**
   * Weigh deletions against the mass-change budget (sync/mass-change.ts):
   * false refuses a push over it, true records the user's confirmation;
   * absent skips the check (DAV charges its own budget per DELETE).
   */
  confirmMassChange?: boolean;
  /**
   * Types of the collections the changes go to, when the caller has just
   * read them (a DAV request resolves its collection first): not read again.
   * Whether each is still live is checked inside the write in any case.
   */
  collectionTypes?: ReadonlyMap<string, CollectionType>;
  /**
   * A blob this request has just stored for the caller and not recorded yet
   * (a WebDAV upload): recorded in the same commit as the changes that refer
   * to it, instead of a commit of its own before them.
   */
  uploaded?: { sha256: string; size: number };
  /**
   * Whether each item is new (none or deleted), when the caller has just
   * read it (a DAV PUT resolves its item first): the quota check does not
   * read it again. The write itself still checks the head inside the lock.
   */
  itemsNew?: ReadonlyMap<string, boolean>;
}

/** Push results, with the content hash of each applied put's head (a DAV ETag). */
export interface PushOutcome {
  results: PushResult[];
  hashes: Map<string, string | null>;
}

/**
 * Applies a batch of device changes. Each change gets its own result
 * (applied, conflict or rejected); one bad change never blocks the others.
 * All applied changes commit together and are durable before this resolves.
 * A clientChangeId seen before returns its first result and writes nothing.
 */
export async function push(
  ctx: Context,
  caller: Caller,
  changes: PushChange[],
  confirmMassChange = false,
): Promise<PushResult[]> {
  return (await pushChanges(ctx, caller, changes, { receipts: true, confirmMassChange })).results;
}

/** `push`, with its options and the applied heads' hashes. */
export async function pushChanges(
  ctx: Context,
  caller: Caller,
  changes: PushChange[],
  options: PushOptions,
): Promise<PushOutcome> {
  const results = new Map<string, PushResult>();
  const hashes = new Map<string, string | null>();
  const earlier = options.receipts ? await readReceipts(ctx.db, caller.userId, changes) : new Map<string, PushResult>();
  for (const [id, result] of earlier) results.set(id, result);
  const massDeletes =
    options.confirmMassChange === undefined
      ? []
      : await checkMassDelete(ctx, caller, changes, new Set(earlier.keys()), options.confirmMassChange);

  const known = options.collectionTypes;
  const collectionTypes =
    known && changes.every((c) => known.has(c.collectionId))
      ? known
      : await liveCollectionTypes(
          ctx.db,
          caller.userId,
          changes.map((c) => c.collectionId),
        );
  const prepared: Prepared[] = [];
  const seen = new Set<string>();
  for (const change of changes) {
    if (results.has(change.clientChangeId) || seen.has(change.clientChangeId)) continue;
    seen.add(change.clientChangeId);
    try {
      prepared.push(await prepare(ctx, caller, change, collectionTypes.get(change.collectionId), options.uploaded));
    } catch (error) {
      results.set(change.clientChangeId, rejection(change, error));
    }
  }

  const puts = prepared.flatMap((p) => (p.normalized ? [{ itemId: p.change.itemId, size: p.normalized.size }] : []));
  await checkNewItems(ctx, caller.userId, puts, options.itemsNew);
  if (prepared.length > 0 || results.size > earlier.size) {
    const fresh = [...results.entries()].filter(([id]) => !earlier.has(id)).map(([, r]) => r);
    const uploaded = options.uploaded;
    const applied = await writeTransaction(ctx, caller, async (trx, append) => {
      if (uploaded) await recordBlobRows(trx, [{ ...uploaded, owners: [caller.userId] }], ctx.now());
      return applyPrepared(trx, append, {
        now: ctx.now(),
        caller,
        prepared,
        alreadyDecided: fresh,
        log: ctx.log,
        options,
        hashes,
      });
    });
    for (const result of applied) results.set(result.clientChangeId, result);
    await recordConfirmedMassDelete(ctx, caller, massDeletes, changes, applied);
  }
  return { results: changes.map((c) => results.get(c.clientChangeId) as PushResult), hashes };
}

async function prepare(
  ctx: Context,
  caller: Caller,
  change: PushChange,
  type: CollectionType | undefined,
  uploaded: PushOptions['uploaded'],
): Promise<Prepared> {
  if (!type) throw new AppError('not_found', `No collection ${change.collectionId}.`);
  if (change.reseed && change.op !== 'put') throw new AppError('invalid_request', 'Only puts can re-seed.');
  if (change.op === 'delete') {
    if (change.content !== undefined || change.blob !== undefined) {
      throw new AppError('invalid_request', 'A delete carries no content or blob.');
    }
    return { change, type, normalized: null };
  }
  if (change.content === undefined) throw new AppError('invalid_content', 'A put needs content.');
  const blobInfo = change.blob ? await photoBlobInfo(ctx, caller, change.blob, type, uploaded) : undefined;
  if (type === 'messages') {
    const missing = await missingAttachments(ctx.db, caller.userId, change.content);
    if (missing.length > 0) throw new AppError('not_found', `Attachment blobs not uploaded: ${missing.join(', ')}.`);
  }
  return { change, type, normalized: normalizeContent(type, change.content, change.blob, blobInfo), blobInfo };
}

async function photoBlobInfo(
  ctx: Context,
  caller: Caller,
  blob: BlobRef,
  type: CollectionType,
  uploaded: PushOptions['uploaded'],
) {
  if (type !== 'photos') throw new AppError('invalid_content', `Items in ${type} collections carry no blob.`);
  const size =
    uploaded?.sha256 === blob.sha256
      ? uploaded.size
      : (await userBlobSizes(ctx.db, caller.userId, [blob.sha256])).get(blob.sha256);
  if (size === undefined) throw new AppError('not_found', `Blob ${blob.sha256} has not been uploaded.`);
  const head = await readBlobHead(ctx.blobs, blob.sha256);
  return { size, photoMeta: await readPhotoMeta(head, size) };
}

function rejection(change: PushChange, error: unknown): PushResult {
  if (error instanceof AppError) {
    return { clientChangeId: change.clientChangeId, status: 'rejected', code: error.code, message: error.message };
  }
  throw error;
}

interface ApplyInput {
  now: number;
  caller: Caller;
  prepared: Prepared[];
  alreadyDecided: PushResult[];
  log: Logger;
  options: PushOptions;
  /** Filled with the head hash of every applied put. */
  hashes: Map<string, string | null>;
}

async function applyPrepared(
  trx: Transaction<Database>,
  append: (revisions: NewRevision[]) => Promise<number[]>,
  { now, caller, prepared, alreadyDecided, log, options, hashes }: ApplyInput,
): Promise<PushResult[]> {
  // Re-read inside the lock: a concurrent push of the same change may have won.
  const receipts = options.receipts
    ? await readReceipts(
        trx,
        caller.userId,
        prepared.map((p) => p.change),
      )
    : new Map<string, PushResult>();
  const todo = prepared.filter((p) => !receipts.has(p.change.clientChangeId));
  const { liveCollections, summaries } = await liveCollectionsWithSummaries(
    trx,
    caller.userId,
    todo.map((p) => p.change.collectionId),
  );
  const heads = await readHeads(
    trx,
    caller.userId,
    todo.map((p) => p.change.itemId),
  );
  const originalHeads = new Map(heads);

  const results: PushResult[] = [...alreadyDecided, ...receipts.values()];
  const pending: { prepared: Prepared; revision: NewRevision }[] = [];
  const pendingResults = new Map<string, PushResult>();
  const reseedBases = await readReseedBases(trx, caller.userId, todo, heads);
  for (const original of todo) {
    const p = original.change.reseed
      ? reseedPrepared(original, heads.get(original.change.itemId), reseedBases, log)
      : original;
    const { change, normalized } = p;
    const decided = decide(change, normalized, heads.get(change.itemId), liveCollections.has(change.collectionId));
    if (decided) {
      pendingResults.set(change.clientChangeId, decided);
      if (decided.status === 'applied') hashes.set(change.clientChangeId, heads.get(change.itemId)?.hash ?? null);
      continue;
    }
    const revision: NewRevision = {
      user_id: caller.userId,
      entity: 'item',
      op: change.op,
      collection_id: change.collectionId,
      item_id: change.itemId,
      device_id: caller.deviceId,
      origin: change.reseed ? 'reseed' : 'client',
      content_type: normalized?.contentType ?? null,
      content: normalized?.text ?? null,
      blob_sha256: change.op === 'put' ? (change.blob?.sha256 ?? null) : null,
      blob_content_type: change.op === 'put' ? (change.blob?.contentType ?? null) : null,
      meta: normalized?.meta ? JSON.stringify(normalized.meta) : null,
      content_hash: normalized?.hash ?? null,
      size: normalized?.size ?? 0,
      base_seq: change.baseRevision,
      client_change_id: change.clientChangeId,
      created_at: now,
    };
    pending.push({ prepared: p, revision });
    // Later changes to the same item in this batch build on this one.
    heads.set(change.itemId, {
      seq: -1,
      deleted: change.op === 'delete',
      hash: revision.content_hash,
      collectionId: change.collectionId,
    });
  }

  const seqs = await append(pending.map((p) => p.revision));
  const finalHeads = new Map<string, HeadWrite>();
  pending.forEach((p, i) => {
    const seq = seqs[i] as number;
    const itemId = p.revision.item_id as string;
    pendingResults.set(p.prepared.change.clientChangeId, {
      clientChangeId: p.prepared.change.clientChangeId,
      status: 'applied',
      revision: seq,
    });
    hashes.set(p.prepared.change.clientChangeId, p.revision.content_hash);
    const original = originalHeads.get(itemId);
    finalHeads.set(itemId, {
      itemId,
      collectionId: p.revision.collection_id,
      seq,
      deleted: p.revision.op === 'delete',
      hash: p.revision.content_hash,
      size: p.revision.size,
      previousLiveHash: original && !original.deleted ? (original.hash ?? '') : null,
      known: {
        type: p.prepared.type,
        content: p.revision.content,
        ...(p.prepared.normalized?.listing ? { listing: p.prepared.normalized.listing } : {}),
      },
    });
  });
  await writeItemHeads(trx, caller.userId, [...finalHeads.values()], now, summaries);
  const fresh = [...alreadyDecided, ...pendingResults.values()];
  if (options.receipts) await writeReceipts(trx, caller.userId, fresh, now);
  return [...results, ...pendingResults.values()];
}

/**
 * The live collections among `ids`; for a write to a single collection (every DAV write) also its
 * summary, read in the same statement, so writeItemHeads need not read the row again.
 */
async function liveCollectionsWithSummaries(trx: Transaction<Database>, userId: string, ids: string[]) {
  const summaries = new Map<string, { item_count: number; digest: string }>();
  const [first] = ids;
  if (first === undefined || ids.some((id) => id !== first))
    return { liveCollections: await liveCollectionTypes(trx, userId, ids), summaries };
  const live = await liveCollectionWithSummary(trx, userId, first);
  const liveCollections = new Map<string, CollectionType>();
  if (live) {
    liveCollections.set(first, live.type as CollectionType);
    summaries.set(first, { item_count: live.item_count, digest: live.digest });
  }
  return { liveCollections, summaries };
}

/** The outcome of a change that writes nothing, or null if it should be written. */
function decide(
  change: PushChange,
  normalized: NormalizedContent | null,
  head: Head | undefined,
  collectionLive: boolean,
): PushResult | null {
  const id = change.clientChangeId;
  if (!collectionLive)
    return {
      clientChangeId: id,
      status: 'rejected',
      code: 'not_found',
      message: `No collection ${change.collectionId}.`,
    };
  if (head && head.collectionId !== change.collectionId) {
    return {
      clientChangeId: id,
      status: 'rejected',
      code: 'invalid_request',
      message: `Item ${change.itemId} belongs to another collection.`,
    };
  }
  if (change.reseed) {
    // The device's base belongs to a lost lineage: accept over whatever the server has now.
    if (head && head.seq >= 0 && !head.deleted && head.hash === normalized?.hash) {
      return { clientChangeId: id, status: 'applied', revision: head.seq };
    }
    return null;
  }
  // A pending head (seq -1) from this batch: later changes must name it as base, which they cannot; let them through in order.
  const headSeq = head && head.seq >= 0 ? head.seq : null;
  const wire: ItemHead | null =
    head && head.seq >= 0 ? { revision: head.seq, hash: head.hash ?? '', deleted: head.deleted } : null;
  if (change.op === 'delete') {
    if (!head)
      return { clientChangeId: id, status: 'rejected', code: 'not_found', message: `No item ${change.itemId}.` };
    if (head.seq >= 0 && change.baseRevision !== headSeq) return { clientChangeId: id, status: 'conflict', head: wire };
    if (head.deleted && head.seq >= 0) return { clientChangeId: id, status: 'applied', revision: head.seq };
    return null;
  }
  if (!head) {
    return change.baseRevision === null || change.baseRevision === 0
      ? null
      : { clientChangeId: id, status: 'conflict', head: null };
  }
  if (head.seq >= 0 && change.baseRevision !== headSeq) return { clientChangeId: id, status: 'conflict', head: wire };
  if (head.seq >= 0 && !head.deleted && head.hash === normalized?.hash) {
    return { clientChangeId: id, status: 'applied', revision: head.seq };
  }
  return null;
}

async function readHeads(trx: Transaction<Database>, userId: string, itemIds: string[]): Promise<Map<string, Head>> {
  const heads = new Map<string, Head>();
  for (const row of (await readItemHeads(trx, userId, itemIds)).values()) {
    heads.set(row.id, {
      seq: row.head_seq,
      deleted: row.deleted === 1,
      hash: row.content_hash,
      collectionId: row.collection_id,
    });
  }
  return heads;
}

/** Server copies of items a re-seed will merge into, keyed by item id. */
async function readReseedBases(
  trx: Transaction<Database>,
  userId: string,
  todo: Prepared[],
  heads: Map<string, Head>,
): Promise<Map<string, string | null>> {
  const seqs = todo
    .filter((p) => p.change.reseed)
    .map((p) => heads.get(p.change.itemId))
    .filter((h): h is Head => h !== undefined && !h.deleted && h.seq >= 0)
    .map((h) => h.seq);
  const out = new Map<string, string | null>();
  for (const row of (await readRevisionsBySeq(trx, userId, seqs)).values()) out.set(row.item_id as string, row.content);
  return out;
}

/** A re-seeded put, with its content merged into the server's copy where they differ. */
function reseedPrepared(p: Prepared, head: Head | undefined, bases: Map<string, string | null>, log: Logger): Prepared {
  if (!head || head.deleted || head.seq < 0 || !p.normalized || head.hash === p.normalized.hash) return p;
  if (p.type !== 'contacts' && p.type !== 'calendar' && p.type !== 'tasks') return p;
  const serverText = bases.get(p.change.itemId) ?? null;
  const merged = reseedContent(p.type, serverText, p.normalized.text ?? '', (reason) =>
    log.warn(
      { itemId: p.change.itemId, reason },
      're-seed merge fell back to the device copy; the server copy stays in history',
    ),
  );
  if (merged === p.normalized.text) return p;
  try {
    return { ...p, normalized: normalizeContent(p.type, merged, p.change.blob, p.blobInfo) };
  } catch {
    return p;
  }
}

async function readReceipts(db: Queryable, userId: string, changes: PushChange[]): Promise<Map<string, PushResult>> {
  const stored = await readPushReceipts(
    db,
    userId,
    changes.map((c) => c.clientChangeId),
  );
  const out = new Map<string, PushResult>();
  for (const [id, result] of stored) out.set(id, JSON.parse(result) as PushResult);
  return out;
}

async function writeReceipts(trx: Transaction<Database>, userId: string, results: PushResult[], now: number) {
  const rows = results.map((r) => ({
    user_id: userId,
    client_change_id: r.clientChangeId,
    result: JSON.stringify(r),
    created_at: now,
  }));
  await insertPushReceipts(trx, rows);
}

async function liveCollectionTypes(db: Queryable, userId: string, ids: string[]): Promise<Map<string, CollectionType>> {
  return (await readLiveCollectionTypes(db, userId, ids)) as Map<string, CollectionType>;
}
