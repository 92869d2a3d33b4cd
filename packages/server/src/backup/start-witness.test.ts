import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { addUser, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { buildApp } from '../http/app.js';
import { closeContext, createContext } from '../main.js';
import { readGeneration } from '../store/meta.js';
import { readHead } from '../store/revision-log.js';
import {
  cleanupAfterEach,
  createCollection,
  createDirectoryRepositories,
  pushNotes,
  pushPhoto,
  shipOnce,
  TEST_PASSPHRASE,
  updateNotes,
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

/** Every change after `cursor` (none: from the start), following pages; the last cursor handed out. */
async function feed(server: TestServer, user: TestUser, cursor?: string) {
  const changes: { itemId: string | null; revision: number }[] = [];
  let next = cursor;
  for (;;) {
    const page = await server.app.inject({
      method: 'GET',
      url: `/v1/changes?limit=2${next ? `&cursor=${next}` : ''}`,
      headers: user.auth,
    });
    expect(page.statusCode).toBe(200);
    const body = page.json() as { changes: typeof changes; cursor: string; hasMore: boolean };
    changes.push(...body.changes);
    next = body.cursor;
    if (!body.hasMore) return { changes, cursor: next };
  }
}

/** The summary devices compare (live counts and digests), and the live count of one collection. */
async function liveNotes(server: TestServer, user: TestUser, collectionId: string) {
  const summary = await server.app.inject({ method: 'GET', url: '/v1/summary', headers: user.auth });
  expect(summary.statusCode).toBe(200);
  const row = await server.ctx.db.kysely
    .selectFrom('collections')
    .select('item_count')
    .where('id', '=', collectionId)
    .executeTakeFirstOrThrow();
  return { summary: summary.json() as unknown, itemCount: Number(row.item_count) };
}

describe('the backup target as a witness at start-up', () => {
  for (const copyOnly of ['the whole data directory', 'the database file alone'] as const) {
    it(`rolls forward from the target's journal when ${copyOnly} went back to an older copy of the same history`, async () => {
      const { base, dirs } = await createDirectoryRepositories(1);
      defer(() => rm(base, { recursive: true, force: true }));
      const dataDir = join(base, 'data');
      const copy = join(base, 'copy');

      let server = await open(dataDir, dirs);
      const user = await addUser(server, 'forward');
      const collectionId = await pushNotes(server, user, 6);
      await shipOnce(server);
      const copied = await readHead(server.ctx.db);
      const old = await feed(server, user);
      const generation = await readGeneration(server.ctx.db);
      await server.close();
      await cp(dataDir, copy, { recursive: true });

      server = await open(dataDir, dirs);
      await pushNotes(server, user, 4, { collectionId, prefix: 'later' });
      await updateNotes(server, user, collectionId, ['n0', 'n1']);
      // An account made after the copy comes back from the account state the target holds.
      const newcomer = await addUser(server, 'newcomer');
      const photo = await pushPhoto(server, newcomer, await createCollection(server, newcomer, 'photos'), 'p1');
      const deleted = await server.app.inject({
        method: 'POST',
        url: '/v1/push',
        headers: user.auth,
        payload: {
          changes: [
            {
              clientChangeId: 'delete-n2',
              collectionId,
              itemId: 'n2',
              op: 'delete',
              baseRevision: (await feed(server, user)).changes.find((c) => c.itemId === 'n2')?.revision,
            },
          ],
        },
      });
      expect(deleted.json().results[0].status).toBe('applied');
      await shipOnce(server);
      const head = await readHead(server.ctx.db);
      const expected = await feed(server, user, old.cursor);
      const summary = await liveNotes(server, user, collectionId);
      await server.close();

      if (copyOnly === 'the whole data directory') {
        await rm(dataDir, { recursive: true, force: true });
        await cp(copy, dataDir, { recursive: true });
      } else {
        await cp(join(copy, 'holdfast.db'), join(dataDir, 'holdfast.db'));
        await rm(join(dataDir, 'holdfast.db-wal'), { force: true });
        await rm(join(dataDir, 'holdfast.db-shm'), { force: true });
      }

      server = await open(dataDir, dirs);
      defer(() => server.close());
      expect(await readHead(server.ctx.db)).toBe(head);
      expect(await readGeneration(server.ctx.db)).toBe(generation);
      // The cursor handed out before the copy was taken sees every later change, none skipped.
      expect((await feed(server, user, old.cursor)).changes).toEqual(expected.changes);
      expect(await liveNotes(server, user, collectionId)).toEqual(summary);
      expect(summary.itemCount).toBe(9);
      const entries = await server.ctx.db.kysely.selectFrom('ledger_entries').select(['kind', 'details']).execute();
      expect(entries.map((e) => e.kind)).not.toContain('rollback_detected');
      expect((await feed(server, newcomer)).changes).toHaveLength(2);
      // Its photo came back from the target too (the blob files went back with the directory).
      const blob = await server.app.inject({ method: 'GET', url: `/v1/blobs/${photo}`, headers: newcomer.auth });
      expect(blob.statusCode).toBe(200);
      const forward = entries.filter((e) => e.kind === 'rolled_forward');
      expect(forward).toHaveLength(1);
      expect(JSON.parse(forward[0]?.details as string)).toMatchObject({
        head: copied,
        from: copied + 1,
        to: head,
        revisions: head - copied,
        users: {
          [user.userId]: { revisions: head - copied - 2, items: 7 },
          [newcomer.userId]: { revisions: 2, items: 1 },
        },
      });
      // A retried push is answered from its receipt, as before the copy went back.
      const retried = await server.app.inject({
        method: 'POST',
        url: '/v1/push',
        headers: user.auth,
        payload: {
          changes: [{ clientChangeId: 'delete-n2', collectionId, itemId: 'n2', op: 'delete', baseRevision: 1 }],
        },
      });
      expect(retried.json().results[0]).toMatchObject({ status: 'applied', revision: head });
      // New writes continue the chain the target holds.
      await pushNotes(server, user, 2, { collectionId, prefix: 'after' });
      await shipOnce(server);
      expect(await readHead(server.ctx.db)).toBe(head + 2);
    });
  }

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
