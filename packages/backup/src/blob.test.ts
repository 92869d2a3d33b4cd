import { randomBytes } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import { createTestRepository, put, sha256 } from '@holdfast/test-support/backup-fixtures';
import { createHarness, type TargetHarness, targetKinds } from '@holdfast/test-support/backup-targets';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BlobIndex, loadBlobIndex, readBlob, writeBlob } from './blob.js';
import { compressionCodes } from './envelope.js';
import { writeJournalSegment } from './journal.js';
import { storeObject } from './object-store.js';
import type { Repository } from './repository.js';
import { writeSnapshot } from './snapshot.js';

describe.each(targetKinds)('blobs on a %s target', (kind) => {
  let harness: TargetHarness;
  let repo: Repository;
  beforeEach(async () => {
    harness = await createHarness(kind);
    repo = await createTestRepository(harness.target);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('round-trips blobs and checks them against their sha256', async () => {
    const photo = randomBytes(200_000);
    const stored = await writeBlob(repo, photo);
    expect(stored).toMatchObject({ sha256: sha256(photo), created: true });
    expect(stored.object).toMatch(/^blobs\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/);
    expect(Buffer.compare(await readBlob(repo, stored.object, sha256(photo)), photo)).toBe(0);
    const empty = await writeBlob(repo, new Uint8Array(0));
    expect((await readBlob(repo, empty.object)).byteLength).toBe(0);
    const wrong = await readBlob(repo, stored.object, sha256('other')).catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(AppError);
    expect((wrong as AppError).code).toBe('hash_mismatch');
  });

  it('hashes the bytes unless told the caller does, and always checks the declared sha256', async () => {
    const photo = randomBytes(5_000);
    const declared = sha256(photo);
    // A well-formed object whose bytes are not the blob it declares (a writer bug, not damage).
    const object = await storeObject(
      repo,
      'blob',
      Buffer.concat([Buffer.from(declared, 'hex'), randomBytes(5_000)]),
      'none',
    );
    await expect(readBlob(repo, object, declared)).rejects.toThrow(/hash to/);
    expect((await readBlob(repo, object, declared, { hash: false })).byteLength).toBe(5_000);
    const wrong = await readBlob(repo, object, sha256('other'), { hash: false }).catch((error: unknown) => error);
    expect((wrong as AppError).code).toBe('hash_mismatch');
  });

  it('compresses text-like blobs and stores random ones as they are', async () => {
    const text = await writeBlob(repo, Buffer.from('BEGIN:VCARD\n'.repeat(10_000)));
    const noise = await writeBlob(repo, randomBytes(100_000));
    const compressionOf = async (object: string) => (await harness.target.getObject(object))[6];
    expect(await compressionOf(text.object)).toBe(compressionCodes.brotli);
    expect(await compressionOf(noise.object)).toBe(compressionCodes.none);
    expect((await harness.target.getObject(text.object)).byteLength).toBeLessThan(10_000);
  });

  it('reuses an indexed copy, and uploads again when the indexed object is gone', async () => {
    const index: BlobIndex = new Map();
    const photo = randomBytes(1000);
    const first = await writeBlob(repo, photo, index);
    const again = await writeBlob(repo, photo, index);
    expect(again).toEqual({ ...first, created: false });
    await harness.target.deleteObject(first.object);
    const replaced = await writeBlob(repo, photo, index);
    expect(replaced.created).toBe(true);
    expect(replaced.object).not.toBe(first.object);
    expect(index.get(sha256(photo))).toBe(replaced.object);
  });

  it('rebuilds the index from snapshots and journal segments, keeping only stored blobs', async () => {
    const a = Buffer.from('photo a');
    const b = Buffer.from('photo b');
    const storedA = await writeBlob(repo, a);
    const storedB = await writeBlob(repo, b);
    const photo = (seq: number, itemId: string, bytes: Buffer) =>
      put(seq, itemId, '{}', { collectionId: 'photos', blob: { sha256: sha256(bytes), contentType: 'image/jpeg' } });
    const segment = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: null,
      revisions: [photo(1, 'a', a), photo(2, 'b', b)],
      blobs: { [sha256(a)]: storedA.object, [sha256(b)]: storedB.object },
    });
    await writeSnapshot(repo, {
      generation: 'g1',
      seq: 2,
      journal: { object: segment.object, toSeq: 2 },
      records: [photo(1, 'a', a)],
      blobs: { [sha256(a)]: storedA.object },
    });
    expect(await loadBlobIndex(repo)).toEqual(
      new Map([
        [sha256(a), storedA.object],
        [sha256(b), storedB.object],
      ]),
    );
    await harness.target.deleteObject(storedB.object);
    expect(await loadBlobIndex(repo)).toEqual(new Map([[sha256(a), storedA.object]]));
  });
});
