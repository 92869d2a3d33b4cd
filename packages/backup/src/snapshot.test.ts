import { AppError } from '@holdfast/protocol';
import { createTestRepository, put, putCollection, sha256 } from '@holdfast/test-support/backup-fixtures';
import { createHarness, type TargetHarness, targetKinds } from '@holdfast/test-support/backup-targets';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAccountStates, readAccountState, writeAccountState } from './accounts.js';
import { writeBlob } from './blob.js';
import { computeDigests } from './digest.js';
import { writeJournalSegment } from './journal.js';
import type { Repository } from './repository.js';
import { type Revision, snapshotManifestSchema } from './schemas.js';
import { listSnapshots, readSnapshot, readSnapshotRecords, writeSnapshot } from './snapshot.js';
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

  it('reuses a data object minus dropped positions, in reading, counts and digests', async () => {
    const first = await writeSnapshot(repo, {
      generation: 'g1',
      seq: 3,
      journal: null,
      records: [put(1, 'a', 'one'), put(2, 'b', 'two'), put(3, 'c', 'three')],
      blobs: {},
    });
    const kept = [put(1, 'a', 'one'), put(3, 'c', 'three')];
    const changed = put(4, 'b', 'two, edited');
    const second = await writeSnapshot(repo, {
      generation: 'g1',
      seq: 4,
      journal: null,
      records: [changed],
      blobs: {},
      reuse: [{ object: first.manifest.data[0]?.object as string, records: kept, drop: [1] }],
    });
    expect(second.manifest.data[0]).toEqual({ object: first.manifest.data[0]?.object, records: 3, drop: [1] });
    expect(second.manifest.records).toBe(3);
    expect(second.manifest.digests).toEqual(computeDigests([...kept, changed]));
    expect(await collect(readSnapshotRecords(repo, second.manifest))).toEqual([...kept, changed]);
    const badDrop = { ...second.manifest, data: [{ ...second.manifest.data[0], drop: [1, 1] }] };
    expect(snapshotManifestSchema.safeParse(badDrop).success).toBe(false);
  });

  it('stores account states, names them from a snapshot and refuses rows of unknown users', async () => {
    const state = {
      generation: 'g1',
      seq: 0,
      createdAt: '2025-01-01T00:00:00.000Z',
      users: [
        { id: 'u1', username: 'alice', password_hash: '$argon2id$v=19$x', disabled: 0, created_at: 1, updated_at: 1 },
      ],
      devices: [{ id: 'd1', user_id: 'u1', name: 'phone', token_hash: 'ab', created_at: 2, revoked_at: null }],
      app_passwords: [],
      dav_names: [{ user_id: 'u1', collection_id: 'book', name: 'x@y.vcf', item_id: 'i1', created_at: 3 }],
      imports: [],
    };
    const later = await writeAccountState(repo, { ...state, seq: 2, createdAt: '2025-01-01T00:00:00.000Z' });
    const earlier = await writeAccountState(repo, { ...state, createdAt: '2025-01-02T00:00:00.000Z' });
    expect((await listAccountStates(repo)).map((entry) => entry.object)).toEqual([earlier.object, later.object]);
    expect(await readAccountState(repo, earlier.object)).toEqual({ ...state, createdAt: '2025-01-02T00:00:00.000Z' });
    const snapshot = await writeSnapshot(repo, {
      generation: 'g1',
      seq: 0,
      journal: null,
      records: [],
      blobs: {},
      accounts: later.object,
    });
    expect((await readSnapshot(repo, snapshot.object)).accounts).toBe(later.object);
    const missing = writeSnapshot(repo, {
      generation: 'g1',
      seq: 0,
      journal: null,
      records: [],
      blobs: {},
      accounts: `accounts/${'0'.repeat(64)}`,
    });
    expect((await rejection(missing)).code).toBe('precondition_failed');
    const orphan = writeAccountState(repo, { ...state, devices: [{ ...state.devices[0], user_id: 'u2' }] } as never);
    expect((await rejection(orphan)).code).toBe('invalid_request');
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
