import type { Logger } from 'pino';
import type { RevisionRow } from '../store/revision-log.js';
import { offerRows } from './revision-handoff.js';
import { drillNow } from './scheduled-drill.js';
import {
  type BackupServiceDeps,
  dropConnection,
  type LoopScope,
  newTargetLoop,
  runPass,
  type TargetHealth,
  type TargetLoop,
} from './target-loop.js';
import { backupTargetLocations, openBackupTarget } from './targets.js';

export type { BackupServiceDeps, TargetHealth } from './target-loop.js';

/** The continuous backup: journal shipping and snapshots to every target, independently. */
export interface BackupService {
  /** Starts the timers and listens for commits; once. */
  start(): void;
  /** One shipping pass on every target (tests and `backup run`); resolves when all are done. */
  runOnce(): Promise<void>;
  /**
   * A restore drill on every target now, whatever the schedule, after a
   * shipping pass (which takes the first snapshot if there is none);
   * resolves when all are done. A target that cannot be reached is skipped:
   * its outage is already in its health and on the ledger.
   */
  drillNow(): Promise<void>;
  health(): TargetHealth[];
  /**
   * A write is waiting for its revision to reach the targets: ship now. Writes
   * call this as they wait, so shipping does not depend on how soon the commit
   * notification arrives (with PostgreSQL it comes back through the database).
   */
  wake(): void;
  /** Rows a commit of this process just made durable: shipping takes them instead of reading them back. */
  handOff(rows: readonly RevisionRow[]): void;
  stop(): Promise<void>;
}

/**
 * Commits closer together than this share one journal segment, which bounds
 * the segments a busy server writes to ten a second.
 */
const MIN_COMMIT_SHIP_GAP_MS = 100;

/**
 * With `backupAck=target` writes wait for their segment, so a pass starts as
 * soon as the previous one ends: commits that arrive during a pass share the
 * next segment, the way writes share a group commit.
 */
const ACK_SHIP_GAP_MS = 0;

/** A backup service's state: its targets' loops and how to stop listening for commits. */
interface ServiceState extends LoopScope {
  loops: TargetLoop[];
  started: boolean;
  unsubscribe: () => void;
}

/**
 * Starts shipping to every configured target as soon as something commits
 * (`onCommit`), and every `backupShipIntervalMs` regardless; with
 * `timers: false` nothing runs until `runOnce` (or `start`) is called.
 * A target that fails keeps its backlog: it resumes from its own last
 * shipped seq when it comes back, so nothing is dropped. Each outage is
 * logged and recorded once (`backup_failed`); a lag above
 * `backupLagAlertSeconds` is recorded once until it recovers (`journal_lag`).
 */
export function startBackupService(deps: BackupServiceDeps, options: { timers?: boolean } = {}): BackupService {
  const service = createBackupService(deps);
  if (options.timers !== false) service.start();
  return service;
}

/** A backup service for every configured target, not yet started. */
export function createBackupService(deps: BackupServiceDeps): BackupService {
  const state: ServiceState = {
    deps,
    stopped: false,
    started: false,
    unsubscribe: () => {},
    loops: backupTargetLocations(deps.config).map((location, index) =>
      newTargetLoop(
        index,
        location,
        deps.openTarget ? deps.openTarget(location) : openBackupTarget(location, deps.config),
      ),
    ),
  };
  warnOnSingleTarget(deps.log, state.loops);
  return {
    start: () => start(state),
    runOnce: () => runOnce(state),
    drillNow: () => drillAll(state),
    health: () => state.loops.map((loop) => ({ ...loop.health })),
    wake: () => {
      if (state.started) wake(state);
    },
    handOff: (rows) => {
      for (const loop of state.loops) if (loop.handoff && !loop.health.standby) offerRows(loop.handoff, rows);
    },
    stop: () => stop(state),
  };
}

function warnOnSingleTarget(log: Logger, loops: TargetLoop[]): void {
  if (loops.length === 1) log.warn('only one backup target is configured; a second one protects against losing it');
}

function start(state: ServiceState): void {
  if (state.started || state.stopped) return;
  state.started = true;
  state.unsubscribe = state.deps.onCommit ? state.deps.onCommit(() => wake(state)) : () => {};
  for (const loop of state.loops) schedule(state, loop, 0);
}

async function runOnce(state: ServiceState): Promise<void> {
  await Promise.all(
    state.loops.map(async (loop) => {
      await loop.running;
      lookForPrune(loop);
      await runPass(state, loop);
      await loop.drilling;
    }),
  );
}

async function drillAll(state: ServiceState): Promise<void> {
  await Promise.all(
    state.loops.map(async (loop) => {
      await loop.running;
      await loop.drilling;
      lookForPrune(loop);
      await runPass(state, loop);
      if (loop.connection) await drillNow(state, loop, loop.connection);
    }),
  );
}

/** An explicit pass looks for a prune lock before it writes, however recently the last one did. */
function lookForPrune(loop: TargetLoop): void {
  if (loop.connection) loop.connection.pruneCheckedAt = 0;
}

async function stop(state: ServiceState): Promise<void> {
  state.stopped = true;
  state.unsubscribe();
  for (const loop of state.loops) if (loop.timer) clearTimeout(loop.timer);
  await Promise.all(state.loops.map((loop) => loop.running));
  await Promise.all(state.loops.map((loop) => loop.drilling));
  for (const loop of state.loops) {
    await dropConnection(loop);
    await loop.target.close();
  }
}

/** Runs a pass on `loop` after `delay`, then schedules the next one. */
function schedule(state: ServiceState, loop: TargetLoop, delay: number): void {
  if (state.stopped) return;
  loop.timer = setTimeout(() => {
    loop.timer = null;
    startPass(state, loop);
  }, delay);
  loop.timer.unref();
}

/** Runs a pass on `loop` now, then schedules the next one. */
function startPass(state: ServiceState, loop: TargetLoop): void {
  const started = Date.now();
  loop.lastPassAt = started;
  void runPass(state, loop).finally(() => {
    const elapsed = Date.now() - started;
    // Commits signalled during the pass but before its last read of the head were shipped by it.
    const again = loop.again && loop.wakes > loop.wakesCovered;
    loop.again = false;
    // Keep the cadence: a pass that took part of the interval shortens the wait.
    const next = again
      ? Math.max(0, commitShipGap(state) - elapsed)
      : Math.max(0, state.deps.config.backupShipIntervalMs - elapsed);
    // Writes committed during the pass wait for it: the next one starts now, not at the next turn of the timers.
    if (again && next === 0 && !state.stopped) startPass(state, loop);
    else schedule(state, loop, next);
  });
}

/** Something committed: ship it soon on every target that is shipping normally. */
function wake(state: ServiceState): void {
  for (const loop of state.loops) {
    loop.wakes += 1;
    // A target in an outage, or shipped by another server, is retried at the interval, not on every commit.
    if (state.stopped || loop.health.outage !== null || loop.health.standby) continue;
    if (loop.timer === null) {
      loop.again = true;
      continue;
    }
    clearTimeout(loop.timer);
    const delay = Math.max(0, loop.lastPassAt + commitShipGap(state) - Date.now());
    if (delay > 0) {
      schedule(state, loop, delay);
      continue;
    }
    loop.timer = null;
    startPass(state, loop);
  }
}

function commitShipGap(state: ServiceState): number {
  return state.deps.config.backupAck === 'target' ? ACK_SHIP_GAP_MS : MIN_COMMIT_SHIP_GAP_MS;
}
