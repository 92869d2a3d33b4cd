import { listVerifications, type Target } from '@holdfast/backup';
import type { Logger } from 'pino';
import { recordIncident } from '../ledger/ledger.js';
import { readHead } from '../store/revision-log.js';
import type { BackupMetrics } from './backup-metrics.js';
import { runDrill } from './drill.js';
import { saveSegmentCache } from './repository-view.js';
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
import { backupTargetLocations, openBackupTarget } from './targets.js';

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

interface TargetLoop extends TargetRuntime {
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
  lastPassAt: number;
}

/** The continuous backup: journal shipping and snapshots to every target, independently. */
export interface BackupService {
  /** One shipping pass on every target (tests and `backup run`); resolves when all are done. */
  runOnce(): Promise<void>;
  health(): TargetHealth[];
  stop(): Promise<void>;
}

/** What the service needs from the server context. */
export interface BackupServiceDeps extends ShipDeps {
  log: Logger;
  metrics?: BackupMetrics;
  /** Opens a configured target location (default {@link openBackupTarget}); tests wrap targets to inject faults. */
  openTarget?: (location: string) => Target;
  /** Subscribes to commits; shipping then starts at once instead of at the next interval. */
  onCommit?: (listener: () => void) => () => void;
}

/**
 * Commits closer together than this share one journal segment, which bounds
 * the segments a busy server writes to ten a second.
 */
const MIN_COMMIT_SHIP_GAP_MS = 100;

/**
 * Starts shipping to every configured target as soon as something commits
 * (`onCommit`), and every `backupShipIntervalMs` regardless.
 * A target that fails keeps its backlog: it resumes from its own last
 * shipped seq when it comes back, so nothing is dropped. Each outage is
 * logged and recorded once (`backup_failed`); a lag above
 * `backupLagAlertSeconds` is recorded once until it recovers (`journal_lag`).
 */
export function startBackupService(deps: BackupServiceDeps, options: { timers?: boolean } = {}): BackupService {
  const { config, log } = deps;
  const loops: TargetLoop[] = backupTargetLocations(config).map((location, index) => ({
    index,
    location,
    target: deps.openTarget ? deps.openTarget(location) : openBackupTarget(location, config),
    connection: null,
    lagAlerted: false,
    running: null,
    timer: null,
    again: false,
    lastPassAt: 0,
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
  }));
  if (loops.length === 1) log.warn('only one backup target is configured; a second one protects against losing it');
  let stopped = false;

  const pass = async (loop: TargetLoop) => {
    const started = deps.now();
    try {
      loop.connection ??= await connect(deps, loop);
      const connection = loop.connection;
      await shipJournal(deps, connection);
      if (started - connection.lastSnapshotAt >= config.backupSnapshotInterval) {
        const head = await readHead(deps.db.kysely);
        if (head > connection.lastSnapshotSeq) {
          const result = await snapshotNow(deps, connection);
          log.info(
            {
              target: loop.index,
              seq: result.snapshot.manifest.seq,
              reused: result.reusedObjects,
              written: result.newObjects,
            },
            'backup snapshot taken',
          );
        }
      }
      await succeeded(loop, connection);
      if (started - loop.cacheSavedAt >= 60_000) {
        // Segment facts read so far, so a restart after a crash reads only what is new.
        loop.cacheSavedAt = started;
        await saveSegmentCache(connection.cache);
      }
      await maybeDrill(loop, connection);
      await measureTarget(loop, connection);
    } catch (error) {
      if (error instanceof PruneInProgress) await stepBack(loop);
      else if (error instanceof ShippedElsewhere) await standBy(loop, error);
      else await failed(loop, error);
    }
    // The server that ships measures and alerts on the lag; a standby's own position says nothing.
    if (!loop.health.standby) await measureLag(loop);
  };

  const succeeded = async (loop: TargetLoop, connection: Connection) => {
    const health = loop.health;
    if (health.outage) {
      log.info({ target: loop.index, since: new Date(health.outage.since).toISOString() }, 'backup target recovered');
    }
    health.outage = null;
    health.standby = false;
    health.connected = true;
    health.shippedSeq = connection.shippedSeq;
    health.lastSuccessAt = deps.now();
    health.lastSnapshotAt = connection.lastSnapshotAt || null;
    deps.metrics?.reachable.set({ target: String(loop.index) }, 1);
  };

  const measureTarget = async (loop: TargetLoop, connection: Connection) => {
    const label = { target: String(loop.index) };
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
  };

  /** Starts the scheduled restore drill when it is due; it runs beside shipping, not instead of it. */
  const maybeDrill = async (loop: TargetLoop, connection: Connection) => {
    if (config.backupDrillInterval === 0 || loop.drilling || stopped) return;
    if (loop.lastDrillAt === null) {
      const records = await listVerifications(connection.repo);
      const last = records.at(-1);
      loop.lastDrillAt = last ? Date.parse(last.record.time) : 0;
      const ok = records.filter((r) => r.record.ok).at(-1);
      loop.health.lastVerifiedAt = ok ? Date.parse(ok.record.time) : null;
    }
    if (deps.now() - loop.lastDrillAt < config.backupDrillInterval) return;
    if (connection.lastSnapshotSeq < 0) return;
    loop.lastDrillAt = deps.now();
    loop.drilling = (async () => {
      try {
        const result = await runDrill(connection.repo);
        deps.metrics?.drillSeconds.set({ target: String(loop.index) }, result.durationMs / 1000);
        const record = result.verification.record;
        if (record.ok) {
          loop.health.lastVerifiedAt = Date.parse(record.time);
          log.info(
            { target: loop.index, snapshot: result.snapshot.object, ms: Math.round(result.durationMs) },
            'restore drill passed',
          );
          return;
        }
        const reason = [
          ...record.errors,
          ...record.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? ''}`),
        ].join('; ');
        await drillFailed(loop, reason);
      } catch (error) {
        await drillFailed(loop, error instanceof Error ? error.message : String(error));
      } finally {
        loop.drilling = null;
      }
    })();
  };

  const drillFailed = async (loop: TargetLoop, reason: string) => {
    log.error({ target: loop.index, err: reason.slice(0, 2000) }, 'restore drill failed');
    await recordIncident(
      deps.db,
      {
        kind: 'drill_failed',
        userId: null,
        summary: `The restore drill on backup target ${loop.index + 1} failed: ${reason.slice(0, 500)}`,
        details: { target: loop.index, reason: reason.slice(0, 5000) },
      },
      deps.now(),
    ).catch((error) => log.error({ err: String(error) }, 'could not record drill_failed'));
  };

  const stepBack = async (loop: TargetLoop) => {
    const connection = loop.connection;
    loop.connection = null;
    if (connection) await disconnect(connection).catch(() => {});
    log.info({ target: loop.index }, 'a prune is running on the backup target; shipping waits');
  };

  const standBy = async (loop: TargetLoop, error: ShippedElsewhere) => {
    const connection = loop.connection;
    loop.connection = null;
    if (connection) await disconnect(connection).catch(() => {});
    const health = loop.health;
    if (!health.standby) log.info({ target: loop.index }, error.message);
    // Reachable and in use: whatever outage this server saw is over.
    health.outage = null;
    health.standby = true;
    health.connected = false;
  };

  const failed = async (loop: TargetLoop, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    // What this process believed about the target may be stale now; the next pass re-reads it.
    const connection = loop.connection;
    loop.connection = null;
    if (connection) await disconnect(connection).catch(() => {});
    loop.health.connected = false;
    deps.metrics?.reachable.set({ target: String(loop.index) }, 0);
    if (loop.health.outage) {
      loop.health.outage.error = message;
      return;
    }
    loop.health.outage = { since: deps.now(), error: message };
    log.error({ target: loop.index, err: message }, 'backup to target failed; its backlog is kept and retried');
    await recordIncident(
      deps.db,
      {
        kind: 'backup_failed',
        userId: null,
        summary: `Backup target ${loop.index + 1} failed: ${message}. Shipping resumes from its last shipped revision when it is back.`,
        details: { target: loop.index, error: message, shippedSeq: loop.health.shippedSeq },
      },
      deps.now(),
    ).catch((ledgerError) => log.error({ err: String(ledgerError) }, 'could not record backup_failed'));
  };

  const measureLag = async (loop: TargetLoop) => {
    try {
      const head = await readHead(deps.db.kysely);
      const shipped = loop.connection?.shippedSeq ?? loop.health.shippedSeq;
      const lag = Math.max(0, head - Math.max(shipped, 0));
      let seconds = 0;
      if (lag > 0) {
        const oldest = await deps.db.kysely
          .selectFrom('revisions')
          .select('created_at')
          .where('seq', '>', Math.max(shipped, 0))
          .orderBy('seq')
          .limit(1)
          .executeTakeFirst();
        seconds = oldest ? Math.max(0, (deps.now() - oldest.created_at) / 1000) : 0;
      }
      Object.assign(loop.health, { headSeq: head, lagRevisions: lag, lagSeconds: seconds });
      deps.metrics?.lagRevisions.set({ target: String(loop.index) }, lag);
      deps.metrics?.lagSeconds.set({ target: String(loop.index) }, seconds);
      if (seconds > config.backupLagAlertSeconds && !loop.lagAlerted) {
        loop.lagAlerted = true;
        log.error({ target: loop.index, lagRevisions: lag, lagSeconds: seconds }, 'backup journal lag above threshold');
        await recordIncident(
          deps.db,
          {
            kind: 'journal_lag',
            userId: null,
            summary: `Backup target ${loop.index + 1} is ${lag} revisions (${Math.round(seconds)} s) behind.`,
            details: { target: loop.index, lagRevisions: lag, lagSeconds: seconds },
          },
          deps.now(),
        );
      } else if (seconds <= config.backupLagAlertSeconds) loop.lagAlerted = false;
    } catch (error) {
      log.warn({ target: loop.index, err: String(error) }, 'could not measure backup lag');
    }
  };

  const run = (loop: TargetLoop): Promise<void> => {
    loop.running ??= pass(loop).finally(() => {
      loop.running = null;
    });
    return loop.running;
  };

  const schedule = (loop: TargetLoop, delay: number) => {
    if (stopped) return;
    loop.timer = setTimeout(() => {
      loop.timer = null;
      const started = Date.now();
      loop.lastPassAt = started;
      void run(loop).finally(() => {
        const elapsed = Date.now() - started;
        // Keep the cadence: a pass that took part of the interval shortens the wait.
        const delay = loop.again
          ? Math.max(0, MIN_COMMIT_SHIP_GAP_MS - elapsed)
          : Math.max(0, config.backupShipIntervalMs - elapsed);
        loop.again = false;
        schedule(loop, delay);
      });
    }, delay);
    loop.timer.unref();
  };
  const wake = () => {
    for (const loop of loops) {
      // A target in an outage, or shipped by another server, is retried at the interval, not on every commit.
      if (stopped || loop.health.outage !== null || loop.health.standby) continue;
      if (loop.timer === null) {
        loop.again = true;
        continue;
      }
      clearTimeout(loop.timer);
      schedule(loop, Math.max(0, loop.lastPassAt + MIN_COMMIT_SHIP_GAP_MS - Date.now()));
    }
  };
  const unsubscribe = options.timers !== false && deps.onCommit ? deps.onCommit(wake) : () => {};
  if (options.timers !== false) for (const loop of loops) schedule(loop, 0);

  return {
    async runOnce() {
      await Promise.all(
        loops.map(async (loop) => {
          await loop.running;
          await run(loop);
          await loop.drilling;
        }),
      );
    },
    health: () => loops.map((loop) => ({ ...loop.health })),
    async stop() {
      stopped = true;
      unsubscribe();
      for (const loop of loops) if (loop.timer) clearTimeout(loop.timer);
      await Promise.all(loops.map((loop) => loop.running));
      await Promise.all(loops.map((loop) => loop.drilling));
      for (const loop of loops) {
        if (loop.connection) await disconnect(loop.connection).catch(() => {});
        loop.connection = null;
        await loop.target.close();
      }
    },
  };
}
