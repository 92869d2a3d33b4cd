import { type Repository, writeBlob } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import type { BlobStore } from '../blobs/blob-store.js';
import type { RepositoryView } from './repository-view.js';

/** Reads a whole blob from the server's blob store. */
export async function readStoredBlob(blobs: BlobStore, sha256: string): Promise<Buffer> {
  const stream = await blobs.get(sha256);
  if (!stream) throw new AppError('internal', `blob ${sha256} is referenced by the log but not in the blob store`);
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

/**
 * Makes sure each blob is stored on the target and returns sha256 → object
 * for them. An indexed object is reused only if the last listing saw it (or
 * this process wrote it since); otherwise the blob is uploaded again.
 */
export async function ensureBlobs(
  repo: Repository,
  blobs: BlobStore,
  view: RepositoryView,
  index: Map<string, string>,
  shas: Iterable<string>,
): Promise<{ map: Map<string, string>; uploaded: number; bytes: number }> {
  const map = new Map<string, string>();
  let uploaded = 0;
  let bytes = 0;
  for (const sha of shas) {
    if (map.has(sha)) continue;
    const known = index.get(sha);
    if (known !== undefined && view.blobObjects.has(known)) {
      map.set(sha, known);
      continue;
    }
    const data = await readStoredBlob(blobs, sha);
    const stored = await writeBlob(repo, data, index);
    view.blobObjects.add(stored.object);
    map.set(sha, stored.object);
    if (stored.created) {
      uploaded += 1;
      bytes += data.byteLength;
    }
  }
  return { map, uploaded, bytes };
}
