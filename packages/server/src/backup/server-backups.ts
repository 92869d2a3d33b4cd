import type { Context } from '../context.js';
import { createBackupMetrics } from './backup-metrics.js';
import { type BackupService, startBackupService } from './backup-service.js';
import { backupTargetLocations } from './targets.js';

/** Starts continuous backups for a running server, or returns null when no target is configured. */
export function startServerBackups(ctx: Context): BackupService | null {
  if (backupTargetLocations(ctx.config).length === 0) {
    ctx.log.warn('no backup targets are configured (backupTargets): acknowledged data has no copy elsewhere');
    return null;
  }
  return startBackupService({
    config: ctx.config,
    db: ctx.db,
    blobs: ctx.blobs,
    log: ctx.log.child({ component: 'backup' }),
    now: ctx.now,
    metrics: createBackupMetrics(ctx.metrics.registry),
    onCommit: (listener) => ctx.notifier.subscribeAll(listener),
  });
}
