import { randomBytes } from 'node:crypto';
import {
  acquireLock,
  isLockName,
  listSnapshots,
  listVerifications,
  MARK_PREFIX,
  type Repository,
} from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import { z } from 'zod';
import { loadSegmentCache, scanRepository } from './repository-view.js';
import { type RetentionPolicy, snapshotsToKeep } from './retention.js';

const markSchema = z.strictObject({
  createdAt: z.iso.datetime({ offset: true }),
  garbage: z.array(z.string()),
});

/** What a prune did. */
export interface PruneResult {
  keptSnapshots: number;
  droppedSnapshots: number;
  /** Objects unreferenced now (including ones too young to delete). */
  garbage: number;
  deleted: string[];
  /** Garbage kept because it was not yet unreferenced for the whole margin. */
  deferred: number;
  dryRun: boolean;
}

/** Options for {@link pruneRepository}. */
export interface PruneOptions {
  policy: RetentionPolicy;
  /** An object is deleted only if it was already garbage in a mark at least this old. */
  marginMs: number;
  holder: string;
  dryRun?: boolean;
  /** How long to wait for a running backup to step back (default 30 s). */
  waitMs?: number;
}

/**
 * Retention and garbage collection, in the order that cannot lose data:
 *
 * 1. take the exclusive prune lock (no backup writes meanwhile);
 * 2. read everything: every manifest, segment and verification record must
 *    decode, and a listing error stops the prune (it is never "empty");
 * 3. compute the keep-set: the snapshots the policy keeps (always including
 *    the newest verified one and everything newer), their data, blobs,
 *    journal heads and account states, every journal segment (with its
 *    blobs) after the oldest kept snapshot and every account state from its
 *    seq on; stop if anything in it is missing;
 * 4. sweep: delete only objects that are garbage now *and* were garbage in
 *    a mark written at least `marginMs` ago (an object written by a backup
 *    that has not referenced it yet is young, so never in an old mark);
 * 5. write a new mark of the current garbage.
 *
 * Nothing here runs because a target is full: space is never made by
 * deleting backups.
 */
export async function pruneRepository(repo: Repository, options: PruneOptions): Promise<PruneResult> {
  const lock = await acquireLock(repo, { kind: 'prune', holder: options.holder, waitMs: options.waitMs ?? 30_000 });
  try {
    return await prune(repo, options, () => lock.assertHeld());
  } finally {
    await lock.release();
  }
}

async function prune(repo: Repository, options: PruneOptions, assertHeld: () => void): Promise<PruneResult> {
  const listed = (await repo.target.listObjects('')).filter((name) => !isLockName(name));
  const listedSet = new Set(listed);
  const view = await scanRepository(repo, await loadSegmentCache(null));
  const snapshots = await listSnapshots(repo);
  const verifications = await listVerifications(repo);
  const verified = new Set(verifications.filter((v) => v.record.ok).map((v) => v.record.snapshot));
  const newestVerified = snapshots.filter((s) => verified.has(s.object)).at(-1);
  if (!newestVerified) {
    throw new AppError(
      'precondition_failed',
      `no verified snapshot on ${repo.target.description}; run a verify before pruning`,
    );
  }
  const keepSnapshots = snapshotsToKeep(snapshots, newestVerified.object, options.policy);
  const kept = snapshots.filter((s) => keepSnapshots.has(s.object));
  const keep = new Set<string>(['config']);
  for (const name of listed) if (name.startsWith('keys/') || name.startsWith(MARK_PREFIX)) keep.add(name);
  const oldestKeptSeq = Math.min(...kept.map((s) => s.manifest.seq));
  for (const snapshot of kept) {
    keep.add(snapshot.object);
    for (const entry of snapshot.manifest.data) keep.add(entry.object);
    for (const object of Object.values(snapshot.manifest.blobs)) keep.add(object);
    if (snapshot.manifest.journal.head) keep.add(snapshot.manifest.journal.head);
    if (snapshot.manifest.accounts) keep.add(snapshot.manifest.accounts);
  }
  // Account states a restore after the oldest kept snapshot may pick (or whose revocations it carries forward).
  for (const [object, info] of view.accounts) if (info.seq >= oldestKeptSeq) keep.add(object);
  for (const [object, info] of view.segments) {
    if (info.toSeq <= oldestKeptSeq && !keep.has(object)) continue;
    keep.add(object);
    for (const blob of Object.values(info.blobs)) keep.add(blob);
  }
  for (const v of verifications) if (keepSnapshots.has(v.record.snapshot)) keep.add(v.object);
  const missing = [...keep].filter((name) => !listedSet.has(name));
  if (missing.length > 0) {
    throw new AppError(
      'precondition_failed',
      `prune stopped: kept objects are missing: ${missing.slice(0, 10).join(', ')}`,
      {
        missing: missing.slice(0, 100),
      },
    );
  }
  const garbage = listed.filter((name) => !keep.has(name));
  const now = repo.clock().getTime();
  const marks: { object: string; createdAt: number; garbage: Set<string> }[] = [];
  for (const object of listed.filter((name) => name.startsWith(MARK_PREFIX))) {
    const parsed = markSchema.safeParse(JSON.parse(Buffer.from(await repo.target.getObject(object)).toString('utf8')));
    if (!parsed.success) throw new AppError('precondition_failed', `prune stopped: mark ${object} is unreadable`);
    marks.push({ object, createdAt: Date.parse(parsed.data.createdAt), garbage: new Set(parsed.data.garbage) });
  }
  const oldEnough = marks.filter((mark) => now - mark.createdAt >= options.marginMs);
  const deletable = garbage.filter(
    (name) => !name.startsWith(MARK_PREFIX) && oldEnough.some((m) => m.garbage.has(name)),
  );
  const result: PruneResult = {
    keptSnapshots: kept.length,
    droppedSnapshots: snapshots.length - kept.length,
    garbage: garbage.length,
    deleted: [],
    deferred: garbage.length - deletable.length,
    dryRun: options.dryRun === true,
  };
  if (options.dryRun) return result;
  // Referrers before what they reference: snapshots and verifications, then segments, then data and blobs.
  const order = (name: string) =>
    name.startsWith('verifications/') ? 0 : name.startsWith('snapshots/') ? 1 : name.startsWith('journal/') ? 2 : 3;
  for (const name of deletable.sort((a, b) => order(a) - order(b))) {
    assertHeld();
    await repo.target.deleteObject(name);
    result.deleted.push(name);
  }
  const deleted = new Set(result.deleted);
  const mark = {
    createdAt: new Date(now).toISOString(),
    garbage: garbage.filter((name) => !deleted.has(name) && !name.startsWith(MARK_PREFIX)),
  };
  await repo.target.putObject(
    `${MARK_PREFIX}${now}-${randomBytes(8).toString('hex')}`,
    Buffer.from(JSON.stringify(mark), 'utf8'),
  );
  // Marks older than the newest old-enough one carry nothing a later sweep needs.
  const newestOld = oldEnough.sort((a, b) => b.createdAt - a.createdAt)[0];
  for (const old of marks)
    if (newestOld && old.createdAt < newestOld.createdAt) await repo.target.deleteObject(old.object);
  return result;
}
