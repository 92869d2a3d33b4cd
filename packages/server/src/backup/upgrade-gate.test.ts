import { existsSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { addUser, cleanupAfterEach, pushNotes, startBackedUpServer } from '../test-support/backups.js';
import { backupNow, verifyTargets } from './operations.js';
import { assertMigrationAllowed, checkUpgradeGate } from './upgrade-gate.js';

const defer = cleanupAfterEach();

describe('upgrade gate', () => {
  it('exempts an empty database and refuses pending migrations on one with data until a verified backup covers it', async () => {
    const setup = await startBackedUpServer('sqlite', 2, { 'upgrade-max-lag': '0' });
    defer(setup.close);
    const { server } = setup;
    const { config, db } = server.ctx;
    const empty = openDatabase(':memory:');
    defer(() => empty.close());
    // An in-memory database leaves no file behind in the working directory.
    expect(existsSync(':memory:')).toBe(false);
    expect(await checkUpgradeGate(config, empty)).toMatchObject({ ok: true, exempt: true });
    await migrateToLatest(empty);
    expect(await checkUpgradeGate(config, empty)).toMatchObject({ ok: true, exempt: true });

    const alice = await addUser(server, 'alice');
    const notes = await pushNotes(server, alice, 20);
    // Pretend this code brings a migration the database has not run yet.
    const last = await sql<{ name: string }>`SELECT max(name) AS name FROM kysely_migration`.execute(db.kysely);
    await sql`DELETE FROM kysely_migration WHERE name = ${last.rows[0]?.name}`.execute(db.kysely);
    await expect(assertMigrationAllowed(config, db)).rejects.toThrow(/no verified snapshot.*holdfast upgrade/);

    await backupNow(config, db);
    const gate = await checkUpgradeGate(config, db);
    expect(gate.ok).toBe(false);
    expect(gate.reasons.join('\n')).toMatch(/no verified snapshot/);
    const drills = await verifyTargets(config, db);
    expect(drills.every((d) => d.ok && d.value.verification.record.ok)).toBe(true);
    await assertMigrationAllowed(config, db);

    await pushNotes(server, alice, 1, { collectionId: notes, prefix: 'late' });
    const behind = await checkUpgradeGate(config, db);
    expect(behind.ok).toBe(false);
    expect(behind.reasons.join('\n')).toMatch(/covers revision \d+, the database is at \d+/);

    const stale = loadConfig({
      flags: {
        data: server.dataDir,
        database: server.databaseUrl,
        'backup-targets': config.backupTargets,
        'backup-passphrase': config.backupPassphrase,
        'upgrade-max-lag': '100',
        'upgrade-max-age-ms': '0',
      },
      env: {},
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await checkUpgradeGate(stale, db)).reasons.join('\n')).toMatch(/verified \d+ s ago/);
  });
});
