import {
  type JournalHead,
  type Repository,
  type ReusedData,
  type ReusedRecord,
  readSnapshotData,
  type StoredSnapshot,
  writeSnapshot,
} from '@holdfast/backup';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Db } from '../store/database.js';
import {
  type LightHeadRow,
  type LightRevision,
  readCollectionHeads,
  readHeadAsOf,
  readItemHeadPage,
} from '../store/entity-heads.js';
import { readAnyRevisionsBySeq, readHead } from '../store/revision-log.js';
import { ensureBlobs } from './blob-copy.js';
import type { RepositoryView } from './repository-view.js';
import { blobRefOf, toBackupRevision } from './revision-records.js';

/**
 * Which entity each data object of a snapshot holds, at which seq, position
 * by position (null where the snapshot drops the record): what an
 * incremental snapshot may reuse.
 */
export interface SnapshotLayout {
  snapshot: string;
  objects: { object: string; entries: ({ key: string; seq: number } | null)[] }[];
}

/**
 * Records per snapshot data object. A changed record no longer rewrites its
 * object (the next snapshot drops its position instead), so objects can be
 * large: fewer objects make the initial snapshot and the manifest cheaper.
 */
export const SNAPSHOT_CHUNK_RECORDS = 1000;

/**
 * An object whose included records fall below this share is not reused; its
 * remaining records are written again with the changed ones, which bounds
 * the dead weight a snapshot can reference.
 */
export const REUSE_MIN_LIVE_SHARE = 0.5;

type LightHead = ReusedRecord & { key: string };

function entityKey(row: { entity: string; user_id: string; item_id: string | null; collection_id: string }): string {
  return row.entity === 'item' ? `i\n${row.user_id}\n${row.item_id}` : `c\n${row.user_id}\n${row.collection_id}`;
}

function toLight(row: LightRevision): LightHead {
  return {
    key: entityKey(row),
    seq: row.seq,
    userId: row.user_id,
    entity: row.entity,
    collectionId: row.collection_id,
    itemId: row.item_id,
    op: row.op,
    hash: row.content_hash,
    blob: blobRefOf(row),
  };
}

/**
 * The head of `row`'s entity as of seq `at`: the row itself when it is not
 * newer, else the newest revision at or before `at` from the immutable log.
 */
async function headAsOf(db: Db, row: LightHeadRow, at: number): Promise<LightRevision | undefined> {
  if (row.seq <= at) return row;
  return readHeadAsOf(db, { userId: row.k_user, kind: row.entity, id: row.k_id }, at);
}

/**
 * The head revision of every entity as of seq `at`, without content. Reads
 * the materialised heads page by page without a long transaction: an entity
 * whose head moved past `at` meanwhile is looked up in the immutable log,
 * so the result is exactly the state at `at` whatever writes ran during it.
 */
export async function headsAt(db: Db, at: number): Promise<LightHead[]> {
  const heads: LightHead[] = [];
  const page = 2000;
  for (let after: [string, string] = ['', '']; ; ) {
    const rows = await readItemHeadPage(db, after, page);
    for (const row of rows) {
      const head = await headAsOf(db, row, at);
      if (head && head.op === 'put') heads.push(toLight(head));
    }
    const last = rows.at(-1);
    if (!last || rows.length < page) break;
    after = [last.k_user, last.k_id];
  }
  for (const row of await readCollectionHeads(db)) {
    const head = await headAsOf(db, { ...row, entity: 'collection' }, at);
    if (head && head.op === 'put') heads.push(toLight(head));
  }
  return heads;
}

/** Rebuilds the layout of a stored snapshot by reading its data objects. */
export async function readLayout(repo: Repository, snapshot: StoredSnapshot): Promise<SnapshotLayout> {
  const objects: SnapshotLayout['objects'] = [];
  for (const entry of snapshot.manifest.data) {
    const { records } = await readSnapshotData(repo, entry.object);
    const dropped = new Set(entry.drop ?? []);
    const entries = records.map((r, position) =>
      dropped.has(position)
        ? null
        : {
            key: entityKey({ entity: r.entity, user_id: r.userId, item_id: r.itemId, collection_id: r.collectionId }),
            seq: r.seq,
          },
    );
    objects.push({ object: entry.object, entries });
  }
  return { snapshot: snapshot.object, objects };
}

/** What {@link takeSnapshot} needs. */
export interface SnapshotJob {
  db: Db;
  blobs: BlobStore;
  repo: Repository;
  view: RepositoryView;
  blobIndex: Map<string, string>;
  generation: string;
  /** The newest journal segment of this generation, or null. */
  journal: JournalHead | null;
  /** The layout of the previous snapshot, to reuse its unchanged data objects. */
  previous: SnapshotLayout | null;
  /** The account state object the snapshot carries. */
  accounts: string | null;
}

/** The outcome of a snapshot. */
export interface SnapshotResult {
  snapshot: StoredSnapshot;
  layout: SnapshotLayout;
  reusedObjects: number;
  newObjects: number;
  blobsUploaded: number;
  blobBytes: number;
}

/**
 * Takes a compacted, incremental snapshot at the current head: data objects
 * of the previous snapshot whose records are all still the heads are
 * referenced again; only changed and new records are written.
 */
export async function takeSnapshot(job: SnapshotJob): Promise<SnapshotResult> {
  const seq = await readHead(job.db.kysely);
  const journal = job.journal && job.journal.toSeq <= seq ? job.journal : null;
  const heads = await headsAt(job.db, seq);
  const byKey = new Map(heads.map((head) => [head.key, head]));
  const reuse: ReusedData[] = [];
  const reused = new Set<string>();
  const layoutObjects: SnapshotLayout['objects'] = [];
  for (const object of job.previous?.objects ?? []) {
    if (!job.view.dataObjects.has(object.object)) continue;
    // A position stays only while its record is still the entity's head (and no other object kept it already).
    const entries = object.entries.map((entry) =>
      entry && !reused.has(entry.key) && byKey.get(entry.key)?.seq === entry.seq ? entry : null,
    );
    const live = entries.filter((entry) => entry !== null);
    if (live.length === 0 || live.length < entries.length * REUSE_MIN_LIVE_SHARE) continue;
    reuse.push({
      object: object.object,
      records: live.map((entry) => byKey.get(entry.key) as LightHead),
      drop: entries.flatMap((entry, position) => (entry === null ? [position] : [])),
    });
    for (const entry of live) reused.add(entry.key);
    layoutObjects.push({ object: object.object, entries });
  }
  const fresh = heads.filter((head) => !reused.has(head.key));
  const blobShas = heads.flatMap((head) => (head.blob ? [head.blob.sha256] : []));
  const copied = await ensureBlobs(job.repo, job.blobs, job.view, job.blobIndex, blobShas);
  const db = job.db;
  async function* records() {
    for (let i = 0; i < fresh.length; i += 500) {
      const seqs = fresh.slice(i, i + 500).map((head) => head.seq);
      const rows = await readAnyRevisionsBySeq(db.kysely, seqs);
      const bySeq = new Map(rows.map((row) => [row.seq, row]));
      for (const s of seqs) {
        const row = bySeq.get(s);
        if (row) yield toBackupRevision(row);
      }
    }
  }
  const snapshot = await writeSnapshot(job.repo, {
    generation: job.generation,
    seq,
    journal,
    records: records(),
    blobs: copied.map,
    reuse,
    chunkRecords: SNAPSHOT_CHUNK_RECORDS,
    accounts: job.accounts,
  });
  let cursor = 0;
  for (const entry of snapshot.manifest.data.slice(reuse.length)) {
    const entries = fresh.slice(cursor, cursor + entry.records).map((head) => ({ key: head.key, seq: head.seq }));
    cursor += entry.records;
    layoutObjects.push({ object: entry.object, entries });
    job.view.dataObjects.add(entry.object);
  }
  job.view.snapshots.push(snapshot);
  return {
    snapshot,
    layout: { snapshot: snapshot.object, objects: layoutObjects },
    reusedObjects: reuse.length,
    newObjects: snapshot.manifest.data.length - reuse.length,
    blobsUploaded: copied.uploaded,
    blobBytes: copied.bytes,
  };
}
