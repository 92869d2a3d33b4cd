import { join } from 'node:path';
import {
  acquireLock,
  type JournalHead,
  LOCK_PREFIX,
  type LockHandle,
  openRepository,
  pruneInProgress,
  type Repository,
  readAccountState,
  type Target,
  writeAccountState,
  writeJournalSegment,
} from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Config } from '../config.js';
import { readAccountProbe } from '../store/account-state.js';
import type { Db } from '../store/database.js';
import { readGeneration, readLineageMeta } from '../store/meta.js';
import { readHead } from '../store/revision-log.js';
import { accountFingerprint, readAccountTables } from './account-tables.js';
import { ensureBlobs } from './blob-copy.js';
import {
  blobIndexOf,
  chainHead,
  forgetSavedSegments,
  loadSegmentCache,
  newestAccountState,
  newestSnapshot,
  type RepositoryView,
  rememberAccountState,
  rememberLayout,
  rememberSegment,
  type SegmentCache,
  saveSegmentCache,
  scanRepository,
} from './repository-view.js';
import { type RevisionHandoff, takeRevisions } from './revision-handoff.js';
import { toBackupRevision } from './revision-records.js';
import { readLayout, type SnapshotLayout, type SnapshotResult, takeSnapshot } from './snapshot-builder.js';
import { backupSecret, lockHolder } from './targets.js';

/** Thrown when a prune holds the target: the writer releases its lock and tries again later. */
export class PruneInProgress extends Error {
  constructor(target: string) {
    super(`a prune is running on ${target}; shipping resumes when it is done`);
  }
}

/**
 * Thrown when another server holds the target's backup lock: several servers
 * on one database ship through one of them, and the others stand by.
 */
export class ShippedElsewhere extends Error {
  constructor(target: string, lock: string) {
    super(`another server is shipping to ${target} (${lock}); this one stands by`);
  }
}

/** Revisions per journal segment at most; a backlog is shipped as several segments. */
export const SEGMENT_REVISIONS = 1000;
const LOCK_TTL_MS = 10 * 60_000;

/** One target's shipping state. Everything here can be rebuilt from the repository itself. */
export interface TargetRuntime {
  location: string;
  target: Target;
  connection: Connection | null;
  /** The revisions this process's writes handed over, so shipping need not read them back (revision-handoff.ts). */
  handoff?: RevisionHandoff;
}

/** An open repository and what this process knows about it. */
export interface Connection {
  repo: Repository;
  view: RepositoryView;
  cache: SegmentCache;
  blobIndex: Map<string, string>;
  generation: string;
  /** The newest segment of this generation's chain, or null before the first. */
  head: JournalHead | null;
  /** Every revision with seq ≤ this is on the target (in the journal or a snapshot). */
  shippedSeq: number;
  layout: SnapshotLayout | null;
  lastSnapshotSeq: number;
  lastSnapshotAt: number;
  lock: LockHandle;
  lockRefreshedAt: number;
  /**
   * The newest account state of this generation on the target, the fingerprint
   * of its tables, and the probe (readAccountProbe) read before the tables that
   * last matched it, or null.
   */
  accounts: { object: string; fingerprint: string; probe: string | null } | null;
  /** When the account tables were last compared with the target (wall clock). */
  accountsCheckedAt: number;
  /** The account epoch (ack-gate.ts) whose changes the newest account state on the target holds. */
  accountsEpoch: number;
  /** When shipping last looked for a prune lock (wall clock; 0: look before the next write). */
  pruneCheckedAt: number;
  handoff?: RevisionHandoff | undefined;
}

/**
 * While revisions keep arriving, the account tables (which can be large:
 * every DAV name) are compared with the target at most this often.
 */
const ACCOUNT_CHECK_INTERVAL_MS = 1000;

/**
 * While segments follow each other, a writer looks for a prune lock at most
 * this often rather than before every segment (listing the locks cost as much
 * as a small segment). A prune waits for the writer's own lock to go (30 s by
 * default), so this bounds only how long it waits, never what it may delete.
 */
const PRUNE_CHECK_INTERVAL_MS = 1000;

/** What shipping needs from the server. */
export interface ShipDeps {
  config: Config;
  db: Db;
  blobs: BlobStore;
  now: () => number;
  /** Account changes this process has committed so far (ack-gate.ts); read before the account tables. */
  accountEpoch?: () => number;
  /** Whether an account change waits for its targets: the tables are compared now rather than within a second. */
  accountsPending?: () => boolean;
}

/**
 * Opens the repository on a target, takes the backup lock and works out
 * where shipping resumes: the head of this generation's chain, or the
 * newest snapshot of this generation, or nothing yet (a snapshot comes first).
 */
export async function connect(deps: ShipDeps, runtime: TargetRuntime): Promise<Connection> {
  const repo = await openRepository(runtime.target, backupSecret(deps.config), { clock: () => new Date(deps.now()) });
  if (await pruneInProgress(repo)) throw new PruneInProgress(runtime.target.description);
  const cache = await loadSegmentCache(join(deps.config.dataDir, 'backup-cache', `${repo.id}.json`));
  const generation = await readGeneration(deps.db.kysely);
  const lock = await acquireLock(repo, {
    kind: 'backup',
    holder: lockHolder(deps.config),
    ttlMs: LOCK_TTL_MS,
    generation,
    supersedes: await readAncestors(deps.db),
  }).catch((error: unknown) => {
    const held = error instanceof AppError && error.code === 'conflict' ? String(error.details?.lock ?? '') : '';
    throw held.startsWith(`${LOCK_PREFIX}backup-`) ? new ShippedElsewhere(runtime.target.description, held) : error;
  });
  try {
    const view = await scanRepository(repo, cache);
    const head = chainHead(view, generation);
    const snapshot = newestSnapshot(view, generation);
    const accounts = newestAccountState(view, generation);
    const blobIndex = blobIndexOf(view);
    // Segment facts are read here and not again while connected (see rememberSegment): a repository of a
    // hundred thousand segments would otherwise keep some 37 MB for as long as the connection lasts.
    view.segments.clear();
    forgetSavedSegments(cache);
    return {
      repo,
      view,
      cache,
      blobIndex,
      generation,
      head,
      shippedSeq: head?.toSeq ?? snapshot?.manifest.seq ?? -1,
      layout: null,
      lastSnapshotSeq: snapshot?.manifest.seq ?? -1,
      lastSnapshotAt: snapshot ? Date.parse(snapshot.manifest.createdAt) : 0,
      lock,
      lockRefreshedAt: deps.now(),
      accountsCheckedAt: 0,
      accountsEpoch: 0,
      // Just looked, above; and the lock taken since would have failed beside a prune's.
      pruneCheckedAt: Date.now(),
      handoff: runtime.handoff,
      accounts: accounts
        ? { object: accounts, fingerprint: accountFingerprint(await readAccountState(repo, accounts)), probe: null }
        : null,
    };
  } catch (error) {
    await lock.release().catch(() => {});
    throw error;
  }
}

/**
 * The generations this database's lineage replaced: the one a restore came
 * from, and those a detected rollback ended. Servers shipping them are gone
 * for good (their history ended), so their backup locks need not expire.
 */
async function readAncestors(db: Db): Promise<string[]> {
  const rows = await readLineageMeta(db);
  const out: string[] = [];
  for (const row of rows) {
    if (row.key.startsWith('generation_replaced:')) out.push(row.key.slice('generation_replaced:'.length));
    else {
      try {
        const from = JSON.parse(row.value) as { generation?: unknown };
        if (typeof from.generation === 'string') out.push(from.generation);
      } catch {
        // An unreadable note names no ancestor.
      }
    }
  }
  return out;
}

/** Steps back (throws {@link PruneInProgress}) when a prune holds the target; looks at most once a {@link PRUNE_CHECK_INTERVAL_MS}. */
async function stepBackForPrune(connection: Connection): Promise<void> {
  const now = Date.now();
  if (now - connection.pruneCheckedAt < PRUNE_CHECK_INTERVAL_MS) return;
  if (await pruneInProgress(connection.repo)) throw new PruneInProgress(connection.repo.target.description);
  connection.pruneCheckedAt = now;
}

/** Keeps the lock alive; a holder that could not refresh in time must not write. */
async function keepLock(deps: ShipDeps, connection: Connection): Promise<void> {
  connection.lock.assertHeld();
  if (deps.now() - connection.lockRefreshedAt >= LOCK_TTL_MS / 3) {
    await connection.lock.refresh();
    connection.lockRefreshedAt = deps.now();
  }
}

/** The result of one shipping pass over a target. */
export interface ShipResult {
  segments: number;
  revisions: number;
  blobs: number;
  blobBytes: number;
  shippedSeq: number;
  /** The log head the pass read last, when it found nothing after it: the target was caught up then. */
  caughtUpAt: number | null;
}

/**
 * Ships every revision after the target's last shipped seq, in segments of
 * at most {@link SEGMENT_REVISIONS}, blobs first. Reads the head before the
 * revisions: the log is gap-free and hands out seqs in commit order, so
 * every seq up to a committed head is readable.
 */
export async function shipJournal(
  deps: ShipDeps,
  connection: Connection,
  /** Called as each segment lands, so writes it holds are acknowledged without waiting for the rest of the pass. */
  onShipped: (seq: number) => void = () => {},
  /** Called just before each read of the head: every commit made before then is shipped by this pass. */
  beforeHeadRead: () => void = () => {},
): Promise<ShipResult> {
  const result: ShipResult = {
    segments: 0,
    revisions: 0,
    blobs: 0,
    blobBytes: 0,
    shippedSeq: connection.shippedSeq,
    caughtUpAt: null,
  };
  await stepBackForPrune(connection);
  if (connection.shippedSeq < 0) {
    await snapshotNow(deps, connection);
    result.shippedSeq = connection.shippedSeq;
  }
  for (;;) {
    // A pass lasts as long as writes keep coming: a prune that started meanwhile is noticed within a second.
    await stepBackForPrune(connection);
    await keepLock(deps, connection);
    // A pass can run as long as writes keep coming; new logins and app passwords must not wait for its end.
    if (accountsDue(deps, connection)) await shipAccountState(deps, connection);
    beforeHeadRead();
    const head = await readHead(deps.db.kysely);
    if (head <= connection.shippedSeq) {
      result.caughtUpAt = head;
      break;
    }
    const rows = await takeRevisions(
      connection.handoff,
      deps.db.kysely,
      connection.shippedSeq,
      head,
      SEGMENT_REVISIONS,
    );
    const revisions = rows.map(toBackupRevision);
    const toSeq = rows.length < SEGMENT_REVISIONS ? head : (revisions.at(-1)?.seq ?? head);
    const shas = revisions.flatMap((r) => (r.blob ? [r.blob.sha256] : []));
    const copied = await ensureBlobs(connection.repo, deps.blobs, connection.view, connection.blobIndex, shas);
    const stored = await writeJournalSegment(connection.repo, {
      generation: connection.generation,
      prev: connection.head,
      revisions,
      blobs: copied.map,
      fromSeq: connection.shippedSeq + 1,
      toSeq,
    });
    rememberSegment(connection.cache, stored.object, {
      generation: stored.segment.generation,
      fromSeq: stored.segment.fromSeq,
      toSeq: stored.segment.toSeq,
      prev: stored.segment.prev?.object ?? null,
      createdAt: stored.segment.createdAt,
      blobs: stored.segment.blobs,
      revisions: stored.segment.revisions.length,
    });
    connection.head = { object: stored.object, toSeq };
    connection.shippedSeq = toSeq;
    onShipped(toSeq);
    result.segments += 1;
    result.revisions += revisions.length;
    result.blobs += copied.uploaded;
    result.blobBytes += copied.bytes;
  }
  if (result.segments === 0 || accountsDue(deps, connection)) await shipAccountState(deps, connection);
  result.shippedSeq = connection.shippedSeq;
  return result;
}

/** Whether to compare the account tables with the target now: an account change waits, or a second passed. */
function accountsDue(deps: ShipDeps, connection: Connection): boolean {
  return deps.accountsPending?.() === true || Date.now() - connection.accountsCheckedAt >= ACCOUNT_CHECK_INTERVAL_MS;
}

/**
 * Stores the account tables when they differ from the newest state on the
 * target, and returns the object that holds them. The state is placed at the
 * head read before the tables, so a restore to an earlier point never uses
 * it; a revoked device or a new app password reaches the target within about
 * a second, whether or not data changed.
 */
export async function shipAccountState(deps: ShipDeps, connection: Connection): Promise<string> {
  connection.accountsCheckedAt = Date.now();
  // Before the tables: every account change counted by then is committed, so the tables read next hold it.
  const epoch = deps.accountEpoch?.() ?? 0;
  // Read first: the tables are at least as new as this seq, which is the state's place in the log.
  const head = await readHead(deps.db.kysely);
  // The tables are read whole only when the probe moved: with every DAV name in them they can run to
  // a hundred thousand rows, which cost 0.3-0.9 s of the event loop to fingerprint, every second.
  // The probe is read before the tables, so a change made between the two shows at the next check.
  const probe = await readAccountProbe(deps.db);
  if (connection.accounts && connection.accounts.probe === probe) {
    connection.accountsEpoch = Math.max(connection.accountsEpoch, epoch);
    return connection.accounts.object;
  }
  const tables = await readAccountTables(deps.db);
  const fingerprint = accountFingerprint(tables);
  if (connection.accounts?.fingerprint === fingerprint) {
    connection.accounts.probe = probe;
    connection.accountsEpoch = Math.max(connection.accountsEpoch, epoch);
    return connection.accounts.object;
  }
  await keepLock(deps, connection);
  const stored = await writeAccountState(connection.repo, {
    generation: connection.generation,
    seq: Math.max(0, head),
    createdAt: connection.repo.clock().toISOString(),
    ...tables,
  });
  const { generation, seq, createdAt } = stored.state;
  rememberAccountState(connection.view, connection.cache, stored.object, { generation, seq, createdAt });
  connection.accounts = { object: stored.object, fingerprint, probe };
  connection.accountsEpoch = Math.max(connection.accountsEpoch, epoch);
  return stored.object;
}

/**
 * Takes a snapshot now. Before the first segment of a generation the
 * snapshot is the base the chain starts from, so shipping resumes after it.
 */
export async function snapshotNow(deps: ShipDeps, connection: Connection): Promise<SnapshotResult> {
  await keepLock(deps, connection);
  if (!connection.layout) {
    const previous = newestSnapshot(connection.view, connection.generation) ?? newestSnapshot(connection.view);
    const cached = connection.cache.layout;
    connection.layout =
      previous && cached?.snapshot === previous.object
        ? cached
        : previous
          ? await readLayout(connection.repo, previous)
          : null;
  }
  const accounts = await shipAccountState(deps, connection);
  const result = await takeSnapshot({
    accounts,
    db: deps.db,
    blobs: deps.blobs,
    repo: connection.repo,
    view: connection.view,
    blobIndex: connection.blobIndex,
    generation: connection.generation,
    journal: connection.head,
    previous: connection.layout,
  });
  connection.layout = result.layout;
  rememberLayout(connection.cache, result.layout);
  connection.lastSnapshotSeq = result.snapshot.manifest.seq;
  connection.lastSnapshotAt = Date.parse(result.snapshot.manifest.createdAt);
  if (connection.head === null) connection.shippedSeq = Math.max(connection.shippedSeq, result.snapshot.manifest.seq);
  return result;
}

/** Saves the segment cache and releases the lock. */
export async function disconnect(connection: Connection): Promise<void> {
  await saveSegmentCache(connection.cache).catch(() => {});
  await connection.lock.release();
}
