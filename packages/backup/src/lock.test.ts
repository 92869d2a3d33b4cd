import { createTestRepository, PASSPHRASE } from '@holdfast/test-support/backup-fixtures';
import { directoryHarness, type TargetHarness } from '@holdfast/test-support/backup-targets';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, listLocks, pruneInProgress } from './lock.js';
import { openRepository, type Repository } from './repository.js';

describe('repository locks', () => {
  let harness: TargetHarness;
  let repo: Repository;
  let now: number;
  beforeEach(async () => {
    harness = await directoryHarness();
    now = Date.UTC(2026, 0, 1);
    await createTestRepository(harness.target);
    repo = await openRepository(harness.target, { passphrase: PASSPHRASE }, { clock: () => new Date(now) });
  });
  afterEach(async () => harness.cleanup());

  it('is exclusive, and refreshing replaces the lock object without a gap', async () => {
    const held = await acquireLock(repo, { kind: 'backup', holder: 'a' });
    await expect(acquireLock(repo, { kind: 'prune', holder: 'b' })).rejects.toThrow(/is locked/);
    const before = held.object;
    await held.refresh();
    expect(held.object).not.toBe(before);
    expect((await listLocks(repo)).map((l) => l.object)).toEqual([held.object]);
    await held.release();
    expect(await listLocks(repo)).toEqual([]);
  });

  it('ignores an expired lock, and an expired holder may not write', async () => {
    const held = await acquireLock(repo, { kind: 'backup', holder: 'a', ttlMs: 1000 });
    now += 2000;
    expect(() => held.assertHeld()).toThrow(/expired/);
    const prune = await acquireLock(repo, { kind: 'prune', holder: 'b' });
    expect(await pruneInProgress(repo)).toBe(true);
    await prune.release();
  });

  it('lets the same holder take over the lock of a process that is gone, but not of a live one', async () => {
    await acquireLock(repo, { kind: 'backup', holder: 'host:db', isAlive: () => true });
    const locks = await listLocks(repo);
    const other = Buffer.from(JSON.stringify({ ...locks[0]?.record, pid: 999_999_999 }));
    await harness.target.deleteObject(locks[0]?.object as string);
    await harness.target.putObject('locks/backup-00000000000000000000000000000001', other);
    await expect(acquireLock(repo, { kind: 'backup', holder: 'host:db', isAlive: () => true })).rejects.toThrow(
      /is locked/,
    );
    await expect(acquireLock(repo, { kind: 'backup', holder: 'elsewhere', isAlive: () => false })).rejects.toThrow(
      /is locked/,
    );
    const taken = await acquireLock(repo, { kind: 'backup', holder: 'host:db', isAlive: () => false });
    expect((await listLocks(repo)).map((l) => l.object)).toEqual([taken.object]);
  });

  it('makes a prune wait for a backup to step back, and gives up if it does not', async () => {
    const backup = await acquireLock(repo, { kind: 'backup', holder: 'server' });
    await expect(acquireLock(repo, { kind: 'prune', holder: 'cli', waitMs: 300 })).rejects.toThrow(/is locked/);
    expect((await listLocks(repo)).map((l) => l.object)).toEqual([backup.object]);
    const waiting = acquireLock(repo, { kind: 'prune', holder: 'cli', waitMs: 5000 });
    // The backup side: steps back once it sees the prune lock (the server does this before every pass).
    while (!(await pruneInProgress(repo))) await new Promise((resolve) => setTimeout(resolve, 20));
    await backup.release();
    const prune = await waiting;
    expect(prune.record.kind).toBe('prune');
  });
});
