import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { addUser, type TestServer } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { buildApp } from '../http/app.js';
import { closeContext, createContext } from '../main.js';
import { readGeneration } from '../store/meta.js';
import { readHead } from '../store/revision-log.js';
import {
  cleanupAfterEach,
  createDirectoryRepositories,
  pushNotes,
  shipOnce,
  TEST_PASSPHRASE,
} from '../test-support/backups.js';

const defer = cleanupAfterEach();

/** The server's context and app over `dataDir` (SQLite), backing up to `targets`; nothing ships on its own. */
async function open(dataDir: string, targets: string[]): Promise<TestServer> {
  const config = loadConfig({
    flags: {
      data: dataDir,
      'log-level': 'silent',
      'backup-targets': targets.join(','),
      'backup-passphrase': TEST_PASSPHRASE,
      'backup-drill-interval': '0',
    },
    env: {},
  });
  const ctx = await createContext(config);
  const app = await buildApp(ctx);
  await app.ready();
  return {
    ctx,
    app,
    dataDir,
    databaseUrl: join(dataDir, 'holdfast.db'),
    close: async () => {
      await app.close();
      await closeContext(ctx);
    },
  };
}

describe('the backup target as a witness at start-up', () => {
  it('starts a new generation when the log was rolled back and rewritten past what the target holds', async () => {
    const { base, dirs } = await createDirectoryRepositories(1);
    defer(() => rm(base, { recursive: true, force: true }));
    const dataDir = join(base, 'data');
    const copy = join(base, 'copy');

    let server = await open(dataDir, dirs);
    const user = await addUser(server, 'witness');
    const collectionId = await pushNotes(server, user, 5);
    await shipOnce(server);
    const copied = await readHead(server.ctx.db);
    await server.close();
    await cp(dataDir, copy, { recursive: true });

    server = await open(dataDir, dirs);
    await pushNotes(server, user, 3, { collectionId, prefix: 'shipped' });
    await shipOnce(server);
    await server.close();

    // The old copy comes back and, with the target out of reach, is written past what the target holds.
    await rm(dataDir, { recursive: true, force: true });
    await cp(copy, dataDir, { recursive: true });
    server = await open(dataDir, []);
    await pushNotes(server, user, 5, { collectionId, prefix: 'other' });
    const generation = await readGeneration(server.ctx.db);
    await server.close();

    server = await open(dataDir, dirs);
    defer(() => server.close());
    expect(await readGeneration(server.ctx.db)).not.toBe(generation);
    const entries = await server.ctx.db.kysely
      .selectFrom('ledger_entries')
      .select(['kind', 'details'])
      .where('kind', '=', 'rollback_detected')
      .execute();
    expect(entries).toHaveLength(1);
    expect(JSON.parse(entries[0]?.details as string)).toMatchObject({
      previousGeneration: generation,
      witness: 'diverged',
      head: copied + 5,
      lostFrom: copied + 1,
      lostTo: copied + 3,
    });
  });

  it('leaves a database that agrees with the target alone', async () => {
    const { base, dirs } = await createDirectoryRepositories(1);
    defer(() => rm(base, { recursive: true, force: true }));
    const dataDir = join(base, 'data');
    let server = await open(dataDir, dirs);
    const user = await addUser(server, 'agrees');
    await pushNotes(server, user, 4);
    await shipOnce(server);
    await pushNotes(server, user, 2);
    const generation = await readGeneration(server.ctx.db);
    await server.close();

    server = await open(dataDir, dirs);
    defer(() => server.close());
    expect(await readGeneration(server.ctx.db)).toBe(generation);
    const entries = await server.ctx.db.kysely.selectFrom('ledger_entries').select('kind').execute();
    expect(entries.map((e) => e.kind)).not.toContain('rollback_detected');
  });
});
