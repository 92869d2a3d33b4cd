import { AppError } from '@holdfast/protocol';
import { createTestRepository, put, putCollection, sha256 } from '@holdfast/test-support/backup-fixtures';
import { createHarness, type TargetHarness, targetKinds } from '@holdfast/test-support/backup-targets';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeBlob } from './blob.js';
import { listJournalSegments, readJournalChain, readJournalSegment, writeJournalSegment } from './journal.js';
import type { Repository } from './repository.js';
import type { Revision } from './schemas.js';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe.each(targetKinds)('journal segments on a %s target', (kind) => {
  let harness: TargetHarness;
  let repo: Repository;
  beforeEach(async () => {
    harness = await createHarness(kind);
    repo = await createTestRepository(harness.target);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('stores a segment under 4 KiB uncompressed and a larger one compressed; both read back', async () => {
    const small = await writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [put(1, 'a', 'A')] });
    const text = Array.from({ length: 100 }, (_, i) => `line ${i % 10} of a note that repeats`).join('\n');
    const large = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: small.object, toSeq: 1 },
      revisions: [put(2, 'b', text), put(3, 'c', text)],
    });
    // Byte 6 of the envelope: the compression (0 none, 2 brotli).
    expect((await harness.target.getObject(small.object))[6]).toBe(0);
    expect((await harness.target.getObject(large.object))[6]).toBe(2);
    expect((await readJournalSegment(repo, small.object)).revisions).toEqual([put(1, 'a', 'A')]);
    expect((await readJournalSegment(repo, large.object)).revisions.map((r) => r.content)).toEqual([text, text]);
  });

  it('round-trips a chain of segments and reads it back oldest first', async () => {
    const first = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: null,
      revisions: [put(1, 'a', 'A'), put(2, 'b', 'B')],
    });
    const second = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: first.object, toSeq: first.segment.toSeq },
      revisions: [put(3, 'a', 'A2')],
    });
    const third = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: second.object, toSeq: 3 },
      revisions: [{ ...put(4, 'b', ''), op: 'delete', content: null, hash: null }],
    });
    expect(first.object).toMatch(/^journal\/[0-9a-f]{64}$/);
    expect(first.segment).toMatchObject({ fromSeq: 1, toSeq: 2, prev: null, blobs: {} });
    expect(await readJournalSegment(repo, second.object)).toEqual(second.segment);
    expect((await listJournalSegments(repo)).sort()).toEqual([first.object, second.object, third.object].sort());
    const chain = await readJournalChain(repo, third.object);
    expect(chain.map((entry) => entry.object)).toEqual([first.object, second.object, third.object]);
    expect(chain.flatMap((entry) => entry.segment.revisions.map((revision) => revision.seq))).toEqual([1, 2, 3, 4]);
    expect((await readJournalChain(repo, third.object, 2)).map((entry) => entry.object)).toEqual([
      second.object,
      third.object,
    ]);
  });

  it('accepts gaps in seq inside a segment range, and empty ranges', async () => {
    const first = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: null,
      fromSeq: 1,
      toSeq: 10,
      revisions: [put(2, 'a', 'A'), put(7, 'b', 'B')],
    });
    const empty = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: first.object, toSeq: 10 },
      toSeq: 12,
      revisions: [],
    });
    expect(empty.segment).toMatchObject({ fromSeq: 11, toSeq: 12, revisions: [] });
  });

  it('refuses a segment that does not continue its previous segment', async () => {
    const first = await writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [put(1, 'a', 'A')] });
    const wrongToSeq = await rejection(
      writeJournalSegment(repo, {
        generation: 'g1',
        prev: { object: first.object, toSeq: 2 },
        revisions: [put(3, 'a', 'x')],
      }),
    );
    expect(wrongToSeq.code).toBe('precondition_failed');
    const gap = await rejection(
      writeJournalSegment(repo, {
        generation: 'g1',
        prev: { object: first.object, toSeq: 1 },
        fromSeq: 3,
        revisions: [put(3, 'a', 'x')],
      }),
    );
    expect(gap.code).toBe('invalid_request');
    const missing = await rejection(
      writeJournalSegment(repo, {
        generation: 'g1',
        prev: { object: `journal/${'a'.repeat(64)}`, toSeq: 1 },
        revisions: [put(2, 'a', 'x')],
      }),
    );
    expect(missing.details?.reason).toBe('missing');
    expect(await listJournalSegments(repo)).toEqual([first.object]);
  });

  it('refuses revisions out of order or outside the range, and deletes that carry content', async () => {
    const outOfOrder = await rejection(
      writeJournalSegment(repo, {
        generation: 'g1',
        prev: null,
        fromSeq: 1,
        toSeq: 5,
        revisions: [put(3, 'a', 'x'), put(2, 'b', 'y')],
      }),
    );
    expect(outOfOrder.code).toBe('invalid_request');
    const outside = await rejection(
      writeJournalSegment(repo, { generation: 'g1', prev: null, fromSeq: 1, toSeq: 2, revisions: [put(3, 'a', 'x')] }),
    );
    expect(outside.code).toBe('invalid_request');
    const deleteWithContent = await rejection(
      writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [{ ...put(1, 'a', 'x'), op: 'delete' }] }),
    );
    expect(deleteWithContent.code).toBe('invalid_request');
  });

  it('refuses what the segment schema refuses in any field, and stores nothing for it', async () => {
    const bad: Partial<Revision>[] = [
      { userId: 'not an id' },
      { at: 'yesterday' },
      { size: -1 },
      { chain: 'short' },
      { blob: { sha256: 'x', contentType: 'image/png' } },
      { extra: 1 } as Partial<Revision>,
    ];
    for (const fields of bad) {
      const error = await rejection(
        writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [put(1, 'a', 'x', fields)] }),
      );
      expect(error.code).toBe('invalid_request');
    }
    const badGeneration = await rejection(
      writeJournalSegment(repo, { generation: '', prev: null, revisions: [put(1, 'a', 'x')] }),
    );
    expect(badGeneration.code).toBe('invalid_request');
    expect(await listJournalSegments(repo)).toEqual([]);
  });

  it('reads back every field of the revisions it wrote, chain included', async () => {
    const revisions = [
      put(1, 'a', 'A', { chain: 'c'.repeat(64), meta: '{"k":1}' }),
      putCollection(2, 'notes'),
      { ...put(3, 'a', 'x'), op: 'delete' as const, content: null, contentType: null, hash: null, size: 0 },
    ];
    const stored = await writeJournalSegment(repo, { generation: 'g1', prev: null, revisions });
    expect(stored.segment.revisions).toEqual(revisions);
    expect(await readJournalSegment(repo, stored.object)).toEqual(stored.segment);
  });

  it('refuses a segment whose blobs are not stored, and maps the ones that are', async () => {
    const photo = Buffer.from('not really a jpeg');
    const ref = { sha256: sha256(photo), contentType: 'image/jpeg' };
    const revision = put(1, 'p', '{}', { collectionId: 'photos', blob: ref });
    const unmapped = await rejection(
      writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [revision] }),
    );
    expect(unmapped.code).toBe('invalid_request');
    const absent = await rejection(
      writeJournalSegment(repo, {
        generation: 'g1',
        prev: null,
        revisions: [revision],
        blobs: { [ref.sha256]: `blobs/ab/ab${'0'.repeat(62)}` },
      }),
    );
    expect(absent.code).toBe('precondition_failed');
    const stored = await writeBlob(repo, photo);
    const segment = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: null,
      revisions: [revision],
      blobs: new Map([
        [ref.sha256, stored.object],
        [sha256('unrelated'), stored.object],
      ]),
    });
    expect(segment.segment.blobs).toEqual({ [ref.sha256]: stored.object });
  });

  it('fails to follow a chain with a missing segment instead of returning part of it', async () => {
    const first = await writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [put(1, 'a', 'A')] });
    const second = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: first.object, toSeq: 1 },
      revisions: [put(2, 'a', 'B')],
    });
    const third = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: second.object, toSeq: 2 },
      revisions: [put(3, 'a', 'C')],
    });
    await harness.target.deleteObject(second.object);
    const error = await rejection(readJournalChain(repo, third.object));
    expect(error.details).toMatchObject({ reason: 'missing', object: second.object });
    expect((await readJournalChain(repo, third.object, 2)).map((entry) => entry.object)).toEqual([third.object]);
  });
});
