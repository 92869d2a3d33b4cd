/** The server's backup engine: continuous shipping, snapshots, drills, restore, prune and the upgrade gate. */
export { attachAckGate, type BackupAckHealth, backupAckHealth, type Durability, noteDurable } from './ack-gate.js';
export { type BackupService, startBackupService, type TargetHealth } from './backup-service.js';
export {
  describeRestore,
  type RepositoryCoverage,
  type RestoreCoverage,
  readCoverage,
  type SnapshotEntry,
} from './coverage.js';
export { restoreToNewDeployment } from './disaster-restore.js';
export { type DrillResult, runDrill } from './drill.js';
export { describeHistory, type HistorySummary, planRepositoryRestore } from './histories.js';
export {
  backupNow,
  initTargets,
  type PerTarget,
  pruneTargets,
  type UpgradeResult,
  upgrade,
  verifyTargets,
} from './operations.js';
export { type PruneResult, pruneRepository } from './prune.js';
export { chooseSnapshot, type RestorePoint, restoreRepository } from './restore.js';
export { readBackupStatus, type TargetStatus } from './status.js';
export { maxVerifiedAgeSeconds, NO_BACKUP_TARGET, type TargetFacts, targetProblems } from './target-risk.js';
export { backupSecret, backupTargetLocations, openBackupTarget } from './targets.js';
export { checkUpgradeGate } from './upgrade-gate.js';
