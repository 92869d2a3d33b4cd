import { randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { type BlobMap, type Repository, type Revision, readBlob } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import type { BlobStore } from '../blobs/blob-store.js';

/** What happens to blobs during a restore. */
export type BlobMode =
  | { mode: 'store'; store: BlobStore }
  /** Read and hash every blob (or `sample` of them) without storing: a drill. */
  | { mode: 'hash'; sample?: number };

/** What a restore read of the blobs, and what it stored. */
export interface FetchedBlobs {
  read: number;
  bytes: number;
  /** Blobs put in the store, with the users who may read them. */
  stored: { sha256: string; size: number; owners: Set<string> }[];
}

/** Reads every blob the revisions reference (or a sample of them), and stores them in `store` mode. */
export async function fetchBlobs(
  repo: Repository,
  revisions: readonly Revision[],
  objects: BlobMap,
  mode: BlobMode,
): Promise<FetchedBlobs> {
  const owners = new Map<string, Set<string>>();
  for (const revision of revisions) {
    if (!revision.blob) continue;
    const set = owners.get(revision.blob.sha256) ?? new Set<string>();
    set.add(revision.userId);
    owners.set(revision.blob.sha256, set);
  }
  let shas = [...owners.keys()];
  if (mode.mode === 'hash' && mode.sample !== undefined && mode.sample < shas.length) {
    const picked = new Set<string>();
    while (picked.size < mode.sample) picked.add(shas[randomInt(shas.length)] as string);
    shas = [...picked];
  }
  const out: FetchedBlobs = { read: shas.length, bytes: 0, stored: [] };
  const stored: FetchedBlobs['stored'][number][] = new Array(shas.length);
  let next = 0;
  let failed = false;
  // A few at a time: reading, decrypting and hashing one blob overlaps the file I/O and fsyncs of others.
  const worker = async () => {
    for (let i = next++; i < shas.length && !failed; i = next++) {
      const sha = shas[i] as string;
      const object = objects[sha];
      if (!object) throw new AppError('internal', `no blob object is mapped for blob ${sha}`);
      // The store's put hashes the bytes and refuses a mismatch, so they are hashed once, there.
      const data = await readBlob(repo, object, sha, { hash: mode.mode !== 'store' });
      out.bytes += data.byteLength;
      if (mode.mode !== 'store') continue;
      await mode.store.put(sha, Readable.from([data]));
      stored[i] = { sha256: sha, size: data.byteLength, owners: owners.get(sha) ?? new Set() };
    }
  };
  // Every worker has stopped before an error is thrown: a failed restore removes what they wrote.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(BLOB_CONCURRENCY, shas.length) }, () =>
      worker().catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  out.stored = stored.filter((entry) => entry !== undefined);
  return out;
}

/** Blobs read (and stored) at once during a restore or a drill. */
const BLOB_CONCURRENCY = 4;
