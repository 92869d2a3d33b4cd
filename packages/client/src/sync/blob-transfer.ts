import type { BlobRef } from '@holdfast/protocol';
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

/**
 * Downloads the blobs in `wanted` that the local cache lacks. Each is hashed
 * while it is written and stored only if it matches its name, so a download
 * cut off halfway leaves nothing behind, and one already stored is never
 * fetched again (that is what makes a restore resumable). Returns the bytes
 * received; a blob the server does not have is reported, not fatal.
 */
export async function downloadBlobs(
  ctx: SyncContext,
  wanted: ReadonlyMap<string, string>,
  onBlob: (bytes: number) => void,
): Promise<void> {
  const missing: [string, string][] = [];
  for (const [sha, itemId] of wanted) if (!(await ctx.store.blobs.has(sha))) missing.push([sha, itemId]);
  await inParallel(missing, ctx.settings.blobConcurrency, async ([sha, itemId]) => {
    throwIfAborted(ctx.signal);
    try {
      const stream = await api.getBlob(ctx.transport, sha, ctx.signal);
      onBlob(await ctx.store.blobs.write(sha, stream));
    } catch (error) {
      if (error instanceof HoldfastError && error.code === 'not_found') {
        ctx.events.emit('blobMissing', { sha256: sha, itemId });
        return;
      }
      throw asHoldfastError(error);
    }
  });
}
