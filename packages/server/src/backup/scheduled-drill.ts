import { listVerifications } from '@holdfast/backup';
import { drillScratchLocation } from '../config.js';
import { recordIncident } from '../ledger/ledger.js';
import { runDrill } from './drill.js';
import type { BackupServiceDeps, LoopScope, TargetLoop } from './target-loop.js';
import type { Connection } from './target-runtime.js';

/** Starts the scheduled restore drill when it is due; it runs beside shipping, not instead of it. */
export async function maybeDrill(scope: LoopScope, loop: TargetLoop, connection: Connection): Promise<void> {
  const { deps } = scope;
  if (loop.drilling || scope.stopped) return;
  // Read once even with scheduled drills off: the operators' overview shows when one last passed.
  if (loop.lastDrillAt === null) {
    const records = await listVerifications(connection.repo);
    const last = records.at(-1);
    loop.lastDrillAt = last ? Date.parse(last.record.time) : 0;
    const ok = records.filter((r) => r.record.ok).at(-1);
    loop.health.lastVerifiedAt = ok ? Date.parse(ok.record.time) : null;
  }
  if (deps.config.backupDrillInterval === 0) return;
  if (deps.now() - loop.lastDrillAt < deps.config.backupDrillInterval) return;
  startDrill(scope, loop, connection);
}

/**
 * Starts a restore drill on `loop` now, whatever the schedule (an operator
 * asked for one); joins the one already running. Resolves when it is done.
 */
export function drillNow(scope: LoopScope, loop: TargetLoop, connection: Connection): Promise<void> {
  if (!loop.drilling && !scope.stopped && connection.lastSnapshotSeq >= 0) startDrill(scope, loop, connection);
  return loop.drilling ?? Promise.resolve();
}

function startDrill(scope: LoopScope, loop: TargetLoop, connection: Connection): void {
  if (connection.lastSnapshotSeq < 0) return;
  loop.lastDrillAt = scope.deps.now();
  loop.drilling = drill(scope.deps, loop, connection).finally(() => {
    loop.drilling = null;
  });
}

async function drill(deps: BackupServiceDeps, loop: TargetLoop, connection: Connection): Promise<void> {
  try {
    const result = await runDrill(connection.repo, { scratchDir: drillScratchLocation(deps.config) });
    deps.metrics?.drillSeconds.set({ target: String(loop.index + 1) }, result.durationMs / 1000);
    const record = result.verification.record;
    if (record.ok) {
      loop.health.lastVerifiedAt = Date.parse(record.time);
      deps.log.info(
        { target: loop.index + 1, snapshot: result.snapshot.object, ms: Math.round(result.durationMs) },
        'restore drill passed',
      );
      return;
    }
    const reason = [
      ...record.errors,
      ...record.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? ''}`),
    ].join('; ');
    await drillFailed(deps, loop, reason);
  } catch (error) {
    await drillFailed(deps, loop, error instanceof Error ? error.message : String(error));
  }
}

async function drillFailed(deps: BackupServiceDeps, loop: TargetLoop, reason: string): Promise<void> {
  deps.log.error({ target: loop.index + 1, err: reason.slice(0, 2000) }, 'restore drill failed');
  await recordIncident(
    deps.db,
    {
      kind: 'drill_failed',
      userId: null,
      summary: `The restore drill on backup target ${loop.index + 1} failed: ${reason.slice(0, 500)}`,
      details: { target: loop.index + 1, reason: reason.slice(0, 5000) },
    },
    deps.now(),
  ).catch((error) => deps.log.error({ err: String(error) }, 'could not record drill_failed'));
}
