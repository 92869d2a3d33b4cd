import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, type PushResult } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { userBlobSizes } from '../store/blob-index.js';
import { recordUpload } from '../sync/blob-upload.js';
import { pushChanges } from '../sync/push.js';
import { checkAddition } from '../sync/quota.js';
import type { PhotoFile, PhotoFolder } from './files-store.js';

/**
 * Stores a request body as a blob. WebDAV names a file, not its hash, so the
 * body is spooled to a temporary file while it is hashed, then streamed into
 * the blob store (which verifies the hash again) and recorded for the user.
 * New bytes count against the quota, and a new item too when `newItem`.
 * `use` gets the stored blob and the spooled file, removed when it returns.
 */
export async function withUpload<T>(
  ctx: Context,
  caller: Caller,
  body: Readable,
  declaredLength: number,
  newItem: boolean,
  use: (blob: { sha256: string; size: number }, path: string) => Promise<T>,
  /** Checks the spooled file before anything is stored; throws to refuse it. */
  check?: (path: string) => Promise<void>,
  /**
   * False: `use` records the blob itself, in the commit of the write that
   * refers to it (putPhoto's `uploaded`), so an upload costs one commit.
   */
  record = true,
): Promise<T> {
  const maxBytes = ctx.config.maxBlobBytes;
  if (declaredLength > maxBytes) throw new AppError('payload_too_large', `Files are limited to ${maxBytes} bytes.`);
  // One owner-only file created exclusively (never an existing name or link), removed with one call: a
  // directory of its own cost an upload three more trips through the thread pool for nothing.
  const path = join(tmpdir(), `holdfast-webdav-${randomUUID()}`);
  try {
    const hash = createHash('sha256');
    let size = 0;
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          if (size > maxBytes) throw new AppError('payload_too_large', `Files are limited to ${maxBytes} bytes.`);
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path, { flags: 'wx', mode: 0o600 }),
    );
    if (size === 0) throw new AppError('invalid_request', 'PUT needs a body.');
    await check?.(path);
    const sha256 = hash.digest('hex');
    const held = (await userBlobSizes(ctx.db, caller.userId, [sha256])).has(sha256);
    if (!held) await checkAddition(ctx, caller.userId, { items: newItem ? 1 : 0, bytes: size });
    const stored = await ctx.blobs.put(sha256, createReadStream(path), { maxBytes });
    if (record) await recordUpload(ctx, caller, { sha256, size: stored.size });
    return await use({ sha256, size: stored.size }, path);
  } finally {
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}

/**
 * A photo put through the revision log (metadata read from the blob as for
 * any push). Overwriting keeps the photo's caption unless `content` (a copied
 * or moved photo's) is given; `file` is the head the write is based on, so a
 * concurrent write is a conflict, never lost. A blob just uploaded (given
 * with its size) is recorded for the caller in the same commit; any other
 * must already be the caller's.
 */
export async function putPhoto(
  ctx: Context,
  caller: Caller,
  folder: PhotoFolder,
  name: string,
  file: PhotoFile | null,
  /** With `size`: bytes this request just stored, recorded for the caller in the write's commit. */
  blob: { sha256: string; contentType: string; size?: number },
  content: Record<string, unknown> | undefined = file?.content,
): Promise<PushResult> {
  const clientChangeId = `dav-${randomUUID()}`;
  const { results } = await pushChanges(
    ctx,
    caller,
    [
      {
        clientChangeId,
        collectionId: folder.id,
        itemId: file?.id ?? randomUUID(),
        op: 'put',
        baseRevision: file?.headSeq ?? null,
        content: { ...content, filename: name },
        blob: { sha256: blob.sha256, contentType: blob.contentType },
      },
    ],
    {
      receipts: false,
      collectionTypes: new Map([[folder.id, 'photos']]),
      ...(blob.size === undefined ? {} : { uploaded: { sha256: blob.sha256, size: blob.size } }),
    },
  );
  const [result] = results;
  if (!result) throw new AppError('internal', 'The write returned no result.');
  return result;
}

/** A tombstone revision for the photo; its history stays. */
export async function deletePhoto(ctx: Context, caller: Caller, folder: PhotoFolder, file: PhotoFile) {
  const { results } = await pushChanges(
    ctx,
    caller,
    [
      {
        clientChangeId: `dav-${randomUUID()}`,
        collectionId: folder.id,
        itemId: file.id,
        op: 'delete',
        baseRevision: file.headSeq,
      },
    ],
    { receipts: false, collectionTypes: new Map([[folder.id, 'photos']]) },
  );
  const [result] = results;
  if (!result) throw new AppError('internal', 'The write returned no result.');
  return result;
}
