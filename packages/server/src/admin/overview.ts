import type { AdminOverview, AdminTarget } from '@holdfast/protocol';
import type { BackupService, TargetHealth } from '../backup/backup-service.js';
import { backupTargetLocations } from '../backup/target-locations.js';
import { NO_BACKUP_TARGET, targetProblems } from '../backup/target-risk.js';
import type { Context } from '../context.js';
import { readGeneration } from '../store/meta.js';
import { readHead } from '../store/revision-log.js';
import { countAccounts } from '../store/user-directory.js';
import { countOpenIncidents } from './incidents.js';
import { countReports } from './reports.js';

/** What the operators' API needs of the running backup service. */
export type BackupControl = Pick<BackupService, 'health' | 'runOnce' | 'drillNow'>;

/** A target location as operators may see it: credentials in a URL are left out. */
function displayName(location: string): string {
  return location.replace(/\/\/[^@/]*@/, '//');
}

/**
 * "Is everyone's data safe right now?", from the running backup service's
 * own view of its targets (no target is contacted for the answer), judged
 * by the rules `doctor` applies (backup/target-risk.ts).
 */
export async function readOverview(ctx: Context, backup: BackupControl | null): Promise<AdminOverview> {
  const now = ctx.now();
  const reasons: string[] = [];
  const configured = backupTargetLocations(ctx.config).length;
  if (configured === 0) reasons.push(NO_BACKUP_TARGET);
  else if (!backup) reasons.push('backup targets are configured but this server does not run the backups');
  const targets = (backup?.health() ?? []).map((health) => targetOverview(ctx, health, now));
  for (const target of targets) if (target.problem) reasons.push(target.problem);
  return {
    status: reasons.length === 0 ? 'ok' : 'at_risk',
    reasons,
    head: { generation: await readGeneration(ctx.db), revision: await readHead(ctx.db) },
    targets,
    users: await countAccounts(ctx.db),
    openIncidents: await countOpenIncidents(ctx),
    openReports: await countReports(ctx),
  };
}

function targetOverview(ctx: Context, health: TargetHealth, now: number): AdminTarget {
  const number = health.index + 1;
  const name = displayName(health.location);
  // A standby target is shipped to by another server on the same database: reachable, and that server measures it.
  const reached = health.connected || health.standby;
  const facts = {
    name: `backup target ${number} (${name})`,
    reachable: reached,
    error: health.outage?.error ?? (reached ? null : 'not reached yet'),
    lagRevisions: health.lagRevisions,
    lagSeconds: health.lagSeconds,
    verifiedAt: health.lastVerifiedAt,
    freeBytes: health.freeBytes,
  };
  const problems = targetProblems(ctx.config, facts, now);
  return {
    number,
    name,
    lastShippedRevision: Math.max(0, health.shippedSeq),
    lagRevisions: health.lagRevisions,
    lagSeconds: health.lagSeconds,
    rpoSeconds: ctx.config.backupLagAlertSeconds,
    lastVerifiedDrillAt: health.lastVerifiedAt === null ? null : new Date(health.lastVerifiedAt).toISOString(),
    drillAgeSeconds: health.lastVerifiedAt === null ? null : Math.max(0, (now - health.lastVerifiedAt) / 1000),
    freeBytes: health.freeBytes,
    status: problems.length === 0 ? 'ok' : 'at_risk',
    problem: problems.length === 0 ? null : problems.join('; '),
  };
}
