import { randomBytes } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import { z } from 'zod';
import { currentProcess, isGoneFromThisHost } from './process-liveness.js';
import type { Repository } from './repository.js';
import { decodeJsonText } from './schemas.js';
import { targetFailure } from './target.js';

/**
 * Repository locks keep pruning away from writers (restic #2715: a prune
 * that ran while a paused backup still held references lost data). A lock
 * is a plain JSON object `locks/<kind>-<32 hex>`; objects are write-once, so
 * a lock is refreshed by writing a new one and then deleting the old one.
 *
 * Rules:
 * - Every lock is exclusive: whoever finds another live lock backs off.
 * - A lock is live until `expiresAt`. Its holder must refresh it before
 *   then, and must stop writing if it could not (see {@link LockHandle.assertHeld}).
 * - An expired lock is stale and is ignored (and may be deleted).
 * - Anyone may take over a lock whose process is certainly gone: it ran on
 *   this host, and the host rebooted since, or no process has its pid, or
 *   the process with that pid started at another time (a reused pid). A
 *   restored or restarted server runs on another database path, so the
 *   holder string alone cannot say it is the same deployment.
 * - A backup writer may take over a backup lock written for an older
 *   generation of its own database lineage (the database it was restored
 *   from or rolled back from): that server's history has ended.
 * - This same process may take over a lock it wrote and lost track of.
 * - A lock on another host is left alone until it expires.
 * Locks written before `host` existed are taken over only by the same
 * `holder`, when their pid is not running.
 */
export const lockSchema = z.strictObject({
  kind: z.enum(['backup', 'prune']),
  holder: z.string().min(1).max(500),
  pid: z.int().min(0),
  host: z.string().min(1).max(255).optional(),
  bootId: z.string().max(100).nullable().optional(),
  startTicks: z.int().min(0).nullable().optional(),
  generation: z.string().min(1).max(128).optional(),
  createdAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
});
/** A lock object's content. */
export type LockRecord = z.infer<typeof lockSchema>;

/** The listing prefix of lock objects. */
export const LOCK_PREFIX = 'locks/';
const LOCK_NAME = /^locks\/(backup|prune)-[0-9a-f]{32}$/;

/** Whether `name` is a lock object name. */
export function isLockName(name: string): boolean {
  return LOCK_NAME.test(name);
}

/** A lock this process holds. */
export interface LockHandle {
  readonly object: string;
  readonly record: LockRecord;
  /** Writes a fresh lock object, then removes the previous one. */
  refresh(): Promise<void>;
  /** Throws unless the lock is still unexpired (a holder that slept past its expiry must not write). */
  assertHeld(): void;
  release(): Promise<void>;
}

/** Options for {@link acquireLock}. */
export interface LockOptions {
  kind: LockRecord['kind'];
  /** Stable identity of the holder (host and database), for takeover after a crash. */
  holder: string;
  /** How long the lock lives without a refresh (default 10 minutes). */
  ttlMs?: number;
  /**
   * How long to wait, once this lock is written, for other holders to see it
   * and step back (default 0). Backup writers look for a prune lock before a
   * pass and about once a second during one, and release theirs when they
   * find one, so a prune waits a few ship intervals instead of needing the
   * server stopped.
   */
  waitMs?: number;
  /** The database generation the writer ships (recorded in the lock). */
  generation?: string;
  /** Older generations of the writer's own lineage: their backup locks are taken over at once. */
  supersedes?: readonly string[];
  /** Whether a lock's process is certainly gone (default: {@link lockProcessGone}). */
  isGone?: (record: LockRecord) => boolean;
}

/** Whether the process that wrote `record` is certainly gone (see the rules above). */
export function lockProcessGone(record: LockRecord, holder: string): boolean {
  if (record.host !== undefined) return isGoneFromThisHost(record);
  // A lock from before hosts were recorded: only its own holder (host and database) can judge it.
  return record.holder === holder && isGoneFromThisHost({ ...record, host: currentProcess().host });
}

function isOwnProcess(record: LockRecord): boolean {
  const self = currentProcess();
  return (
    record.pid === self.pid &&
    (record.host === undefined || record.host === self.host) &&
    (record.startTicks == null || self.startTicks === null || record.startTicks === self.startTicks)
  );
}

/**
 * Every readable lock object (or those whose names start with `prefix`). A
 * listing error is thrown; an unreadable lock counts as live (caution).
 */
export async function listLocks(
  repo: Repository,
  prefix = LOCK_PREFIX,
): Promise<{ object: string; record: LockRecord | null }[]> {
  const locks: { object: string; record: LockRecord | null }[] = [];
  for (const object of await repo.target.listObjects(prefix)) {
    try {
      const parsed = lockSchema.safeParse(decodeJsonText(await repo.target.getObject(object)));
      locks.push({ object, record: parsed.success ? parsed.data : null });
    } catch (error) {
      if (targetFailure(error) === 'missing') continue;
      if (targetFailure(error) !== null) throw error;
      locks.push({ object, record: null });
    }
  }
  return locks;
}

/**
 * Takes an exclusive lock, or fails with `conflict` naming the live lock in
 * the way. Writes its own lock first and then looks again, so two processes
 * racing for the lock both back off rather than both proceeding.
 */
export async function acquireLock(repo: Repository, options: LockOptions): Promise<LockHandle> {
  const ttl = options.ttlMs ?? 10 * 60_000;
  const isGone = options.isGone ?? ((record: LockRecord) => lockProcessGone(record, options.holder));
  const superseded = new Set(options.supersedes ?? []);
  const blocking = async (own: string | null) => {
    const now = repo.clock().getTime();
    for (const { object, record } of await listLocks(repo)) {
      if (object === own) continue;
      if (record && Date.parse(record.expiresAt) <= now) continue;
      // A dead process's lock, one this process lost track of (its target failed mid-run), or an ended lineage's.
      const orphan =
        record !== null &&
        ((record.holder === options.holder && isOwnProcess(record)) ||
          isGone(record) ||
          (record.kind === 'backup' &&
            options.kind === 'backup' &&
            record.generation !== undefined &&
            superseded.has(record.generation)));
      if (orphan) {
        await repo.target.deleteObject(object);
        continue;
      }
      return { object, record };
    }
    return null;
  };
  const before = await blocking(null);
  // Waiting only makes sense for holders that step back (backups, for a prune); anything else backs off now.
  const mayWait = (options.waitMs ?? 0) > 0 && before?.record?.kind === 'backup' && options.kind === 'prune';
  if (before && !mayWait) throw lockConflict(repo, before.object, before.record);
  const write = async (): Promise<{ object: string; record: LockRecord }> => {
    const now = repo.clock();
    const self = currentProcess();
    const record: LockRecord = {
      kind: options.kind,
      holder: options.holder,
      pid: self.pid,
      host: self.host,
      bootId: self.bootId,
      startTicks: self.startTicks,
      ...(options.generation ? { generation: options.generation } : {}),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttl).toISOString(),
    };
    const object = `${LOCK_PREFIX}${options.kind}-${randomBytes(16).toString('hex')}`;
    await repo.target.putObject(object, Buffer.from(JSON.stringify(record), 'utf8'));
    return { object, record };
  };
  let current = await write();
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const after = await blocking(current.object);
    if (!after) break;
    if (Date.now() >= deadline) {
      await repo.target.deleteObject(current.object);
      throw lockConflict(repo, after.object, after.record);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let released = false;
  return {
    get object() {
      return current.object;
    },
    get record() {
      return current.record;
    },
    async refresh() {
      if (released) throw new AppError('internal', 'lock already released');
      const previous = current.object;
      current = await write();
      await repo.target.deleteObject(previous);
    },
    assertHeld() {
      if (released || Date.parse(current.record.expiresAt) <= repo.clock().getTime()) {
        throw new AppError('conflict', `the ${options.kind} lock on ${repo.target.description} expired`, {
          lock: current.object,
        });
      }
    },
    async release() {
      if (released) return;
      released = true;
      await repo.target.deleteObject(current.object);
    },
  };
}

function lockConflict(repo: Repository, object: string, record: LockRecord | null): AppError {
  const who = record
    ? `${record.kind} by ${record.holder} (pid ${record.pid}${record.host ? ` on ${record.host}` : ''}, until ${record.expiresAt})`
    : 'unreadable';
  return new AppError('conflict', `${repo.target.description} is locked: ${object}, ${who}`, { lock: object });
}

/** Whether a live prune lock is on the target: backup writers step back until it is gone. */
export async function pruneInProgress(repo: Repository): Promise<boolean> {
  const now = repo.clock().getTime();
  // Only prune locks are read: shipping runs this about once a second, and the writer's own lock is always there.
  return (await listLocks(repo, `${LOCK_PREFIX}prune-`)).some(
    ({ record }) =>
      !record || (Date.parse(record.expiresAt) > now && !(record.host !== undefined && isGoneFromThisHost(record))),
  );
}

/** The listing prefix of prune marks (see the server's prune). Like locks, marks are bookkeeping, not content. */
export const MARK_PREFIX = 'marks/';
