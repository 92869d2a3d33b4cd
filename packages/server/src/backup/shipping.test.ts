import { rename } from 'node:fs/promises';
import {
  checkRepository,
  DirectoryTarget,
  openRepository,
  readJournalChain,
  type Target,
  targetError,
} from '@holdfast/backup';
import type { TestServer } from '@holdfast/test-support/harness';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { listLedger } from '../ledger/ledger.js';
import { readGeneration } from '../store/meta.js';
import { readHead } from '../store/revision-log.js';
import {
  addUser,
  createCollection,
  pushNotes,
  pushPhoto,
  startBackedUpServer,
  TEST_PASSPHRASE,
} from '../test-support/backups.js';
import { type BackupMetrics, createBackupMetrics } from './backup-metrics.js';
import { startBackupService } from './backup-service.js';
import { chainHead, loadSegmentCache, scanRepository } from './repository-view.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

function serviceFor(
  server: TestServer,
  extra: { now?: () => number; openTarget?: (location: string) => Target; metrics?: BackupMetrics } = {},
) {
  const { config, db, blobs, log } = server.ctx;
  return startBackupService({ config, db, blobs, log, now: extra.now ?? Date.now, ...extra }, { timers: false });
}

/** Every seq from 1 to the head is in the repository's chain for this generation, in order, exactly once. */
async function expectCompleteJournal(server: TestServer, dir: string) {
  const target = new DirectoryTarget(dir);
  try {
    const repo = await openRepository(target, { passphrase: TEST_PASSPHRASE });
    const view = await scanRepository(repo, await loadSegmentCache(null));
    const generation = await readGeneration(server.ctx.db.kysely);
    const head = chainHead(view, generation);
    const seq = await readHead(server.ctx.db.kysely);
    const base = view.snapshots.filter((s) => s.manifest.generation === generation)[0]?.manifest.seq ?? 0;
    expect(head?.toSeq ?? base).toBe(seq);
    const chain = head ? await readJournalChain(repo, head.object, base) : [];
    const seqs = chain.flatMap((s) => s.segment.revisions.map((r) => r.seq));
    const expected = Array.from({ length: seq - base }, (_, i) => base + i + 1);
    expect(seqs).toEqual(expected);
    const report = await checkRepository(repo);
    expect(report.problems).toEqual([]);
  } finally {
    await target.close();
  }
}

describe('continuous journal shipping', () => {
  it('ships revisions and blobs to every target and resumes from the repository after a restart', async () => {
    const setup = await startBackedUpServer('sqlite', 2);
    cleanup = setup.close;
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    const notes = await pushNotes(server, alice, 50);
    const photos = await createCollection(server, alice, 'photos');
    await pushPhoto(server, alice, photos, 'p1');
    const registry = new Registry();
    let service = serviceFor(server, { metrics: createBackupMetrics(registry) });
    await service.runOnce();
    const head = await readHead(server.ctx.db.kysely);
    const exposed = await registry.metrics();
    // Targets are numbered from 1 in labels, as in the CLI and logs.
    expect(exposed).toContain('holdfast_backup_journal_lag_revisions{target="2"} 0');
    expect(exposed).toMatch(/holdfast_backup_snapshot_age_seconds\{target="1"\} \d/);
    expect(exposed).toMatch(/holdfast_backup_target_free_bytes\{target="1"\} \d+/);
    expect(exposed).not.toContain('target="0"');
    expect(service.health().map((h) => [h.shippedSeq, h.lagRevisions, h.outage])).toEqual([
      [head, 0, null],
      [head, 0, null],
    ]);
    await service.stop();

    await pushNotes(server, alice, 30, { collectionId: notes, prefix: 'm' });
    service = serviceFor(server);
    await service.runOnce();
    await service.stop();
    for (const dir of dirs) await expectCompleteJournal(server, dir);
  });

  it('keeps serving and keeps the backlog while a target is down, alerts once, and catches up without a gap', async () => {
    const setup = await startBackedUpServer('sqlite', 2);
    cleanup = setup.close;
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    const notes = await pushNotes(server, alice, 20);
    const service = serviceFor(server);
    await service.runOnce();
    const [first, second] = dirs as [string, string];
    await rename(second, `${second}.away`);
    for (let round = 0; round < 3; round++) {
      await pushNotes(server, alice, 10, { collectionId: notes, prefix: `r${round}-` });
      await service.runOnce();
    }
    const head = await readHead(server.ctx.db.kysely);
    const [up, down] = service.health() as [
      ReturnType<typeof service.health>[number],
      ReturnType<typeof service.health>[number],
    ];
    expect(up.shippedSeq).toBe(head);
    expect(down.outage).not.toBeNull();
    expect(down.lagRevisions).toBe(30);
    const failures = (await listLedger(server.ctx.db.kysely, { limit: 100 })).filter((e) => e.kind === 'backup_failed');
    expect(failures).toHaveLength(1);

    await rename(`${second}.away`, second);
    await service.runOnce();
    expect(service.health()[1]?.outage).toBeNull();
    expect(service.health()[1]?.shippedSeq).toBe(head);
    await service.stop();
    await expectCompleteJournal(server, first);
    await expectCompleteJournal(server, second);
  });

  it('treats a full target like any outage: nothing dropped, resumed once there is room', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    cleanup = setup.close;
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    await pushNotes(server, alice, 10);
    let full = true;
    const openTarget = (location: string): Target => {
      const inner = new DirectoryTarget(location);
      return {
        description: inner.description,
        putObject: async (name, bytes) => {
          if (full && !name.startsWith('locks/')) throw targetError('full', inner.description, 'no space left');
          return inner.putObject(name, bytes);
        },
        getObject: (name) => inner.getObject(name),
        hasObject: (name) => inner.hasObject(name),
        listObjects: (prefix) => inner.listObjects(prefix),
        deleteObject: (name) => inner.deleteObject(name),
        freeSpace: async () => (full ? 0 : inner.freeSpace()),
        close: () => inner.close(),
      };
    };
    const service = serviceFor(server, { openTarget });
    await service.runOnce();
    expect(service.health()[0]?.outage?.error).toMatch(/no space left/);
    full = false;
    await service.runOnce();
    expect(service.health()[0]?.outage).toBeNull();
    await service.stop();
    await expectCompleteJournal(server, dirs[0] as string);
  });

  it('records journal_lag once when the oldest unshipped revision passes the threshold', async () => {
    const setup = await startBackedUpServer('sqlite', 1, { 'backup-lag-alert-seconds': '5' });
    cleanup = setup.close;
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    await pushNotes(server, alice, 5);
    let clock = Date.now();
    const service = serviceFor(server, { now: () => clock });
    await rename(dirs[0] as string, `${dirs[0]}.away`);
    await service.runOnce();
    clock += 10_000;
    await service.runOnce();
    await service.runOnce();
    expect(service.health()[0]?.lagSeconds).toBeGreaterThan(5);
    const lags = (await listLedger(server.ctx.db.kysely, { limit: 100 })).filter((e) => e.kind === 'journal_lag');
    expect(lags).toHaveLength(1);
    await rename(`${dirs[0]}.away`, dirs[0] as string);
    await service.runOnce();
    expect(service.health()[0]?.lagRevisions).toBe(0);
    await service.stop();
  });
});
