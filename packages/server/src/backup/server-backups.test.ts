import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectoryTarget, listVerifications, openRepository, readSnapshot } from '@holdfast/backup';
import { engines } from '@holdfast/test-support/harness';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createUser } from '../auth/accounts.js';
import { loadConfig } from '../config.js';
import { listLedger } from '../ledger/ledger.js';
import { startServer } from '../main.js';
import { readSchemaState } from '../store/migrate.js';
import { readHead } from '../store/revision-log.js';
import {
  addUser,
  cleanupAfterEach,
  createDirectoryRepositories,
  pushNotes,
  startBackedUpServer,
  TEST_PASSPHRASE,
} from '../test-support/backups.js';
import { startBackupService } from './backup-service.js';
import { upgrade } from './operations.js';
import { startServerBackups } from './server-backups.js';

const defer = cleanupAfterEach();

async function until(condition: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('backups in the running server', () => {
  it('starts shipping with the server, exposes metrics, and stops with it', async () => {
    const { base, dirs } = await createDirectoryRepositories(2);
    const config = loadConfig({
      flags: {
        data: join(base, 'data'),
        port: '0',
        'log-level': 'silent',
        'backup-targets': dirs.join(','),
        'backup-passphrase': TEST_PASSPHRASE,
        'backup-ship-interval-ms': '100',
        'backup-drill-interval': '0',
      },
      env: {},
    });
    const server = await startServer(config);
    defer(() => server.close());
    expect(server.backup).not.toBeNull();
    await createUser(server.ctx, 'alice', 'alice-password-123');
    const head = await readHead(server.ctx.db.kysely);
    await until(async () => server.backup?.health().every((h) => h.shippedSeq >= head && h.outage === null) ?? false);
    const metrics = await server.ctx.metrics.registry.metrics();
    expect(metrics).toContain('holdfast_backup_journal_lag_revisions');
  });

  it('runs the scheduled restore drill and records drill_failed when it fails', async () => {
    const setup = await startBackedUpServer('sqlite', 1, { 'backup-drill-interval': '60000' });
    defer(setup.close);
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    await pushNotes(server, alice, 20);
    const { config, db, blobs, log } = server.ctx;
    let clock = Date.now();
    const service = startBackupService({ config, db, blobs, log, now: () => clock }, { timers: false });
    defer(() => service.stop());
    await service.runOnce();
    const target = new DirectoryTarget(dirs[0] as string);
    defer(() => target.close());
    const repo = await openRepository(target, { passphrase: TEST_PASSPHRASE });
    expect((await listVerifications(repo)).map((v) => v.record.ok)).toEqual([true]);
    expect(service.health()[0]?.lastVerifiedAt).not.toBeNull();

    const snapshot = (await repo.target.listObjects('snapshots/'))[0] as string;
    const bytes = await readFile(join(dirs[0] as string, snapshot));
    const data = (await readSnapshot(repo, snapshot)).data[0]?.object as string;
    await writeFile(join(dirs[0] as string, data), Buffer.from('damaged'));
    clock += 61_000;
    await service.runOnce();
    expect((await listVerifications(repo)).map((v) => v.record.ok)).toEqual([true, false]);
    const failures = (await listLedger(db.kysely, { limit: 100 })).filter((e) => e.kind === 'drill_failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.summary).toContain(data);
    expect(bytes.length).toBeGreaterThan(0);
  });

  it('holdfast upgrade refuses, changing nothing, when no target can hold a verified backup', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    defer(setup.close);
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    await pushNotes(server, alice, 5);
    await sql`DELETE FROM kysely_migration WHERE name = (SELECT max(name) FROM kysely_migration)`.execute(
      server.ctx.db.kysely,
    );
    await rename(dirs[0] as string, `${dirs[0]}.away`);
    const result = await upgrade(server.ctx.config);
    await rename(`${dirs[0]}.away`, dirs[0] as string);
    expect(result.refused?.join('\n')).toMatch(/target 1/);
    expect(result.after).toBeNull();
    expect(result.backups.every((b) => !b.ok)).toBe(true);
    expect((await readSchemaState(server.ctx.db)).pending).toHaveLength(1);
  });
});

describe.each(engines)('continuous shipping on %s', (engine) => {
  it('ships a commit at once instead of waiting for the next interval', async () => {
    // An hour between timed passes: only the commit itself can make the change reach the targets in time.
    const setup = await startBackedUpServer(engine, 2, { 'backup-ship-interval-ms': '3600000' });
    defer(setup.close);
    const { server } = setup;
    const service = startServerBackups(server.ctx);
    defer(async () => service?.stop());
    const health = () => service?.health() ?? [];
    const before = await readHead(server.ctx.db.kysely);
    await until(async () => health().length === 2 && health().every((h) => h.shippedSeq >= before));
    const alice = await addUser(server, 'alice');
    await pushNotes(server, alice, 5);
    const head = await readHead(server.ctx.db.kysely);
    expect(head).toBeGreaterThan(before);
    await until(async () => health().every((h) => h.shippedSeq >= head && h.outage === null));
  });
});
