import type { BlobStore } from '../blobs/blob-store.js';
import { compiledForList } from './compiled-once.js';
import type { Queryable } from './queryable.js';

// Every blob upload and every push of a photo asks: compiled once per length of list.
const heldBlobSizes = compiledForList<{ sha256: string; size: number }, [string]>((db, list, [userId]) =>
  db
    .selectFrom('user_blobs')
    .innerJoin('blobs', 'blobs.sha256', 'user_blobs.sha256')
    .select(['blobs.sha256 as sha256', 'blobs.size as size'])
    .where('user_blobs.user_id', '=', userId)
    .where('user_blobs.sha256', 'in', list),
);

/** Sizes of the blobs among `sha256s` that this user uploaded; others are invisible to them. */
export async function userBlobSizes(on: Queryable, userId: string, sha256s: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const unique = [...new Set(sha256s)];
  for (let i = 0; i < unique.length; i += 400) {
    const rows = await heldBlobSizes(on, unique.slice(i, i + 400), userId);
    for (const row of rows) out.set(row.sha256, row.size);
  }
  return out;
}

/** Up to the first 512 KiB of a blob: enough for image headers and EXIF. */
export async function readBlobHead(blobs: BlobStore, sha256: string, limit = 512 * 1024): Promise<Buffer> {
  if (blobs.readHead) return (await blobs.readHead(sha256, limit)) ?? Buffer.alloc(0);
  const stream = await blobs.get(sha256);
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    total += buffer.length;
    if (total >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, limit);
}
