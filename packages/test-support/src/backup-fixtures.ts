import { createHash } from 'node:crypto';
import { initRepository, type Repository, type Revision, type Target } from '@holdfast/backup';

/** scrypt parameters cheap enough for tests (the format's minimum N). */
export const FAST_KDF = { N: 1024, r: 8, p: 1 };

/** The passphrase test repositories are created with. */
export const PASSPHRASE = 'correct horse battery staple';

/** A repository on `target` with a fast KDF and a fixed clock. */
export function createTestRepository(target: Target, clock = fixedClock()): Promise<Repository> {
  return initRepository(target, { passphrase: PASSPHRASE }, { kdf: FAST_KDF, clock });
}

/** A clock that advances one second per call, from 2025-01-01. */
export function fixedClock(start = Date.UTC(2025, 0, 1)): () => Date {
  let now = start;
  return () => {
    now += 1000;
    return new Date(now);
  };
}

/** Lower-case hex SHA-256 of a string or bytes. */
export function sha256(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}

/** An item put revision with content `content`. */
export function put(seq: number, itemId: string, content: string, extra: Partial<Revision> = {}): Revision {
  return {
    seq,
    userId: 'alice',
    entity: 'item',
    collectionId: 'notes',
    itemId,
    op: 'put',
    deviceId: 'laptop',
    origin: 'sync',
    contentType: 'text/markdown',
    content,
    blob: null,
    meta: null,
    hash: sha256(content),
    size: Buffer.byteLength(content),
    baseSeq: seq > 1 ? seq - 1 : null,
    clientChangeId: `change-${seq}`,
    at: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    ...extra,
  };
}

/** A collection put revision (the collection's own fields as content). */
export function putCollection(seq: number, collectionId: string, extra: Partial<Revision> = {}): Revision {
  return put(seq, 'unused', `{"name":"${collectionId}"}`, {
    entity: 'collection',
    itemId: null,
    collectionId,
    ...extra,
  });
}

/** Flips one bit of the byte at `index` (negative counts from the end). */
export function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const at = index < 0 ? copy.length + index : index;
  if (at < 0 || at >= copy.length) throw new RangeError(`byte ${index} is outside ${copy.length} bytes`);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

/** Replaces an object's bytes on a write-once target (delete, then put), as damage on disk would. */
export async function replaceObject(target: Target, name: string, bytes: Uint8Array): Promise<void> {
  await target.deleteObject(name);
  await target.putObject(name, bytes);
}
