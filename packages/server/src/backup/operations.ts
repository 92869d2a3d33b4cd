import { mkdir } from 'node:fs/promises';
import { initRepository, openRepository, type Repository, type Target } from '@holdfast/backup';
import type { Logger } from 'pino';
import { openBlobStore, s3SettingsFromConfig } from '../blobs/index.js';
import { type Config, drillScratchLocation } from '../config.js';
import { recordIncident } from '../ledger/ledger.js';
import { openContext } from '../open-context.js';
import type { Db } from '../store/database.js';
import { migrateToLatest, readSchemaState, type SchemaState } from '../store/migrate.js';
import { readHead } from '../store/revision-log.js';
import { type DrillResult, runDrill } from './drill.js';
import { type PruneResult, pruneRepository } from './prune.js';
import { newestSnapshot } from './repository-view.js';
import { connect, disconnect, type ShipResult, shipJournal, snapshotNow } from './target-runtime.js';
import { backupSecret, backupTargetLocations, lockHolder, openBackupTarget } from './targets.js';
import { checkUpgradeGate } from './upgrade-gate.js';

/** One target's outcome of an operation: a value, or the error that stopped it there. */
export type PerTarget<T> = { index: number; location: string } & (
  | { ok: true; value: T }
  | { ok: false; error: string }
);

async function eachTarget<T>(
  config: Config,
  work: (target: Target, index: number) => Promise<T>,
): Promise<PerTarget<T>[]> {
  const results: PerTarget<T>[] = [];
  for (const [index, location] of backupTargetLocations(config).entries()) {
    const target = openBackupTarget(location, config);
    try {
      results.push({ index, location, ok: true, value: await work(target, index) });
    } catch (error) {
      results.push({ index, location, ok: false, error: error instanceof Error ? error.message : String(error) });
    } finally {
      await target.close();
    }
  }
  return results;
}

/**
 * Creates a repository on every configured target that has none yet, and a
 * missing target directory first (owner-only). Only this explicit command
 * creates one: a running server never does, so an unmounted disk is refused.
 */
export function initTargets(config: Config): Promise<PerTarget<string>[]> {
  const locations = backupTargetLocations(config);
  return eachTarget(config, async (target, index) => {
    const location = locations[index] as string;
    let created = '';
    if (!location.startsWith('s3://')) {
      const made = await mkdir(location, { recursive: true, mode: 0o700 });
      if (made !== undefined) created = `created directory ${location}; `;
    }
    const secret = backupSecret(config);
    try {
      return `existing repository ${(await openRepository(target, secret)).id}`;
    } catch (error) {
      if (!(error instanceof Error) || !/no Holdfast backup repository/.test(error.message)) throw error;
    }
    return `${created}created repository ${(await initRepository(target, secret)).id}`;
  });
}

/**
 * One backup now, on every target: ship the journal to the head, then take
 * a snapshot. `db` may be at an older schema (this is what `holdfast
 * upgrade` runs before migrating).
 */
export async function backupNow(
  config: Config,
  db: Db,
): Promise<PerTarget<ShipResult & { snapshot: string; seq: number }>[]> {
  const blobs = await openBlobStore(config.blobs, config.dataDir, s3SettingsFromConfig(config));
  try {
    const deps = { config, db, blobs, now: Date.now };
    return await eachTarget(config, async (target) => {
      const connection = await connect(deps, { location: target.description, target, connection: null });
      try {
        const before = connection.lastSnapshotSeq;
        const shipped = await shipJournal(deps, connection);
        // The first pass on a new repository starts with a snapshot; a second one at the same head adds nothing.
        const fresh = newestSnapshot(connection.view, connection.generation);
        const current =
          connection.lastSnapshotSeq !== before && fresh && fresh.manifest.seq === (await readHead(db.kysely))
            ? fresh
            : (await snapshotNow(deps, connection)).snapshot;
        return { ...shipped, snapshot: current.object, seq: current.manifest.seq };
      } finally {
        await disconnect(connection);
      }
    });
  } finally {
    await blobs.close();
  }
}

/** A restore drill on every target; failures are recorded as `drill_failed` when `db` is given. */
export async function verifyTargets(
  config: Config,
  db: Db | null,
  options: { sample?: number } = {},
): Promise<PerTarget<DrillResult>[]> {
  const results = await eachTarget(config, async (target) =>
    runDrill(await openRepository(target, backupSecret(config)), {
      ...options,
      scratchDir: drillScratchLocation(config),
    }),
  );
  for (const result of results) {
    const failed = !result.ok || !result.value.verification.record.ok;
    if (!failed || !db) continue;
    const reason = result.ok
      ? result.value.verification.record.errors
          .concat(
            result.value.verification.record.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? ''}`),
          )
          .join('; ')
      : result.error;
    await recordIncident(db, {
      kind: 'drill_failed',
      userId: null,
      summary: `The restore drill on backup target ${result.index + 1} failed: ${reason.slice(0, 500)}`,
      details: { target: result.index, reason: reason.slice(0, 5000) },
    });
  }
  return results;
}

/** Retention and garbage collection on every target; each prune is recorded in the ledger when `db` is given. */
export async function pruneTargets(
  config: Config,
  db: Db | null,
  options: { dryRun?: boolean } = {},
): Promise<PerTarget<PruneResult>[]> {
  const results = await eachTarget(config, async (target) => {
    const repo: Repository = await openRepository(target, backupSecret(config));
    return pruneRepository(repo, {
      policy: {
        keepLast: config.backupKeepLast,
        keepHourly: config.backupKeepHourly,
        keepDaily: config.backupKeepDaily,
        keepWeekly: config.backupKeepWeekly,
        keepMonthly: config.backupKeepMonthly,
      },
      marginMs: config.backupPruneMarginMs,
      holder: lockHolder(config),
      dryRun: options.dryRun === true,
    });
  });
  for (const result of results) {
    if (!db || !result.ok || result.value.dryRun) continue;
    await recordIncident(db, {
      kind: 'prune',
      userId: null,
      summary: `Pruned backup target ${result.index + 1}: kept ${result.value.keptSnapshots} snapshots, dropped ${result.value.droppedSnapshots}, deleted ${result.value.deleted.length} objects (${result.value.deferred} more wait for the safety margin).`,
      details: {
        target: result.index,
        keptSnapshots: result.value.keptSnapshots,
        droppedSnapshots: result.value.droppedSnapshots,
        deleted: result.value.deleted.length,
        deferred: result.value.deferred,
      },
    });
  }
  return results;
}

/** What `holdfast upgrade` did. */
export interface UpgradeResult {
  before: SchemaState;
  after: SchemaState | null;
  backups: PerTarget<ShipResult & { snapshot: string; seq: number }>[];
  drills: PerTarget<DrillResult>[];
  refused: string[] | null;
}

/**
 * `holdfast upgrade`: back up, verify by restoring, and only then migrate.
 * Refuses (changing nothing) when no target ends up with a verified
 * snapshot covering the head.
 */
export async function upgrade(config: Config, log?: Logger): Promise<UpgradeResult> {
  // Opened as it is: the upgrade runs its own gate (backup, drill) before it migrates.
  const { db } = await openContext(config, { migrate: 'never', anySchema: true, databaseOnly: true });
  try {
    const before = await readSchemaState(db);
    if (before.pending.length === 0) return { before, after: before, backups: [], drills: [], refused: null };
    const gateBefore = await checkUpgradeGate(config, db);
    if (gateBefore.exempt) return { before, after: await migrateToLatest(db), backups: [], drills: [], refused: null };
    const backups = await backupNow(config, db);
    log?.info({ backups: backups.map((b) => b.ok) }, 'upgrade: backup done');
    const drills = await verifyTargets(config, db);
    const gate = await checkUpgradeGate(config, db);
    if (!gate.ok) return { before, after: null, backups, drills, refused: gate.reasons };
    return { before, after: await migrateToLatest(db), backups, drills, refused: null };
  } finally {
    await db.close();
  }
}
