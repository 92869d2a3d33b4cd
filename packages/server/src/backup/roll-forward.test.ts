import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { addUser, type EngineName, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
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

/** The server's context and app over `dataDir` (and `database`, default SQLite in it), backing up to `targets`; nothing ships on its own. */
async function open(dataDir: string, targets: string[], database?: string): Promise<TestServer> {
  const config = loadConfig({
    flags: {
      data: dataDir,
      ...(database ? { database } : {}),
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
    databaseUrl: database ?? join(dataDir, 'holdfast.db'),
    close: async () => {
      await app.close();
      await closeContext(ctx);
    },
  };
}

/**
 * The database of a deployment and a way to put it back to an older copy:
 * SQLite files are copied with the data directory; a PostgreSQL database is
 * copied with CREATE DATABASE … TEMPLATE, as a dump and reload would.
 */
async function openDatabaseCopies(engine: EngineName) {
  if (engine === 'sqlite') return { url: undefined, save: async () => {}, putBack: async () => {} };
  const created = await createTestDatabase();
  defer(created.drop);
  const name = new URL(created.url).pathname.slice(1);
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: inject('postgresUrl') });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  defer(() => admin(`DROP DATABASE IF EXISTS ${name}_copy WITH (FORCE)`));
  return {
    url: created.url,
    save: () => admin(`CREATE DATABASE ${name}_copy TEMPLATE ${name}`),
    putBack: async () => {
      await admin(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin(`CREATE DATABASE ${name} TEMPLATE ${name}_copy`);
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

const cases = [
  ['sqlite', 'the whole data directory'],
  ['sqlite', 'the database file alone'],
  ['postgres', 'the database and the data directory'],
] as const;

describe('rolling the database forward from a backup target at start-up', () => {
  for (const [engine, copyOnly] of cases) {
    it(`${engine}: rolls forward from the target's journal when ${copyOnly} went back to an older copy of the same history`, async () => {
      const { base, dirs } = await createDirectoryRepositories(1);
      defer(() => rm(base, { recursive: true, force: true }));
      const dataDir = join(base, 'data');
      const copy = join(base, 'copy');
      const database = await openDatabaseCopies(engine);

      let server = await open(dataDir, dirs, database.url);
      const user = await addUser(server, 'forward');
      const collectionId = await pushNotes(server, user, 6);
      await shipOnce(server);
      const copied = await readHead(server.ctx.db);
      const old = await feed(server, user);
      const generation = await readGeneration(server.ctx.db);
      await server.close();
      await cp(dataDir, copy, { recursive: true });
      await database.save();

      server = await open(dataDir, dirs, database.url);
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

      if (engine === 'postgres') {
        await rm(dataDir, { recursive: true, force: true });
        await cp(copy, dataDir, { recursive: true });
        await database.putBack();
      } else if (copyOnly === 'the whole data directory') {
        await rm(dataDir, { recursive: true, force: true });
        await cp(copy, dataDir, { recursive: true });
      } else {
        await cp(join(copy, 'holdfast.db'), join(dataDir, 'holdfast.db'));
        await rm(join(dataDir, 'holdfast.db-wal'), { force: true });
        await rm(join(dataDir, 'holdfast.db-shm'), { force: true });
      }

      server = await open(dataDir, dirs, database.url);
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
});
