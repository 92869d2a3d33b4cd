import { createTestRepository, flipByte, put, replaceObject, sha256 } from '@holdfast/test-support/backup-fixtures';
import { createHarness, type TargetHarness, targetKinds } from '@holdfast/test-support/backup-targets';
import { failureOf } from '@holdfast/test-support/target-contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeAccountState } from './accounts.js';
import { writeBlob } from './blob.js';
import { type CheckReport, checkRepository } from './check.js';
import { writeJournalSegment } from './journal.js';
import { storeJson } from './object-store.js';
import type { Repository } from './repository.js';
import { journalSegmentSchema, snapshotManifestSchema } from './schemas.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { writeVerification } from './verification.js';

/** A small, complete repository: two blobs, a chain of three segments, a snapshot, a verification. */
async function populate(repo: Repository) {
  const photoA = Buffer.from('photo a');
  const photoB = Buffer.from('photo b');
  const blobA = await writeBlob(repo, photoA);
  const blobB = await writeBlob(repo, photoB);
  const photo = (seq: number, itemId: string, bytes: Buffer) =>
    put(seq, itemId, '{}', { collectionId: 'photos', blob: { sha256: sha256(bytes), contentType: 'image/jpeg' } });
  const s1 = await writeJournalSegment(repo, {
    generation: 'g1',
    prev: null,
    revisions: [put(1, 'n1', 'one'), photo(2, 'p1', photoA)],
    blobs: { [sha256(photoA)]: blobA.object },
  });
  const s2 = await writeJournalSegment(repo, {
    generation: 'g1',
    prev: { object: s1.object, toSeq: 2 },
    revisions: [put(3, 'n2', 'two'), photo(4, 'p2', photoB)],
    blobs: { [sha256(photoB)]: blobB.object },
  });
  const s3 = await writeJournalSegment(repo, {
    generation: 'g1',
    prev: { object: s2.object, toSeq: 4 },
    revisions: [put(5, 'n1', 'one, edited')],
  });
  const snapshot = await writeSnapshot(repo, {
    generation: 'g1',
    seq: 5,
    journal: { object: s3.object, toSeq: 5 },
    records: [put(5, 'n1', 'one, edited'), photo(2, 'p1', photoA), put(3, 'n2', 'two'), photo(4, 'p2', photoB)],
    blobs: { [sha256(photoA)]: blobA.object, [sha256(photoB)]: blobB.object },
    chunkRecords: 3,
  });
  const verification = await writeVerification(repo, {
    time: '2025-03-01T00:00:00.000Z',
    snapshot: snapshot.object,
    ok: true,
    checks: [{ name: 'digests', ok: true }],
    errors: [],
  });
  return { blobA, blobB, s1, s2, s3, snapshot, verification };
}

function summary(report: CheckReport) {
  return report.problems.map(({ kind, object, referencedBy }) => ({
    kind,
    object,
    ...(referencedBy ? { referencedBy } : {}),
  }));
}

describe.each(targetKinds)('checkRepository on a %s target', (kind) => {
  let harness: TargetHarness;
  let repo: Repository;
  let objects: Awaited<ReturnType<typeof populate>>;
  beforeEach(async () => {
    harness = await createHarness(kind);
    repo = await createTestRepository(harness.target);
    objects = await populate(repo);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('passes a healthy repository after reading every object', async () => {
    const report = await checkRepository(repo);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.objects).toBe((await harness.target.listObjects('')).length);
    expect(report.bytes).toBeGreaterThan(0);
  });

  it('names a journal segment with one flipped byte as corrupted', async () => {
    const { s2 } = objects;
    const stored = await harness.target.getObject(s2.object);
    for (const index of [5, 40, Math.floor(stored.length / 2), -1]) {
      await replaceObject(harness.target, s2.object, flipByte(stored, index));
      expect(summary(await checkRepository(repo)), `byte ${index}`).toEqual([{ kind: 'corrupted', object: s2.object }]);
    }
  });

  it('names a damaged object that was renamed to match its bytes as corrupted, and its old name as missing', async () => {
    const { blobA, s1, snapshot } = objects;
    const damaged = flipByte(await harness.target.getObject(blobA.object), 50);
    const renamed = `blobs/${sha256(damaged).slice(0, 2)}/${sha256(damaged)}`;
    await harness.target.putObject(renamed, damaged);
    await harness.target.deleteObject(blobA.object);
    const report = summary(await checkRepository(repo));
    expect(report).toHaveLength(3);
    expect(report).toContainEqual({ kind: 'corrupted', object: renamed });
    expect(report).toContainEqual({ kind: 'missing', object: blobA.object, referencedBy: s1.object });
    expect(report).toContainEqual({ kind: 'missing', object: blobA.object, referencedBy: snapshot.object });
  });

  it('names a missing blob and every object that references it', async () => {
    const { blobB, s2, snapshot } = objects;
    await harness.target.deleteObject(blobB.object);
    const report = await checkRepository(repo);
    expect(report.ok).toBe(false);
    expect(summary(report)).toHaveLength(2);
    expect(summary(report)).toContainEqual({ kind: 'missing', object: blobB.object, referencedBy: s2.object });
    expect(summary(report)).toContainEqual({ kind: 'missing', object: blobB.object, referencedBy: snapshot.object });
  });

  it('names a missing segment, snapshot data object and snapshot with their referrers', async () => {
    const { s2, s3, snapshot, verification } = objects;
    const manifest = await readSnapshot(repo, snapshot.object);
    const data = manifest.data[1]?.object as string;
    await harness.target.deleteObject(s2.object);
    await harness.target.deleteObject(data);
    expect(summary(await checkRepository(repo))).toEqual(
      [
        { kind: 'missing', object: s2.object, referencedBy: s3.object },
        { kind: 'missing', object: data, referencedBy: snapshot.object },
      ].sort((a, b) => (a.object < b.object ? -1 : 1)),
    );
    await harness.target.deleteObject(snapshot.object);
    expect(summary(await checkRepository(repo))).toContainEqual({
      kind: 'missing',
      object: snapshot.object,
      referencedBy: verification.object,
    });
  });

  it('names a missing account state and the snapshot that references it', async () => {
    const accounts = await writeAccountState(repo, {
      generation: 'g1',
      seq: 5,
      createdAt: '2025-03-01T00:00:00.000Z',
      users: [{ id: 'alice', username: 'alice', password_hash: 'h', disabled: 0, created_at: 1, updated_at: 1 }],
      devices: [],
      app_passwords: [],
      dav_names: [],
      imports: [],
    });
    const snapshot = await writeSnapshot(repo, {
      generation: 'g1',
      seq: 5,
      journal: null,
      records: [],
      blobs: {},
      accounts: accounts.object,
    });
    expect(summary(await checkRepository(repo))).toEqual([]);
    await harness.target.deleteObject(accounts.object);
    expect(summary(await checkRepository(repo))).toEqual([
      { kind: 'missing', object: accounts.object, referencedBy: snapshot.object },
    ]);
  });

  it('names a truncated segment as truncated', async () => {
    const { s3 } = objects;
    const stored = await harness.target.getObject(s3.object);
    for (const length of [Math.floor(stored.length / 2), stored.length - 1, 10, 0]) {
      await replaceObject(harness.target, s3.object, stored.subarray(0, length));
      expect(summary(await checkRepository(repo)), `length ${length}`).toEqual([
        { kind: 'truncated', object: s3.object },
      ]);
    }
  });

  it('reports a broken chain link, a chain with no start, and a fork within a generation', async () => {
    const { s1, s3 } = objects;
    const segment = (fromSeq: number, prev: { object: string; toSeq: number } | null, generation = 'g1') => ({
      generation,
      fromSeq,
      toSeq: fromSeq,
      prev,
      createdAt: '2025-01-01T00:00:00.000Z',
      revisions: [put(fromSeq, 'n9', 'x')],
      blobs: {},
    });
    // Other generations, so that these two are not also forks of s2 and s1.
    const badLink = await storeJson(
      repo,
      'journal',
      journalSegmentSchema,
      segment(9, { object: s1.object, toSeq: 8 }, 'g3'),
    );
    const noStart = await storeJson(repo, 'journal', journalSegmentSchema, segment(50, null, 'g4'));
    const fork = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: s3.object, toSeq: 5 },
      revisions: [],
      toSeq: 6,
    });
    const other = await writeJournalSegment(repo, {
      generation: 'g1',
      prev: { object: s3.object, toSeq: 5 },
      revisions: [],
      toSeq: 7,
    });
    const restored = await writeJournalSegment(repo, {
      generation: 'g2',
      prev: { object: s3.object, toSeq: 5 },
      revisions: [],
      toSeq: 6,
    });
    const report = summary(await checkRepository(repo));
    expect(report).toContainEqual({ kind: 'journal_gap', object: badLink.name });
    expect(report).toContainEqual({ kind: 'journal_gap', object: noStart.name });
    expect(report).toContainEqual({ kind: 'journal_fork', object: fork.object });
    expect(report).toContainEqual({ kind: 'journal_fork', object: other.object });
    expect(report.filter((problem) => problem.object === restored.object)).toEqual([]);
    expect(report).toHaveLength(4);
  });

  it('accepts a chain that starts after a snapshot covering the seqs before it', async () => {
    await writeJournalSegment(repo, { generation: 'g2', prev: null, revisions: [put(6, 'n1', 'after restore')] });
    expect(summary(await checkRepository(repo))).toEqual([]);
  });

  it('names a snapshot whose digests or counts disagree with its data as invalid', async () => {
    const manifest = await readSnapshot(repo, objects.snapshot.object);
    const wrongDigest = await storeJson(repo, 'snapshot', snapshotManifestSchema, {
      ...manifest,
      digests: {
        ...manifest.digests,
        alice: { ...manifest.digests.alice, notes: { count: 2, hash: sha256('x').slice(0, 32) } },
      },
    });
    const [first, ...rest] = manifest.data;
    const wrongCount = await storeJson(repo, 'snapshot', snapshotManifestSchema, {
      ...manifest,
      data: [{ object: first?.object as string, records: 2 }, ...rest],
      records: manifest.records - 1,
    });
    expect(summary(await checkRepository(repo))).toEqual(
      [
        { kind: 'invalid', object: wrongDigest.name },
        { kind: 'invalid', object: wrongCount.name },
      ].sort((a, b) => (a.object < b.object ? -1 : 1)),
    );
  });

  it('reports objects that are not part of the format as unexpected', async () => {
    await harness.target.putObject('notes/readme', Buffer.from('hello'));
    await harness.target.putObject('journal/not-a-hash', Buffer.from('hello'));
    expect(summary(await checkRepository(repo))).toEqual([
      { kind: 'unexpected', object: 'journal/not-a-hash' },
      { kind: 'unexpected', object: 'notes/readme' },
    ]);
  });

  it('treats re-uploading stored bytes as a no-op and refuses other bytes under the same name', async () => {
    const { s1 } = objects;
    const stored = await harness.target.getObject(s1.object);
    await harness.target.putObject(s1.object, stored);
    expect(await failureOf(harness.target.putObject(s1.object, flipByte(stored, 50)))).toBe('write_once');
    expect((await checkRepository(repo)).ok).toBe(true);
  });

  it('throws instead of passing when the target cannot be reached', async () => {
    await harness.breakTarget();
    expect(await failureOf(checkRepository(repo))).toBe('unavailable');
  });
});
