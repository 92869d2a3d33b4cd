import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRepository, DirectoryTarget, listSnapshots, openRepository, type Repository } from '@holdfast/backup';
import { describe, expect, it } from 'vitest';
import { addUser, cleanupAfterEach, pushNotes, startBackedUpServer, TEST_PASSPHRASE } from '../test-support/backups.js';
import { startBackupService } from './backup-service.js';
import { runDrill } from './drill.js';
import { pruneRepository } from './prune.js';
import type { RetentionPolicy } from './retention.js';
import { connect, disconnect, shipJournal, snapshotNow } from './target-runtime.js';

const defer = cleanupAfterEach();

const keepOne: RetentionPolicy = { keepLast: 1, keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 };

async function setup() {
  const backed = await startBackedUpServer('sqlite', 1);
  defer(backed.close);
  const { server, dirs } = backed;
  const alice = await addUser(server, 'alice');
  const notes = await pushNotes(server, alice, 300);
  const dir = dirs[0] as string;
  const { config, db, blobs } = server.ctx;
  const deps = { config, db, blobs, now: Date.now };
  const snapshots = async (count: number) => {
    const connection = await connect(deps, { location: dir, target: new DirectoryTarget(dir), connection: null });
    try {
      for (let i = 0; i < count; i++) {
        await pushNotes(server, alice, 20, { collectionId: notes, prefix: `s${Date.now()}-${i}-` });
        await shipJournal(deps, connection);
        await snapshotNow(deps, connection);
      }
    } finally {
      await disconnect(connection);
      await connection.repo.target.close();
    }
  };
  const target = new DirectoryTarget(dir);
  defer(() => target.close());
  const repo: Repository = await openRepository(target, { passphrase: TEST_PASSPHRASE });
  return { server, alice, notes, dir, snapshots, repo };
}

describe('prune', () => {
  it('refuses to run without a verified snapshot', async () => {
    const { repo, snapshots } = await setup();
    await snapshots(2);
    await expect(pruneRepository(repo, { policy: keepOne, marginMs: 0, holder: 'test' })).rejects.toThrow(
      /no verified snapshot/,
    );
  });

  it('keeps the newest verified snapshot and the journal after it; deletes only garbage seen in an earlier mark', async () => {
    const { repo, snapshots } = await setup();
    await snapshots(3);
    const verified = await runDrill(repo);
    expect(verified.verification.record.ok).toBe(true);
    await snapshots(1);
    const before = await listSnapshots(repo);
    const first = await pruneRepository(repo, { policy: keepOne, marginMs: 0, holder: 'test' });
    expect(first.deleted).toEqual([]);
    expect(first.garbage).toBeGreaterThan(0);
    const second = await pruneRepository(repo, { policy: keepOne, marginMs: 0, holder: 'test' });
    expect(second.deleted.length).toBe(first.garbage);
    const after = await listSnapshots(repo);
    expect(after.map((s) => s.object)).toEqual(
      before.filter((s) => s.manifest.seq >= verified.snapshot.manifest.seq).map((s) => s.object),
    );
    expect((await checkRepository(repo)).problems).toEqual([]);
    expect((await runDrill(repo)).verification.record.ok).toBe(true);
    const margin = await pruneRepository(repo, { policy: keepOne, marginMs: 3_600_000, holder: 'test' });
    expect(margin.deleted).toEqual([]);
  });

  it('stops without deleting anything when a kept object is missing or the target cannot be listed', async () => {
    const { repo, snapshots, dir } = await setup();
    await snapshots(2);
    const verified = await runDrill(repo);
    await snapshots(1);
    await pruneRepository(repo, { policy: keepOne, marginMs: 0, holder: 'test' });
    const data = verified.snapshot.manifest.data[0]?.object as string;
    await unlink(join(dir, data));
    const listed = await repo.target.listObjects('');
    await expect(pruneRepository(repo, { policy: keepOne, marginMs: 0, holder: 'test' })).rejects.toThrow(data);
    expect(await repo.target.listObjects('')).toEqual(listed);
    await rename(dir, `${dir}.away`);
    await expect(pruneRepository(repo, { policy: keepOne, marginMs: 0, holder: 'test' })).rejects.toThrow();
    await rename(`${dir}.away`, dir);
    expect(await repo.target.listObjects('')).toEqual(listed);
  });

  it('waits for a running server to step back, then the server resumes with nothing lost', async () => {
    const { server, alice, notes, repo, snapshots } = await setup();
    await snapshots(2);
    await runDrill(repo);
    const { config, db, blobs, log } = server.ctx;
    const service = startBackupService({ config, db, blobs, log, now: Date.now }, { timers: false });
    await service.runOnce();
    const writes = (async () => {
      for (let i = 0; i < 5; i++) {
        await pushNotes(server, alice, 5, { collectionId: notes, prefix: `race${i}-` });
        await service.runOnce();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const pruned = await pruneRepository(repo, { policy: keepOne, marginMs: 0, holder: 'prune-test', waitMs: 10_000 });
    await writes;
    await service.runOnce();
    expect(service.health()[0]?.lagRevisions).toBe(0);
    expect(service.health()[0]?.outage).toBeNull();
    await service.stop();
    expect(pruned.dryRun).toBe(false);
    expect((await checkRepository(repo)).problems).toEqual([]);
  });
});
