import { hash } from 'node:crypto';
import {
  type BlobMap,
  listAccountStates,
  type Repository,
  type Revision,
  readJournalChain,
  readSnapshotRecords,
  type StoredAccountState,
  type StoredSnapshot,
} from '@holdfast/backup';
import { AppError, EMPTY_DIGEST } from '@holdfast/protocol';
import { writeRestoredRows } from '../store/bulk-restore.js';
import { isDatabaseEmpty } from '../store/counts.js';
import type { Db } from '../store/database.js';
import { readLiveCollectionCounts } from '../store/entity-heads.js';
import type { RevisionRow } from '../store/revision-log.js';
import { type AccountTables, accountRowsToRestore } from './account-tables.js';
import { type HistorySummary, planRepositoryRestore, type RestorePoint, summarizeHistory } from './histories.js';
import { chainHead, loadSegmentCache, scanRepository } from './repository-view.js';
import { type BlobMode, type FetchedBlobs, fetchBlobs } from './restore-blobs.js';
import { toRevisionRow } from './revision-records.js';

export type { RestorePoint } from './histories.js';
export type { BlobMode } from './restore-blobs.js';

/** The outcome of a restore. */
export interface RestoreResult {
  snapshot: StoredSnapshot;
  /** The history restored and the others on the target (null when the caller chose the snapshot). */
  history: { chosen: HistorySummary; others: HistorySummary[] } | null;
  /** The seq the database was restored to. */
  seq: number;
  /** The account state restored, or null when the repository has none (accounts are then placeholders). */
  accounts: { object: string; users: number } | null;
  /** Users the revisions name that no account state held: restored as disabled `restored-<userId>` accounts. */
  placeholderUsers: string[];
  /** Revisions written (snapshot records plus journal tail). */
  revisions: number;
  journalRevisions: number;
  blobsRead: number;
  blobBytes: number;
  /** Live items and collections per user after the restore. */
  users: Record<string, { items: number; collections: number }>;
}

/**
 * The snapshot to start from for `point`: the newest one at or before it in
 * the longest history that reaches it, preferring snapshots that passed a
 * drill (ordering by recorded seq and time, never by name). See
 * {@link planRepositoryRestore}.
 */
export async function chooseSnapshot(repo: Repository, point: RestorePoint = {}): Promise<StoredSnapshot> {
  return (await planRepositoryRestore(repo, point)).snapshot;
}

/** The account state a restore writes, and the credentials later states revoked. */
interface ChosenAccounts {
  object: string;
  tables: AccountTables;
  revoked: { devices: Map<string, number>; appPasswords: Map<string, number> };
}

/**
 * The account state for a restore to `seq` (null: the snapshot alone): the
 * newest state of the snapshot's lineage that is not newer than the restore
 * point, else the one the snapshot carries. Devices and app passwords that
 * any later state of the lineage revoked stay revoked.
 */
async function chooseAccountState(
  repo: Repository,
  snapshot: StoredSnapshot,
  seq: number | null,
  point: RestorePoint,
): Promise<ChosenAccounts | null> {
  const lineage = (await listAccountStates(repo)).filter((s) => s.state.generation === snapshot.manifest.generation);
  const fits = (s: StoredAccountState) =>
    seq !== null &&
    s.state.seq <= seq &&
    (point.at === undefined || Date.parse(s.state.createdAt) <= point.at.getTime());
  const chosen = lineage.filter(fits).at(-1) ?? lineage.find((s) => s.object === snapshot.manifest.accounts) ?? null;
  if (!chosen) {
    if (snapshot.manifest.accounts === undefined) return null;
    throw new AppError('internal', `account state ${snapshot.manifest.accounts} of the snapshot was not found`);
  }
  const revoked = { devices: new Map<string, number>(), appPasswords: new Map<string, number>() };
  for (const later of lineage.slice(lineage.indexOf(chosen) + 1)) {
    for (const row of later.state.devices) if (row.revoked_at !== null) revoked.devices.set(row.id, row.revoked_at);
    for (const row of later.state.app_passwords)
      if (row.revoked_at !== null) revoked.appPasswords.set(row.id, row.revoked_at);
  }
  const { generation: _generation, seq: _seq, createdAt: _createdAt, ...tables } = chosen.state;
  return { object: chosen.object, tables, revoked };
}

/**
 * Restores a snapshot and the journal after it into `db`, which must be an
 * empty database at the current schema (refused otherwise: a restore never
 * writes over data). The revision log is written back as it was, and the
 * materialised heads and per-collection summaries are rebuilt from it. The
 * account tables come from the newest fitting account state, so people log
 * in with their passwords, devices with their tokens and DAV clients with
 * their app passwords. A user the revisions name but no account state
 * holds (a snapshot written before accounts were backed up) gets a disabled
 * placeholder account named `restored-<userId>` until an operator sets a
 * password.
 */
export async function restoreRepository(
  repo: Repository,
  db: Db,
  options: {
    point?: RestorePoint;
    snapshot?: StoredSnapshot;
    /** Restore this generation's history instead of the one chosen by default. */
    generation?: string;
    blobs: BlobMode;
    journal?: boolean;
  },
): Promise<RestoreResult> {
  await assertEmpty(db);
  const point = options.point ?? {};
  let snapshot: StoredSnapshot;
  let head: { object: string; toSeq: number } | null = null;
  let history: RestoreResult['history'] = null;
  if (options.snapshot) {
    snapshot = options.snapshot;
    if (options.journal !== false) {
      head = chainHead(await scanRepository(repo, await loadSegmentCache(null)), snapshot.manifest.generation);
    }
  } else {
    const plan = await planRepositoryRestore(repo, point, options.generation);
    snapshot = plan.snapshot;
    head = plan.history.head;
    history = { chosen: summarizeHistory(plan.history), others: plan.others.map(summarizeHistory) };
  }
  const revisions: Revision[] = [];
  const blobObjects: BlobMap = { ...snapshot.manifest.blobs };
  for await (const record of readSnapshotRecords(repo, snapshot.manifest)) revisions.push(record);
  revisions.sort((a, b) => a.seq - b.seq);
  let seq = snapshot.manifest.seq;
  let journalRevisions = 0;
  if (options.journal !== false && head && head.toSeq > snapshot.manifest.seq) {
    for (const { segment } of await readJournalChain(repo, head.object, snapshot.manifest.seq)) {
      let stop = false;
      for (const revision of segment.revisions) {
        if (revision.seq <= snapshot.manifest.seq) continue;
        if (point.seq !== undefined && revision.seq > point.seq) stop = true;
        if (point.at !== undefined && Date.parse(revision.at) > point.at.getTime()) stop = true;
        if (stop) break;
        revisions.push(revision);
        journalRevisions += 1;
        if (revision.blob) blobObjects[revision.blob.sha256] = segment.blobs[revision.blob.sha256] as string;
      }
      if (stop) break;
      seq = point.seq !== undefined ? Math.min(segment.toSeq, point.seq) : segment.toSeq;
    }
  }
  const restoredSeq = Math.max(seq, revisions.at(-1)?.seq ?? 0);
  const accounts = await chooseAccountState(repo, snapshot, options.journal === false ? null : restoredSeq, point);
  // Every object is read (and every blob stored) before the database is written: a damaged object leaves it empty.
  // A drill only reads and hashes blobs, so that overlaps writing its scratch database.
  const fetching = fetchBlobs(repo, revisions, blobObjects, options.blobs);
  const early = options.blobs.mode === 'store' ? await fetching : null;
  // Both finish before anything is thrown, so nothing still writes into a database the caller closes.
  const [written, fetched] = await Promise.allSettled([
    writeLog(db, revisions, restoredSeq, accounts, early?.stored ?? []),
    early ?? fetching,
  ]);
  if (fetched.status === 'rejected') throw fetched.reason;
  if (written.status === 'rejected') throw written.reason;
  const placeholderUsers = written.value;
  const blobs = fetched.value;
  const users = await countPerUser(db);
  return {
    snapshot,
    history,
    seq: restoredSeq,
    accounts: accounts ? { object: accounts.object, users: accounts.tables.users.length } : null,
    placeholderUsers,
    revisions: revisions.length,
    journalRevisions,
    blobsRead: blobs.read,
    blobBytes: blobs.bytes,
    users,
  };
}

async function assertEmpty(db: Db): Promise<void> {
  if (!(await isDatabaseEmpty(db))) {
    throw new AppError('conflict', `${db.describe} is not empty; a restore only writes into a new, empty database`);
  }
}

interface Head {
  row: RevisionRow;
  createdAt: number;
}

/**
 * Writes the log and rebuilds what the server materialises from it (item
 * and collection heads, live counts and digests) and the blob index, in one
 * transaction.
 */
async function writeLog(
  db: Db,
  revisions: readonly Revision[],
  headSeq: number,
  accounts: ChosenAccounts | null,
  blobs: FetchedBlobs['stored'],
): Promise<string[]> {
  const rows = revisions.map(toRevisionRow);
  const known = new Set(accounts?.tables.users.map((user) => user.id));
  const users = [...new Set(rows.map((row) => row.user_id))].filter((id) => !known.has(id)).sort();
  const items = new Map<string, Head>();
  const collections = new Map<string, Head>();
  for (const row of rows) {
    const map = row.entity === 'item' ? items : collections;
    const key = `${row.user_id}\n${row.entity === 'item' ? row.item_id : row.collection_id}`;
    const previous = map.get(key);
    map.set(key, { row, createdAt: previous?.createdAt ?? row.created_at });
  }
  // Summed in bytes and turned into hex once per collection (the digest itemDigest and xorDigest define).
  const sums = new Map<string, { count: number; digest: Buffer }>();
  for (const { row } of items.values()) {
    if (row.op !== 'put') continue;
    const key = `${row.user_id}\n${row.collection_id}`;
    const sum = sums.get(key) ?? { count: 0, digest: Buffer.alloc(16) };
    const item = hash('sha256', `${row.item_id ?? ''}\n${row.content_hash ?? ''}`, 'buffer');
    for (let i = 0; i < 16; i++) sum.digest[i] = (sum.digest[i] as number) ^ (item[i] as number);
    sum.count += 1;
    sums.set(key, sum);
  }
  const summaries = new Map(
    [...sums].map(([key, sum]) => [key, { count: sum.count, digest: sum.digest.toString('hex') }] as const),
  );
  const collectionRows = [...collections.values()].map(({ row, createdAt }) => {
    const fields = collectionFields(row);
    const summary = summaries.get(`${row.user_id}\n${row.collection_id}`) ?? { count: 0, digest: EMPTY_DIGEST };
    return {
      user_id: row.user_id,
      id: row.collection_id,
      ...fields,
      deleted: row.op === 'delete' ? 1 : 0,
      head_seq: row.seq,
      item_count: summary.count,
      digest: summary.digest,
      created_at: createdAt,
      updated_at: row.created_at,
    };
  });
  // Items can outlive a collection record that was never captured (deleted before the snapshot).
  for (const { row } of items.values()) {
    const key = `${row.user_id}\n${row.collection_id}`;
    if (collections.has(key)) continue;
    collections.set(key, { row, createdAt: row.created_at });
    const summary = summaries.get(key) ?? { count: 0, digest: EMPTY_DIGEST };
    collectionRows.push({
      user_id: row.user_id,
      id: row.collection_id,
      type: 'unknown',
      name: row.collection_id,
      description: '',
      color: null,
      deleted: 1,
      head_seq: row.seq,
      item_count: summary.count,
      digest: summary.digest,
      created_at: row.created_at,
      updated_at: row.created_at,
    });
  }
  const itemRows = [...items.values()].map(({ row, createdAt }) => ({
    user_id: row.user_id,
    id: row.item_id as string,
    collection_id: row.collection_id,
    head_seq: row.seq,
    deleted: row.op === 'delete' ? 1 : 0,
    content_hash: row.op === 'delete' ? null : row.content_hash,
    size: row.op === 'delete' ? 0 : row.size,
    created_at: createdAt,
    updated_at: row.created_at,
  }));
  const now = Date.now();
  await writeRestoredRows(db, {
    accounts: accounts ? accountRowsToRestore(accounts.tables, accounts.revoked) : null,
    placeholderUsers: users.map((userId) => ({
      id: userId,
      username: `restored-${userId}`,
      // No password hash matches '!': the account cannot log in until an operator sets a password.
      password_hash: '!',
      disabled: 1,
      created_at: now,
      updated_at: now,
    })),
    revisions: rows,
    collections: collectionRows,
    items: itemRows,
    headSeq,
    blobs,
  });
  return users;
}

/** A collection's fields as its revision recorded them. */
export function collectionFields(row: RevisionRow): {
  type: string;
  name: string;
  description: string;
  color: string | null;
} {
  try {
    const parsed = JSON.parse(row.content ?? '{}') as Record<string, unknown>;
    return {
      type: typeof parsed.type === 'string' ? parsed.type : 'unknown',
      name: typeof parsed.name === 'string' ? parsed.name : row.collection_id,
      description: typeof parsed.description === 'string' ? parsed.description : '',
      color: typeof parsed.color === 'string' ? parsed.color : null,
    };
  } catch {
    return { type: 'unknown', name: row.collection_id, description: '', color: null };
  }
}

/** Live items and collections per user. */
export async function countPerUser(db: Db): Promise<Record<string, { items: number; collections: number }>> {
  const out: Record<string, { items: number; collections: number }> = {};
  for (const row of await readLiveCollectionCounts(db)) {
    const entry = out[row.user_id] ?? { items: 0, collections: 0 };
    entry.collections += 1;
    entry.items += row.item_count;
    out[row.user_id] = entry;
  }
  return out;
}
