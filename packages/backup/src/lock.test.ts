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

  it('takes over the lock of a process gone from this host, whatever its holder, but not a live or remote one', async () => {
    const put = async (name: string, record: Record<string, unknown>) => {
      for (const { object } of await listLocks(repo)) await harness.target.deleteObject(object);
      await harness.target.putObject(`locks/backup-${name.padStart(32, '0')}`, Buffer.from(JSON.stringify(record)));
    };
    const mine = (await acquireLock(repo, { kind: 'backup', holder: 'host:db' })).record;
    // A live process on this host (this one, seen from another holder) keeps its lock.
    await expect(acquireLock(repo, { kind: 'backup', holder: 'host:other-db' })).rejects.toThrow(/is locked/);
    // No process has this pid: a killed server, even one on another database path (a restore), is gone.
    await put('1', { ...mine, holder: 'host:old-db', pid: 999_999_999 });
    const taken = await acquireLock(repo, { kind: 'backup', holder: 'host:new-db' });
    expect((await listLocks(repo)).map((l) => l.object)).toEqual([taken.object]);
    // The pid runs, but it started at another time: a reused pid is not the holder.
    await put('2', { ...mine, holder: 'host:old-db', startTicks: (mine.startTicks ?? 0) + 1 });
    if (mine.startTicks != null) await acquireLock(repo, { kind: 'backup', holder: 'host:new-db' });
    // The host rebooted since the lock was written.
    await put('3', { ...mine, holder: 'host:old-db', bootId: 'another-boot' });
    if (mine.bootId != null) await acquireLock(repo, { kind: 'backup', holder: 'host:new-db' });
    // Nothing can be known about a process on another host: its lock stands until it expires.
    await put('4', { ...mine, holder: 'far:db', host: 'far-away-host', pid: 999_999_999 });
    await expect(acquireLock(repo, { kind: 'backup', holder: 'host:db' })).rejects.toThrow(/is locked/);
    // ...unless it wrote for an older generation of the taker's own lineage.
    await put('5', { ...mine, holder: 'far:db', host: 'far-away-host', generation: 'g1' });
    await expect(
      acquireLock(repo, { kind: 'backup', holder: 'host:db', generation: 'g3', supersedes: ['g2'] }),
    ).rejects.toThrow(/is locked/);
    await acquireLock(repo, { kind: 'backup', holder: 'host:db', generation: 'g2', supersedes: ['g1'] });
    // A lock from before hosts were recorded: only its own holder may take it over, and only when its pid is gone.
    const { host: _host, bootId: _boot, startTicks: _ticks, generation: _gen, ...legacy } = mine;
    await put('6', { ...legacy, pid: 999_999_999 });
    await expect(acquireLock(repo, { kind: 'backup', holder: 'elsewhere' })).rejects.toThrow(/is locked/);
    await put('7', { ...legacy, holder: 'host:db', pid: 999_999_999 });
    await acquireLock(repo, { kind: 'backup', holder: 'host:db' });
  });

  it('does not make backups wait for a prune whose process is gone from this host', async () => {
    const prune = await acquireLock(repo, { kind: 'prune', holder: 'cli' });
    expect(await pruneInProgress(repo)).toBe(true);
    await harness.target.deleteObject(prune.object);
    const dead = Buffer.from(JSON.stringify({ ...prune.record, pid: 999_999_999 }));
    await harness.target.putObject(`locks/prune-${'9'.padStart(32, '0')}`, dead);
    expect(await pruneInProgress(repo)).toBe(false);
    const remote = Buffer.from(JSON.stringify({ ...prune.record, pid: 999_999_999, host: 'far-away-host' }));
    await harness.target.putObject(`locks/prune-${'8'.padStart(32, '0')}`, remote);
    expect(await pruneInProgress(repo)).toBe(true);
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
