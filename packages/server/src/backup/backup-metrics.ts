import { Gauge, type Registry } from 'prom-client';

/** Backup gauges, labelled by target index (locations can hold credentials, so they are not labels). */
export interface BackupMetrics {
  snapshotAge: Gauge<'target'>;
  verifiedAge: Gauge<'target'>;
  lagRevisions: Gauge<'target'>;
  lagSeconds: Gauge<'target'>;
  freeBytes: Gauge<'target'>;
  drillSeconds: Gauge<'target'>;
  reachable: Gauge<'target'>;
}

/** Creates the backup metrics on `registry` (the server's registry from metrics.ts). */
export function createBackupMetrics(registry: Registry): BackupMetrics {
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['target'] as const, registers: [registry] });
  return {
    snapshotAge: gauge('holdfast_backup_snapshot_age_seconds', 'Age of the newest snapshot on the target.'),
    verifiedAge: gauge(
      'holdfast_backup_verified_age_seconds',
      'Age of the newest snapshot that passed a restore drill.',
    ),
    lagRevisions: gauge('holdfast_backup_journal_lag_revisions', 'Revisions committed but not yet on the target.'),
    lagSeconds: gauge('holdfast_backup_journal_lag_seconds', 'Age of the oldest revision not yet on the target.'),
    freeBytes: gauge('holdfast_backup_target_free_bytes', 'Free space on the target (absent when unknown).'),
    drillSeconds: gauge('holdfast_backup_drill_duration_seconds', 'Duration of the last restore drill.'),
    reachable: gauge('holdfast_backup_target_up', '1 when the last attempt to reach the target succeeded.'),
  };
}
