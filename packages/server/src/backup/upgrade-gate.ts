import { AppError } from '@holdfast/protocol';
import type { Config } from '../config.js';
import { isDatabaseEmpty } from '../store/counts.js';
import type { Db } from '../store/database.js';
import { readSchemaState } from '../store/migrate.js';
import { readBackupStatus } from './status.js';

/** Whether the upgrade gate is met, and why not. */
export interface GateResult {
  ok: boolean;
  /** True when the database is empty: nothing to lose, no backup needed. */
  exempt: boolean;
  reasons: string[];
}

/**
 * The upgrade gate (the Sidekick lesson): a schema migration or storage move
 * may run only if some target holds a snapshot of this database that passed
 * a restore drill, covers the head within `upgradeMaxLag` revisions, and is
 * at most `upgradeMaxAgeMs` old. An empty database is exempt.
 */
export async function checkUpgradeGate(config: Config, db: Db, now = Date.now()): Promise<GateResult> {
  const schema = await readSchemaState(db);
  if (schema.applied.length === 0) return { ok: true, exempt: true, reasons: [] };
  if (await isDatabaseEmpty(db)) return { ok: true, exempt: true, reasons: [] };
  const reasons: string[] = [];
  const statuses = await readBackupStatus(config, db, now);
  if (statuses.length === 0) reasons.push('no backup targets are configured (backupTargets)');
  for (const status of statuses) {
    const name = `target ${status.index + 1}`;
    if (!status.reachable) {
      reasons.push(`${name}: ${status.error ?? 'unreachable'}`);
      continue;
    }
    const verified = status.newestVerified;
    if (!verified) {
      reasons.push(`${name}: no verified snapshot`);
      continue;
    }
    const head = status.headSeq ?? 0;
    const age = now - Date.parse(verified.verifiedAt);
    if (verified.generation !== status.generation) {
      reasons.push(`${name}: the verified snapshot is of another database generation`);
    } else if (verified.seq < head - config.upgradeMaxLag) {
      reasons.push(`${name}: the verified snapshot covers revision ${verified.seq}, the database is at ${head}`);
    } else if (age > config.upgradeMaxAgeMs) {
      reasons.push(`${name}: the verified snapshot was verified ${Math.round(age / 1000)} s ago`);
    } else {
      return { ok: true, exempt: false, reasons: [] };
    }
  }
  return { ok: false, exempt: false, reasons };
}

/**
 * Refuses to go on with pending migrations unless the gate is met. Called
 * by openContext before migrating; `holdfast upgrade` meets the gate first.
 */
export async function assertMigrationAllowed(config: Config, db: Db): Promise<void> {
  const schema = await readSchemaState(db);
  if (schema.pending.length === 0 || schema.unknown.length > 0) return;
  const gate = await checkUpgradeGate(config, db);
  if (gate.ok) return;
  throw new AppError(
    'precondition_failed',
    `Upgrade gate: the database needs migrations (${schema.pending.join(', ')}) and there is no fresh verified backup of it: ${gate.reasons.join('; ')}. Run \`holdfast upgrade\`, which backs up, verifies and then migrates.`,
    { pending: schema.pending, reasons: gate.reasons },
  );
}
