import { AppError } from '@holdfast/protocol';
import { digestBuilder } from './digest.js';
import { objectError } from './envelope.js';
import { type JournalHead, readJournalSegment } from './journal.js';
import {
  assertStored,
  listRepositoryObjects,
  loadJson,
  loadObject,
  openStoredObjectAsync,
  storeJson,
  typePrefix,
} from './object-store.js';
import { decodeSnapshotRecords } from './record-check.js';
import type { Repository } from './repository.js';
import {
  type BlobMap,
  type Revision,
  type SnapshotData,
  type SnapshotDataEntry,
  type SnapshotManifest,
  snapshotDataSchema,
  snapshotManifestSchema,
} from './schemas.js';

/** What a new snapshot holds. */
export interface SnapshotInput {
  /** The server database lineage. */
  generation: string;
  /** Every revision with seq ≤ this is reflected in `records`. */
  seq: number;
  /** The newest journal segment when the snapshot was taken (its toSeq ≤ seq), or null if there is none. */
  journal: JournalHead | null;
  /** The head revision of every live entity (op `put`), in any order. */
  records: Iterable<Revision> | AsyncIterable<Revision>;
  /** Plaintext sha256 → blob object, for (at least) every blob the records reference. */
  blobs: BlobMap | ReadonlyMap<string, string>;
  /** Records per data object (default 2000). */
  chunkRecords?: number;
  /**
   * Data objects of an earlier snapshot to reference again instead of
   * rewriting (an incremental snapshot). Each must be stored and hold exactly
   * the records given here, which must not be repeated in `records`; only
   * the fields that digests and blob maps need are required.
   */
  reuse?: readonly ReusedData[];
  /** The account state object the snapshot carries (it must be stored), or null. */
  accounts?: string | null;
}

/** The fields of a record that a reused data object contributes to a manifest. */
export type ReusedRecord = Pick<
  Revision,
  'userId' | 'collectionId' | 'itemId' | 'entity' | 'op' | 'hash' | 'seq' | 'blob'
>;

/**
 * A data object of an earlier snapshot, referenced again by a new one.
 * `records` are the records it still contributes, in object order; `drop`
 * (ascending) are the positions of the ones it no longer does, so the object
 * holds `records.length + drop.length` records.
 */
export interface ReusedData {
  object: string;
  records: readonly ReusedRecord[];
  drop?: readonly number[];
}

/** A stored snapshot manifest and its object name. */
export interface StoredSnapshot {
  object: string;
  manifest: SnapshotManifest;
}

/** Approximate bytes of content per data object before a new one is started. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** Data objects compressing and writing at once: enough to keep two cores busy, little memory. */
const DATA_WRITES_IN_FLIGHT = 3;

/**
 * Writes a snapshot in the only safe order: the data objects, then (after
 * confirming the journal head and every referenced blob are stored) the
 * manifest, last. Until the manifest exists the snapshot does not; a crash
 * before it leaves only unreferenced objects.
 */
export async function writeSnapshot(repo: Repository, input: SnapshotInput): Promise<StoredSnapshot> {
  if (input.journal) {
    const head = await readJournalSegment(repo, input.journal.object);
    if (head.toSeq !== input.journal.toSeq || head.toSeq > input.seq) {
      throw new AppError(
        'precondition_failed',
        `journal head ${input.journal.object} ends at ${head.toSeq}, which does not fit this snapshot`,
      );
    }
  }
  const given = input.blobs instanceof Map ? Object.fromEntries(input.blobs) : { ...(input.blobs as BlobMap) };
  const digests = digestBuilder();
  const blobs: BlobMap = {};
  const data: SnapshotManifest['data'] = [];
  const limit = Math.max(1, input.chunkRecords ?? 2000);
  let chunk: Revision[] = [];
  let chunkBytes = 0;
  /** Counts a record in the digests and maps its blob. */
  const include = (record: ReusedRecord) => {
    digests.add(record);
    if (!record.blob) return;
    const object = given[record.blob.sha256];
    if (object === undefined)
      throw new AppError('invalid_request', `no blob object given for blob ${record.blob.sha256}`);
    blobs[record.blob.sha256] = object;
  };
  for (const entry of input.reuse ?? []) {
    for (const record of entry.records) {
      if (record.op !== 'put' || record.seq > input.seq) {
        throw new AppError('invalid_request', `reused record seq ${record.seq} does not fit this snapshot`);
      }
      include(record);
    }
    const drop = [...(entry.drop ?? [])];
    data.push({
      object: entry.object,
      records: entry.records.length + drop.length,
      ...(drop.length > 0 ? { drop } : {}),
    });
  }
  const carried = input.accounts ? [input.accounts] : [];
  await assertStored(repo, [...(input.reuse ?? []).map((entry) => entry.object), ...carried], 'snapshot manifest');
  // Data objects are compressed and written while the next records are read; `data` keeps their order.
  const writing: Promise<SnapshotDataEntry>[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const records = chunk;
    writing.push(
      storeJson(repo, 'snapshot-data', snapshotDataSchema, { records }).then(({ name }) => ({
        object: name,
        records: records.length,
      })),
    );
    chunk = [];
    chunkBytes = 0;
    if (writing.length >= DATA_WRITES_IN_FLIGHT) {
      data.push(await (writing[0] as Promise<SnapshotDataEntry>));
      writing.shift();
    }
  };
  const collect = async () => {
    // storeJson validates every record against the schema before its data object is written.
    for await (const record of input.records) {
      if (record.op !== 'put') throw new AppError('invalid_request', `snapshot record seq ${record.seq} is a delete`);
      if (record.seq > input.seq) {
        throw new AppError(
          'invalid_request',
          `snapshot record seq ${record.seq} is after the snapshot seq ${input.seq}`,
        );
      }
      include(record);
      chunk.push(record);
      chunkBytes += (record.content?.length ?? 0) + 256;
      if (chunk.length >= limit || chunkBytes >= CHUNK_BYTES) await flush();
    }
    await flush();
    for (const entry of writing) data.push(await entry);
    writing.length = 0;
  };
  try {
    await collect();
  } finally {
    // A failed write or a bad record must not leave other writes running unobserved.
    await Promise.allSettled(writing);
  }
  await assertStored(repo, Object.values(blobs), 'snapshot manifest');
  const { name, value } = await storeJson(repo, 'snapshot', snapshotManifestSchema, {
    generation: input.generation,
    seq: input.seq,
    createdAt: repo.clock().toISOString(),
    journal: input.journal ? { head: input.journal.object, toSeq: input.journal.toSeq } : { head: null, toSeq: 0 },
    data,
    records: data.reduce((sum, entry) => sum + entry.records - (entry.drop?.length ?? 0), 0),
    blobs,
    digests: digests.digests(),
    ...(input.accounts ? { accounts: input.accounts } : {}),
  });
  return { object: name, manifest: value };
}

/** Reads, rehashes, decrypts and validates a snapshot manifest. */
export function readSnapshot(repo: Repository, object: string): Promise<SnapshotManifest> {
  return loadJson(repo, 'snapshot', snapshotManifestSchema, object);
}

/** Reads, rehashes, decrypts and validates one snapshot data object (every record it holds). */
export async function readSnapshotData(repo: Repository, object: string): Promise<SnapshotData> {
  return { records: decodeSnapshotRecords(object, await loadObject(repo, 'snapshot-data', object)) };
}

/**
 * The records of one data object that a snapshot includes: all of them but
 * the positions its manifest entry drops. The object must hold exactly the
 * number of records the entry says.
 */
export function includedRecords(entry: SnapshotDataEntry, records: readonly Revision[]): Revision[] {
  if (records.length !== entry.records) {
    throw objectError('invalid', entry.object, `holds ${records.length} records, the manifest says ${entry.records}`);
  }
  if (!entry.drop || entry.drop.length === 0) return [...records];
  const dropped = new Set(entry.drop);
  return records.filter((_, position) => !dropped.has(position));
}

/**
 * The snapshot's records, data object by data object, without the ones the
 * manifest drops.
 */
export async function* readSnapshotRecords(repo: Repository, manifest: SnapshotManifest): AsyncGenerator<Revision> {
  const entries = manifest.data;
  const reads: (Promise<Uint8Array> | undefined)[] = [];
  const readAhead = (index: number) => {
    const entry = entries[index];
    if (!entry) return;
    // Opened as soon as read: the thread pool decompresses the objects ahead while this thread parses one.
    const read = repo.target
      .getObject(entry.object)
      .then((stored) => openStoredObjectAsync(repo, 'snapshot-data', entry.object, stored));
    // Awaited below in order; a reader that stops early must not leave a rejection unobserved.
    read.catch(() => {});
    reads[index] = read;
  };
  for (let index = 0; index < READ_AHEAD; index++) readAhead(index);
  for (const [index, entry] of entries.entries()) {
    const payload = await (reads[index] as Promise<Uint8Array>);
    reads[index] = undefined;
    readAhead(index + READ_AHEAD);
    yield* includedRecords(entry, decodeSnapshotRecords(entry.object, payload));
  }
}

/** Data objects read ahead of the one being decoded: reads from the target overlap decrypting and parsing. */
const READ_AHEAD = 4;

/**
 * Every snapshot, oldest first by the seq it covers, then by recorded
 * creation time (never by name: names are hashes). Throws if any manifest
 * cannot be read, so a caller never decides on a partial view.
 */
export async function listSnapshots(repo: Repository): Promise<StoredSnapshot[]> {
  const snapshots: StoredSnapshot[] = [];
  for (const object of await listRepositoryObjects(repo, typePrefix('snapshot'))) {
    snapshots.push({ object, manifest: await readSnapshot(repo, object) });
  }
  return snapshots.sort(
    (a, b) =>
      a.manifest.seq - b.manifest.seq ||
      Date.parse(a.manifest.createdAt) - Date.parse(b.manifest.createdAt) ||
      (a.object < b.object ? -1 : 1),
  );
}
