import { AppError } from '@holdfast/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeBlob } from './blob.js';
import { computeDigests } from './digest.js';
import { writeJournalSegment } from './journal.js';
import type { Repository } from './repository.js';
import type { Revision } from './schemas.js';
import { listSnapshots, readSnapshot, readSnapshotRecords, writeSnapshot } from './snapshot.js';
import { createTestRepository, put, putCollection, sha256 } from './test-support/fixtures.js';
import { createHarness, type TargetHarness, targetKinds } from './test-support/targets.js';
import { listVerifications, writeVerification } from './verification.js';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

async function collect(iterable: AsyncIterable<Revision>): Promise<Revision[]> {
  const records: Revision[] = [];
  for await (const record of iterable) records.push(record);
  return records;
}

describe.each(targetKinds)('snapshots and verifications on a %s target', (kind) => {
  let harness: TargetHarness;
  let repo: Repository;
  beforeEach(async () => {
    harness = await createHarness(kind);
    repo = await createTestRepository(harness.target);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('round-trips a snapshot across several data objects, with digests of its records', async () => {
    const photo = Buffer.from('jpeg bytes');
    const blob = await writeBlob(repo, photo);
    const records: Revision[] = [
      put(1, 'n1', 'one'),
      put(2, 'n2', 'two'),
      putCollection(3, 'notes'),
      put(4, 'p1', '{}', { collectionId: 'photos', blob: { sha256: sha256(photo), contentType: 'image/jpeg' } }),
      put(5, 'c1', 'BEGIN:VCARD', { userId: 'bob', collectionId: 'contacts' }),
    ];
    const segment = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: null,
      revisions: records.slice(0, 4),
      blobs: { [sha256(photo)]: blob.object },
    });
    async function* stream() {
      yield* records;
    }
    const { object, manifest } = await writeSnapshot(repo, {
      generation: 'g1',
      seq: 5,
      journal: { object: segment.object, toSeq: 4 },
      records: stream(),
      blobs: new Map([[sha256(photo), blob.object]]),
      chunkRecords: 2,
    });
    expect(object).toMatch(/^snapshots\/[0-9a-f]{64}$/);
    expect(manifest.data).toHaveLength(3);
    expect(manifest.records).toBe(5);
    expect(manifest.blobs).toEqual({ [sha256(photo)]: blob.object });
    expect(manifest.digests).toEqual(computeDigests(records));
    expect(manifest.digests.alice?.notes?.count).toBe(2);
    expect(await readSnapshot(repo, object)).toEqual(manifest);
    expect(await collect(readSnapshotRecords(repo, manifest))).toEqual(records);
  });

  it('writes the manifest last: a snapshot whose blob is not stored leaves no manifest', async () => {
    const ref = { sha256: sha256('gone'), contentType: 'image/jpeg' };
    const error = await rejection(
      writeSnapshot(repo, {
        generation: 'g1',
        seq: 1,
        journal: null,
        records: [put(1, 'p', '{}', { blob: ref })],
        blobs: { [ref.sha256]: `blobs/00/00${'1'.repeat(62)}` },
      }),
    );
    expect(error.code).toBe('precondition_failed');
    expect(await listSnapshots(repo)).toEqual([]);
  });

  it('refuses deletes, records after the snapshot seq, duplicates, and a journal head that does not fit', async () => {
    const base = { generation: 'g1', seq: 2, journal: null, blobs: {} };
    const asDelete = { ...put(1, 'a', 'x'), op: 'delete' as const, content: null };
    expect((await rejection(writeSnapshot(repo, { ...base, records: [asDelete] }))).code).toBe('invalid_request');
    expect((await rejection(writeSnapshot(repo, { ...base, records: [put(3, 'a', 'x')] }))).code).toBe(
      'invalid_request',
    );
    const duplicate = [put(1, 'a', 'x'), put(2, 'a', 'y')];
    expect((await rejection(writeSnapshot(repo, { ...base, records: duplicate }))).code).toBe('invalid_request');
    const segment = await writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [put(1, 'a', 'x')] });
    const wrongHead = writeSnapshot(repo, { ...base, journal: { object: segment.object, toSeq: 2 }, records: [] });
    expect((await rejection(wrongHead)).code).toBe('precondition_failed');
    expect(await listSnapshots(repo)).toEqual([]);
  });

  it('lists snapshots by the seq they cover and their recorded time, never by name', async () => {
    const written = [];
    for (const seq of [3, 1, 2, 2]) {
      written.push(await writeSnapshot(repo, { generation: 'g1', seq, journal: null, records: [], blobs: {} }));
    }
    const listed = await listSnapshots(repo);
    expect(listed.map((entry) => entry.manifest.seq)).toEqual([1, 2, 2, 3]);
    expect(listed.map((entry) => entry.object)).toEqual(
      [written[1], written[2], written[3], written[0]].map((entry) => entry?.object),
    );
  });

  it('round-trips verification records, oldest first, and refuses ok with a failed check', async () => {
    const snapshot = await writeSnapshot(repo, { generation: 'g1', seq: 0, journal: null, records: [], blobs: {} });
    const failed = {
      time: '2025-02-01T00:00:00.000Z',
      snapshot: snapshot.object,
      ok: false,
      checks: [{ name: 'integrity_check', ok: false, detail: 'page 4 is never used' }],
      errors: ['restore failed integrity_check'],
    };
    const passed = {
      ...failed,
      time: '2025-01-01T00:00:00.000Z',
      ok: true,
      checks: [{ name: 'digests', ok: true }],
      errors: [],
    };
    const second = await writeVerification(repo, failed);
    const first = await writeVerification(repo, passed);
    expect((await listVerifications(repo)).map((entry) => entry.object)).toEqual([first.object, second.object]);
    expect((await listVerifications(repo))[1]?.record).toEqual(failed);
    const lying = await rejection(writeVerification(repo, { ...failed, ok: true }));
    expect(lying.code).toBe('invalid_request');
    const orphan = await rejection(writeVerification(repo, { ...passed, snapshot: `snapshots/${'0'.repeat(64)}` }));
    expect(orphan.code).toBe('precondition_failed');
  });
});
