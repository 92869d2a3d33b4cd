import type { Target } from '@holdfast/backup';
import type { Logger } from 'pino';
import { recordIncident } from '../ledger/ledger.js';
import { readFirstRevisionTimeAfter, readHead } from '../store/revision-log.js';
import type { BackupMetrics } from './backup-metrics.js';
import { saveSegmentCache } from './repository-view.js';
import { createHandoff } from './revision-handoff.js';
import { maybeDrill } from './scheduled-drill.js';
import { type Follower, followAccountEpoch, followShippedSeq } from './standby-watermark.js';
import {
  type Connection,
  connect,
  disconnect,
  PruneInProgress,
  type ShipDeps,
  ShippedElsewhere,
  shipJournal,
  snapshotNow,
  type TargetRuntime,
} from './target-runtime.js';

/** Health of one target, as the service last saw it. */
export interface TargetHealth {
  index: number;
  location: string;
  connected: boolean;
  shippedSeq: number;
  headSeq: number;
  lagRevisions: number;
  lagSeconds: number;
  lastSuccessAt: number | null;
  /** Set while the target is failing: since when, and the last error. */
  outage: { since: number; error: string } | null;
  /** True while another server on the same database holds the target and ships for this one. */
  standby: boolean;
  lastSnapshotAt: number | null;
  /** When a restore drill last passed on this target. */
  lastVerifiedAt: number | null;
  freeBytes: number | null;
}

/** What the service needs from the server context. */
export interface BackupServiceDeps extends ShipDeps {
  log: Logger;
  metrics?: BackupMetrics;
  /** Opens a configured target location (default `openBackupTarget`); tests wrap targets to inject faults. */
  openTarget?: (location: string) => Target;
  /** Subscribes to commits; shipping then starts at once instead of at the next interval. */
  onCommit?: (listener: () => void) => () => void;
  /** Target `index` holds every revision up to `seq` (a segment or snapshot landed): acknowledgements wait on it. */
  onDurable?: (index: number, seq: number) => void;
  /** Target `index` holds the account tables as they were at account epoch `epoch` (ack-gate.ts). */
  onAccountsDurable?: (index: number, epoch: number) => void;
}

/** What the loops of one service share: its dependencies and whether it is stopping. */
export interface LoopScope {
  deps: BackupServiceDeps;
  stopped: boolean;
}

/** One target's shipping state and schedule. */
export interface TargetLoop extends TargetRuntime {
  index: number;
  drilling: Promise<void> | null;
  /** When the last drill on this target ran (null until read from the repository). */
  lastDrillAt: number | null;
  lastFreeSpaceAt: number;
  cacheSavedAt: number;
  health: TargetHealth;
  lagAlerted: boolean;
  running: Promise<void> | null;
  timer: NodeJS.Timeout | null;
  /** A commit arrived while a pass was running: start the next pass at once. */
  again: boolean;
  /** Commits (and waiting writes) signalled so far, and how many of them a successful pass has read past. */
  wakes: number;
  wakesCovered: number;
  lastPassAt: number;
  /** While standing by: what this server read of the holder's shipping (acknowledgements wait on it). */
  follower: Follower | null;
}

export function newTargetLoop(index: number, location: string, target: Target): TargetLoop {
  return {
    index,
    location,
    target,
    connection: null,
    handoff: createHandoff(),
    lagAlerted: false,
    running: null,
    timer: null,
    again: false,
    wakes: 0,
    wakesCovered: 0,
    lastPassAt: 0,
    follower: null,
    drilling: null,
    lastDrillAt: null,
    lastFreeSpaceAt: 0,
    cacheSavedAt: 0,
    health: {
      index,
      location,
      connected: false,
      shippedSeq: -1,
      headSeq: 0,
      lagRevisions: 0,
      lagSeconds: 0,
      lastSuccessAt: null,
      outage: null,
      standby: false,
      lastSnapshotAt: null,
      lastVerifiedAt: null,
      freeBytes: null,
    },
  };
}

/** Runs one pass on `loop`, or joins the one already running. */
export function runPass(scope: LoopScope, loop: TargetLoop): Promise<void> {
  loop.running ??= pass(scope, loop).finally(() => {
    loop.running = null;
  });
  return loop.running;
}

/** Ships, snapshots when due, then drills and measures; a failure is sorted into its kind. */
async function pass(scope: LoopScope, loop: TargetLoop): Promise<void> {
  const { deps } = scope;
  const started = deps.now();
  let caughtUp: number | null = null;
  try {
    loop.connection ??= await connect(deps, loop);
    const connection = loop.connection;
    const durable = (seq: number) => deps.onDurable?.(loop.index, seq);
    durable(connection.shippedSeq);
    // A wake signalled before the head is read is a commit that read sees, so this pass ships it.
    let covered = loop.wakesCovered;
    const shipped = await shipJournal(deps, connection, durable, () => {
      covered = loop.wakes;
    });
    loop.wakesCovered = covered;
    durable(connection.shippedSeq);
    deps.onAccountsDurable?.(loop.index, connection.accountsEpoch);
    if (started - connection.lastSnapshotAt >= deps.config.backupSnapshotInterval) await snapshotIfBehind(deps, loop);
    succeeded(deps, loop, connection);
    if (started - loop.cacheSavedAt >= 60_000) {
      // Segment facts read so far, so a restart after a crash reads only what is new.
      loop.cacheSavedAt = started;
      await saveSegmentCache(connection.cache);
    }
    await maybeDrill(scope, loop, connection);
    await measureTarget(deps, loop, connection);
    caughtUp = shipped.caughtUpAt;
  } catch (error) {
    if (error instanceof PruneInProgress) await stepBack(deps, loop);
    else if (error instanceof ShippedElsewhere) await standBy(deps, loop, error);
    else await failed(deps, loop, error);
  }
  // The server that ships measures and alerts on the lag; a standby's own position says nothing.
  if (!loop.health.standby) await measureLag(deps, loop, caughtUp);
}

async function snapshotIfBehind(deps: BackupServiceDeps, loop: TargetLoop): Promise<void> {
  const connection = loop.connection as Connection;
  const head = await readHead(deps.db.kysely);
  if (head <= connection.lastSnapshotSeq) return;
  const result = await snapshotNow(deps, connection);
  deps.log.info(
    {
      target: loop.index + 1,
      seq: result.snapshot.manifest.seq,
      reused: result.reusedObjects,
      written: result.newObjects,
    },
    'backup snapshot taken',
  );
}

function succeeded(deps: BackupServiceDeps, loop: TargetLoop, connection: Connection): void {
  const health = loop.health;
  if (health.outage) {
    deps.log.info(
      { target: loop.index + 1, since: new Date(health.outage.since).toISOString() },
      'backup target recovered',
    );
  }
  health.outage = null;
  health.standby = false;
  health.connected = true;
  health.shippedSeq = connection.shippedSeq;
  health.lastSuccessAt = deps.now();
  health.lastSnapshotAt = connection.lastSnapshotAt || null;
  deps.metrics?.reachable.set({ target: String(loop.index + 1) }, 1);
}

async function measureTarget(deps: BackupServiceDeps, loop: TargetLoop, connection: Connection): Promise<void> {
  const label = { target: String(loop.index + 1) };
  if (connection.lastSnapshotAt > 0)
    deps.metrics?.snapshotAge.set(label, (deps.now() - connection.lastSnapshotAt) / 1000);
  if (loop.lastDrillAt !== null && loop.health.lastVerifiedAt !== null) {
    deps.metrics?.verifiedAge.set(label, (deps.now() - loop.health.lastVerifiedAt) / 1000);
  }
  if (deps.now() - loop.lastFreeSpaceAt >= 30_000) {
    loop.lastFreeSpaceAt = deps.now();
    const free = await loop.target.freeSpace();
    loop.health.freeBytes = free;
    if (free !== null) deps.metrics?.freeBytes.set(label, free);
  }
}

/** Closes the loop's connection; what this process believed about the target is re-read on the next pass. */
export async function dropConnection(loop: TargetLoop): Promise<void> {
  const connection = loop.connection;
  loop.connection = null;
  if (connection) await disconnect(connection).catch(() => {});
}

async function stepBack(deps: BackupServiceDeps, loop: TargetLoop): Promise<void> {
  await dropConnection(loop);
  deps.log.info({ target: loop.index + 1 }, 'a prune is running on the backup target; shipping waits');
}

async function standBy(deps: BackupServiceDeps, loop: TargetLoop, error: ShippedElsewhere): Promise<void> {
  await dropConnection(loop);
  const health = loop.health;
  if (!health.standby) deps.log.info({ target: loop.index + 1 }, error.message);
  // Reachable and in use: whatever outage this server saw is over.
  health.outage = null;
  health.standby = true;
  health.connected = false;
  if (!deps.onDurable) return;
  try {
    deps.onDurable(loop.index, await followShippedSeq(deps, loop));
    if (deps.onAccountsDurable && deps.accountsPending?.()) {
      const epoch = await followAccountEpoch(deps, loop);
      if (epoch !== null) deps.onAccountsDurable(loop.index, epoch);
    }
  } catch (followError) {
    deps.log.warn(
      { target: loop.index, err: String(followError) },
      'could not read the shipping of the server that holds the target',
    );
  }
}

async function failed(deps: BackupServiceDeps, loop: TargetLoop, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  await dropConnection(loop);
  loop.health.connected = false;
  deps.metrics?.reachable.set({ target: String(loop.index + 1) }, 0);
  if (loop.health.outage) {
    loop.health.outage.error = message;
    return;
  }
  loop.health.outage = { since: deps.now(), error: message };
  deps.log.error({ target: loop.index + 1, err: message }, 'backup to target failed; its backlog is kept and retried');
  await recordIncident(
    deps.db,
    {
      kind: 'backup_failed',
      userId: null,
      summary: `Backup target ${loop.index + 1} failed: ${message}. Shipping resumes from its last shipped revision when it is back.`,
      details: { target: loop.index + 1, error: message, shippedSeq: loop.health.shippedSeq },
    },
    deps.now(),
  ).catch((ledgerError) => deps.log.error({ err: String(ledgerError) }, 'could not record backup_failed'));
}

/** Measures and reports the lag; `caughtUp` is a head the pass just found shipped (no need to read it again). */
async function measureLag(deps: BackupServiceDeps, loop: TargetLoop, caughtUp: number | null): Promise<void> {
  try {
    const head = caughtUp ?? (await readHead(deps.db.kysely));
    const shipped = Math.max(loop.connection?.shippedSeq ?? loop.health.shippedSeq, 0);
    const lag = Math.max(0, head - shipped);
    let seconds = 0;
    if (lag > 0) {
      const oldest = await readFirstRevisionTimeAfter(deps.db.kysely, shipped);
      seconds = oldest !== undefined ? Math.max(0, (deps.now() - oldest) / 1000) : 0;
    }
    Object.assign(loop.health, { headSeq: head, lagRevisions: lag, lagSeconds: seconds });
    deps.metrics?.lagRevisions.set({ target: String(loop.index + 1) }, lag);
    deps.metrics?.lagSeconds.set({ target: String(loop.index + 1) }, seconds);
    await alertOnLag(deps, loop, lag, seconds);
  } catch (error) {
    deps.log.warn({ target: loop.index + 1, err: String(error) }, 'could not measure backup lag');
  }
}

/** Records a lag above the threshold once, until it recovers. */
async function alertOnLag(deps: BackupServiceDeps, loop: TargetLoop, lag: number, seconds: number): Promise<void> {
  if (seconds <= deps.config.backupLagAlertSeconds) {
    loop.lagAlerted = false;
    return;
  }
  if (loop.lagAlerted) return;
  loop.lagAlerted = true;
  deps.log.error(
    { target: loop.index + 1, lagRevisions: lag, lagSeconds: seconds },
    'backup journal lag above threshold',
  );
  await recordIncident(
    deps.db,
    {
      kind: 'journal_lag',
      userId: null,
      summary: `Backup target ${loop.index + 1} is ${lag} revisions (${Math.round(seconds)} s) behind.`,
      details: { target: loop.index + 1, lagRevisions: lag, lagSeconds: seconds },
    },
    deps.now(),
  );
}
