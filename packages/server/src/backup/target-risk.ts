import type { Config } from '../config.js';

export const NO_BACKUP_TARGET = 'no backup target configured: the server copy is the only copy';

/** What is known of one backup target, from a fresh look (`backup status`) or the running service. */
export interface TargetFacts {
  /** How operators read it: "backup target 1 (/mnt/backup)". */
  name: string;
  reachable: boolean;
  error: string | null;
  lagRevisions: number | null;
  lagSeconds: number | null;
  /** When a restore drill last passed on the target (ms since the epoch), or null. */
  verifiedAt: number | null;
  freeBytes: number | null;
}

/**
 * The newest passed drill may be this old before it counts against the
 * target: twice the drill interval, since one missed drill is a warning sign,
 * not yet a problem. Null when scheduled drills are off.
 */
export function maxVerifiedAgeSeconds(config: Pick<Config, 'backupDrillInterval'>): number | null {
  return config.backupDrillInterval > 0 ? (2 * config.backupDrillInterval) / 1000 : null;
}

/**
 * Why a target puts the data at risk, in words for an operator; none when it
 * is fine. One rule set for `doctor` and the operators' overview: the target
 * is reachable, within its lag bound, not full, and a restore drill passed on
 * it recently.
 */
export function targetProblems(
  config: Pick<Config, 'backupLagAlertSeconds' | 'backupDrillInterval' | 'backupTargetMinFreeBytes'>,
  facts: TargetFacts,
  now: number,
): string[] {
  const { name } = facts;
  if (!facts.reachable) return [`${name} is unreachable: ${facts.error ?? 'unknown error'}`];
  const problems: string[] = [];
  if ((facts.lagSeconds ?? 0) > config.backupLagAlertSeconds)
    problems.push(
      `${name} is ${facts.lagRevisions} revisions (${Math.round(facts.lagSeconds ?? 0)} s) behind; the bound is ${config.backupLagAlertSeconds} s`,
    );
  if (facts.freeBytes !== null && facts.freeBytes < config.backupTargetMinFreeBytes)
    problems.push(
      `${name} is nearly full: ${facts.freeBytes} bytes free, below the minimum of ${config.backupTargetMinFreeBytes}`,
    );
  const maxAge = maxVerifiedAgeSeconds(config);
  if (facts.verifiedAt === null) problems.push(`${name} has no verified snapshot: a restore is unproven`);
  else if (maxAge !== null && (now - facts.verifiedAt) / 1000 > maxAge)
    problems.push(
      `${name}: the last passed restore drill is ${Math.round((now - facts.verifiedAt) / 3_600_000)} h old`,
    );
  return problems;
}
