import { type BlobRef, MAX_BLOB_BATCH } from '@holdfast/protocol';
import { asHoldfastError, HoldfastError, throwIfAborted } from '../errors.js';
import * as api from '../http/api.js';
import type { ItemOutboxEntry } from '../replica/store.js';
import type { SyncContext } from './sync-context.js';

/** The blobs an item's content refers to: a photo's image and a message's attachments. */
export function blobsOf(content: unknown, blob: BlobRef | null): string[] {
  const out = new Set<string>();
  if (blob) out.add(blob.sha256);
  if (
    content !== null &&
    typeof content === 'object' &&
    Array.isArray((content as { attachments?: unknown }).attachments)
  ) {
    for (const attachment of (content as { attachments: unknown[] }).attachments) {
      const sha = (attachment as { sha256?: unknown } | null)?.sha256;
      if (typeof sha === 'string') out.add(sha);
    }
  }
  return [...out];
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** Uploads one blob from the local cache; returns false if the cache does not have it. */
export async function uploadBlob(ctx: SyncContext, sha256: string): Promise<boolean> {
  const bytes = await ctx.store.blobs.read(sha256);
  if (!bytes) return false;
  await api.putBlob(ctx.transport, sha256, bytes, ctx.signal);
  return true;
}

/**
 * Makes sure the server has every blob the puts in `entries` refer to, before
 * the puts themselves are sent (the server refuses a photo whose image it has
 * not got). A blob missing from the local cache is left for the server to
 * refuse the change, which then stays in the outbox with the reason.
 */
export async function uploadBlobs(ctx: SyncContext, entries: readonly ItemOutboxEntry[]): Promise<number> {
  const wanted = new Set<string>();
  for (const entry of entries)
    if (entry.op === 'put') for (const sha of blobsOf(entry.content, entry.blob)) wanted.add(sha);
  let uploaded = 0;
  await inParallel([...wanted], ctx.settings.blobConcurrency, async (sha) => {
    throwIfAborted(ctx.signal);
    if (await api.hasBlob(ctx.transport, sha, ctx.signal)) return;
    if (await uploadBlob(ctx, sha)) uploaded++;
  });
  return uploaded;
}

/** Blobs asked for in one batch request at most (the server allows up to `MAX_BLOB_BATCH`). */
const BLOB_BATCH = 16;

/** Blobs of one batch being made durable while the next ones arrive. */
const WRITES_IN_FLIGHT = 4;

/** Transports whose server has no batch download route (answered 404): blobs are fetched one by one there. */
const noBatchRoute = new WeakSet<object>();

/**
 * Downloads the blobs in `wanted` that the local cache lacks. Each is hashed
 * while it is written and stored only if it matches its name, so a download
 * cut off halfway leaves nothing behind, and one already stored is never
 * fetched again (that is what makes a restore resumable). Blobs are asked
 * for in batches (`GET /v1/blobs?sha256=…`, one request for up to 16) on
 * `blobConcurrency` connections at once, one by one from a server without
 * the batch route. A blob the server does not have is reported, not fatal.
 */
export async function downloadBlobs(
  ctx: SyncContext,
  wanted: ReadonlyMap<string, string>,
  onBlob: (bytes: number) => void,
): Promise<void> {
  const lanes = ctx.settings.blobConcurrency;
  const missing: [string, string][] = [];
  await inParallel([...wanted], lanes, async (entry) => {
    if (!(await ctx.store.blobs.has(entry[0]))) missing.push(entry);
  });
  if (missing.length === 0) return;
  // Enough batches to keep every connection busy, none larger than BLOB_BATCH.
  const size = Math.min(BLOB_BATCH, MAX_BLOB_BATCH, Math.ceil(missing.length / lanes));
  const batches: [string, string][][] = [];
  for (let i = 0; i < missing.length; i += size) batches.push(missing.slice(i, i + size));
  await inParallel(batches, lanes, async (batch) => {
    throwIfAborted(ctx.signal);
    if (batch.length > 1 && !noBatchRoute.has(ctx.transport) && (await downloadBatch(ctx, batch, onBlob))) return;
    for (const [sha, itemId] of batch) await downloadOne(ctx, sha, itemId, onBlob);
  });
}

/** One batch request; false if the server has no batch route (then nothing was downloaded). */
async function downloadBatch(
  ctx: SyncContext,
  batch: readonly [string, string][],
  onBlob: (bytes: number) => void,
): Promise<boolean> {
  let download: api.BlobBatch;
  try {
    download = await api.getBlobs(
      ctx.transport,
      batch.map(([sha]) => sha),
      ctx.signal,
    );
  } catch (error) {
    if (error instanceof HoldfastError && error.code === 'not_found') {
      noBatchRoute.add(ctx.transport);
      return false;
    }
    throw asHoldfastError(error);
  }
  const received = new Set<string>();
  // A blob's bytes are read off the connection as soon as the one before has been read: its fsync and rename
  // (which take a while) overlap the next blob's transfer. At most WRITES_IN_FLIGHT are being finished at once.
  const finishing = new Set<Promise<void>>();
  let failure: unknown = null;
  try {
    for await (const blob of download.blobs()) {
      throwIfAborted(ctx.signal);
      if (failure) throw failure;
      let consumed!: () => void;
      const read = new Promise<void>((resolve) => {
        consumed = resolve;
      });
      const chunks: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          yield* blob.chunks;
          consumed();
        },
      };
      const writing = ctx.store.blobs.write(blob.sha256, chunks).then(
        (bytes) => {
          received.add(blob.sha256);
          onBlob(bytes);
        },
        (error: unknown) => {
          failure ??= error;
          consumed();
        },
      );
      finishing.add(writing);
      void writing.finally(() => finishing.delete(writing));
      await read;
      if (failure) throw failure;
      while (finishing.size >= WRITES_IN_FLIGHT) await Promise.race(finishing);
    }
    await Promise.all(finishing);
    if (failure) throw failure;
  } catch (error) {
    await download.cancel();
    await Promise.all(finishing);
    throw asHoldfastError(error);
  }
  for (const [sha, itemId] of batch) if (!received.has(sha)) ctx.events.emit('blobMissing', { sha256: sha, itemId });
  return true;
}

async function downloadOne(ctx: SyncContext, sha: string, itemId: string, onBlob: (bytes: number) => void) {
  throwIfAborted(ctx.signal);
  try {
    const download = await api.getBlob(ctx.transport, sha, ctx.signal);
    try {
      onBlob(await ctx.store.blobs.write(sha, download));
    } finally {
      await download.cancel();
    }
  } catch (error) {
    if (error instanceof HoldfastError && error.code === 'not_found') {
      ctx.events.emit('blobMissing', { sha256: sha, itemId });
      return;
    }
    throw asHoldfastError(error);
  }
}
