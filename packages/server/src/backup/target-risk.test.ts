import { describe, expect, it } from 'vitest';
import { type TargetFacts, targetProblems } from './target-risk.js';

const config = { backupLagAlertSeconds: 60, backupDrillInterval: 86_400_000, backupTargetMinFreeBytes: 1000 };
const now = Date.parse('2026-06-01T12:00:00Z');
const healthy: TargetFacts = {
  name: 'backup target 1 (/mnt/b)',
  reachable: true,
  error: null,
  lagRevisions: 0,
  lagSeconds: 0,
  verifiedAt: now - 3_600_000,
  freeBytes: 10_000,
};

describe('target risk rules (doctor and the operators overview)', () => {
  it('finds nothing wrong with a reachable, current, roomy, recently drilled target', () => {
    expect(targetProblems(config, healthy, now)).toEqual([]);
  });

  it('names an unreachable target and nothing else about it', () => {
    const problems = targetProblems(config, { ...healthy, reachable: false, error: 'ENOENT', verifiedAt: null }, now);
    expect(problems).toEqual(['backup target 1 (/mnt/b) is unreachable: ENOENT']);
  });

  it('counts lag past the bound, a nearly full target, and a missing or stale drill', () => {
    expect(targetProblems(config, { ...healthy, lagRevisions: 5, lagSeconds: 61 }, now)).toEqual([
      'backup target 1 (/mnt/b) is 5 revisions (61 s) behind; the bound is 60 s',
    ]);
    expect(targetProblems(config, { ...healthy, freeBytes: 999 }, now)[0]).toMatch(/nearly full: 999 bytes free/);
    expect(targetProblems(config, { ...healthy, freeBytes: null }, now)).toEqual([]);
    expect(targetProblems({ ...config, backupTargetMinFreeBytes: 0 }, { ...healthy, freeBytes: 0 }, now)).toEqual([]);
    expect(targetProblems(config, { ...healthy, verifiedAt: null }, now)[0]).toMatch(/no verified snapshot/);
    // Twice the drill interval: one missed drill is not yet a problem, two are.
    expect(targetProblems(config, { ...healthy, verifiedAt: now - 47 * 3_600_000 }, now)).toEqual([]);
    expect(targetProblems(config, { ...healthy, verifiedAt: now - 49 * 3_600_000 }, now)).toEqual([
      'backup target 1 (/mnt/b): the last passed restore drill is 49 h old',
    ]);
    expect(targetProblems({ ...config, backupDrillInterval: 0 }, { ...healthy, verifiedAt: 0 }, now)).toEqual([]);
  });
});
