import type { Context } from '../context.js';
import {
  type AckGate,
  accountsPending,
  attachAckGate,
  closeAckGate,
  noteAccountsDurable,
  noteDurable,
} from './ack-gate.js';
import { createBackupMetrics } from './backup-metrics.js';
import { type BackupService, startBackupService } from './backup-service.js';
import type { BackupServiceDeps } from './target-loop.js';
import { backupTargetLocations } from './targets.js';

/**
 * Starts continuous backups for a running server, or returns null when no
 * target is configured. With `backupAck=target` (the default) write routes
 * acknowledge only once the journal segment holding the write is on the
 * targets (ack-gate.ts); the shipping loops release them segment by segment.
 */
export function startServerBackups(ctx: Context): BackupService | null {
  const targets = backupTargetLocations(ctx.config).length;
  if (targets === 0) {
    ctx.log.warn(
      'no backup targets are configured (backupTargets): this server holds the only server-side copy, and writes are acknowledged with durability local',
    );
    return null;
  }
  const gate = attachAckGate(ctx, targets);
  if (ctx.config.backupAck === 'local') {
    ctx.log.info('backupAck=local: writes are acknowledged before they reach a backup target (RPO: the shipping lag)');
  }
  const service = startBackupService({
    config: ctx.config,
    db: ctx.db,
    blobs: ctx.blobs,
    log: ctx.log.child({ component: 'backup' }),
    now: ctx.now,
    metrics: createBackupMetrics(ctx.metrics.registry),
    onCommit: (listener) => ctx.notifier.subscribeAll(listener),
    ...ackGateDeps(gate),
  });
  gate.onWait = () => service.wake();
  ctx.commits.onCommitted = (rows) => service.handOff(rows);
  return {
    ...service,
    stop: async () => {
      ctx.commits.onCommitted = null;
      closeAckGate(gate);
      await service.stop();
    },
  };
}

/** What the shipping loops tell `gate` and read from it: how far each target got, and the account changes waiting. */
export function ackGateDeps(
  gate: AckGate,
): Pick<BackupServiceDeps, 'onDurable' | 'accountEpoch' | 'accountsPending' | 'onAccountsDurable'> {
  return {
    onDurable: (index, seq) => noteDurable(gate, index, seq),
    accountEpoch: () => gate.accountEpoch,
    accountsPending: () => accountsPending(gate),
    onAccountsDurable: (index, epoch) => noteAccountsDurable(gate, index, epoch),
  };
}
