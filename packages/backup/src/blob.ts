import { createHash } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import { objectError, worthCompressing } from './envelope.js';
import { readJournalSegment } from './journal.js';
import { listRepositoryObjects, loadObject, storeObject, typePrefix } from './object-store.js';
import type { Repository } from './repository.js';
import { readSnapshot } from './snapshot.js';

/**
 * Blobs (photos, attachments) are stored one per object. The payload is the
 * blob's plaintext SHA-256 (32 raw bytes) followed by its bytes, so every
 * blob object says which blob it holds, and a lost index can be rebuilt from
 * the blob objects alone. Objects are named by the hash of their encrypted
 * bytes like everything else; since each encryption uses a fresh nonce, the
 * same blob written twice gives two objects. A {@link BlobIndex} (plaintext
 * sha256 → object name) avoids that, and snapshots and journal segments
 * carry the part of the index they need.
 */
export type BlobIndex = Map<string, string>;

/** Where a blob is stored. `created` is false when an indexed copy was reused. */
export interface StoredBlob {
  sha256: string;
  object: string;
  created: boolean;
}

const SHA_BYTES = 32;

/**
 * Stores a blob unless `index` already maps its sha256 to an object that is
 * still on the target (it is checked, not assumed). Adds the new object to
 * `index`.
 */
export async function writeBlob(repo: Repository, bytes: Uint8Array, index?: BlobIndex): Promise<StoredBlob> {
  const sha = createHash('sha256').update(bytes).digest();
  const sha256 = sha.toString('hex');
  const known = index?.get(sha256);
  if (known !== undefined && (await repo.target.hasObject(known))) return { sha256, object: known, created: false };
  const payload = Buffer.concat([sha, bytes]);
  const object = await storeObject(repo, 'blob', payload, worthCompressing(bytes) ? 'brotli' : 'none');
  index?.set(sha256, object);
  return { sha256, object, created: true };
}

/**
 * Reads a blob object and checks that its bytes hash to the sha256 it
 * declares, and to `sha256` when given. `hash: false` leaves out hashing the
 * bytes (the declared sha256 is still compared with `sha256`): only for a
 * caller that hashes them anyway, such as a blob store's put, which refuses
 * bytes that do not match, so a restore hashes each blob once.
 */
export async function readBlob(
  repo: Repository,
  object: string,
  sha256?: string,
  options: { hash?: boolean } = {},
): Promise<Uint8Array> {
  const payload = await loadObject(repo, 'blob', object);
  return decodeBlobPayload(object, payload, sha256, options.hash ?? true);
}

/** Splits and checks an opened blob payload (see {@link readBlob}). */
export function decodeBlobPayload(object: string, payload: Uint8Array, sha256?: string, hash = true): Uint8Array {
  if (payload.byteLength < SHA_BYTES) throw objectError('invalid', object, 'blob payload is shorter than its hash');
  const declared = Buffer.from(payload.subarray(0, SHA_BYTES)).toString('hex');
  const bytes = payload.subarray(SHA_BYTES);
  const actual = hash ? createHash('sha256').update(bytes).digest('hex') : declared;
  if (actual !== declared)
    throw objectError('invalid', object, `blob bytes hash to ${actual}, object declares ${declared}`);
  if (sha256 !== undefined && declared !== sha256) {
    throw new AppError('hash_mismatch', `blob object ${object} holds blob ${declared}, not ${sha256}`, { object });
  }
  return bytes;
}

/**
 * Builds the index from every snapshot manifest and journal segment, keeping
 * only entries whose blob object is listed on the target. Reads every
 * manifest and segment, so a long-running writer should load it once and
 * then keep it up to date through {@link writeBlob}.
 */
export async function loadBlobIndex(repo: Repository): Promise<BlobIndex> {
  const stored = new Set(await listRepositoryObjects(repo, typePrefix('blob')));
  const index: BlobIndex = new Map();
  const add = (blobs: Record<string, string>) => {
    for (const [sha256, object] of Object.entries(blobs)) if (stored.has(object)) index.set(sha256, object);
  };
  for (const object of await listRepositoryObjects(repo, typePrefix('snapshot')))
    add((await readSnapshot(repo, object)).blobs);
  for (const object of await listRepositoryObjects(repo, typePrefix('journal'))) {
    add((await readJournalSegment(repo, object)).blobs);
  }
  return index;
}
