import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { readGeneration } from './meta.js';
import { CODE_SCHEMA_VERSION, migrateToLatest, readSchemaState } from './migrate.js';

describe.each(engines)('store on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(engine);
  });
  afterAll(async () => server?.close());

  it('records the schema version and a random generation', async () => {
    const state = await readSchemaState(server.ctx.db);
    expect(state).toMatchObject({ pending: [], unknown: [], version: CODE_SCHEMA_VERSION });
    expect(await readGeneration(server.ctx.db.kysely)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('refuses to UPDATE, DELETE or TRUNCATE revisions: the log is append-only in the database itself', async () => {
    const k = server.ctx.db.kysely;
    await k
      .insertInto('users')
      .values({ id: 'u', username: 'u', password_hash: 'x', disabled: 0, created_at: 0, updated_at: 0 })
      .execute();
    await k
      .insertInto('revisions')
      .values({
        seq: 999_999,
        user_id: 'u',
        entity: 'item',
        op: 'put',
        collection_id: 'c',
        item_id: 'i',
        device_id: null,
        origin: 'test',
        content_type: null,
        content: 'original',
        blob_sha256: null,
        blob_content_type: null,
        meta: null,
        content_hash: null,
        size: 8,
        base_seq: null,
        client_change_id: null,
        created_at: 0,
        chain: '0'.repeat(64),
      })
      .execute();
    await expect(
      k.updateTable('revisions').set({ content: 'rewritten' }).where('seq', '=', 999_999).execute(),
    ).rejects.toThrow(/immutable/);
    await expect(k.deleteFrom('revisions').where('seq', '=', 999_999).execute()).rejects.toThrow(/immutable/);
    if (engine === 'postgres') await expect(sql`TRUNCATE revisions`.execute(k)).rejects.toThrow(/immutable/);
    const row = await k.selectFrom('revisions').select('content').where('seq', '=', 999_999).executeTakeFirst();
    expect(row?.content).toBe('original');
  });

  it('refuses to run against a database whose schema is newer than the code', async () => {
    await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999-from-the-future', '2030-01-01')`.execute(
      server.ctx.db.kysely,
    );
    const again = openDatabase(server.databaseUrl);
    try {
      await expect(migrateToLatest(again)).rejects.toThrow(/newer than this Holdfast/);
    } finally {
      await sql`DELETE FROM kysely_migration WHERE name = '9999-from-the-future'`.execute(server.ctx.db.kysely);
      await again.close();
    }
  });
});

describe('a PostgreSQL connection that breaks while idle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('postgres');
  });
  afterAll(async () => server?.close());

  it('is reported and replaced instead of crashing the process', async () => {
    const errors: Error[] = [];
    const db = openDatabase(server.databaseUrl, { onConnectionError: (error) => errors.push(error) });
    try {
      const pidOf = async () =>
        (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db.kysely)).rows[0]?.pid;
      const first = await pidOf();
      // The pooled connection is idle now; the database ends it as an administrator (or a failover) would.
      await sql`SELECT pg_terminate_backend(${first})`.execute(server.ctx.db.kysely);
      await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(errors[0]?.message).toMatch(/terminat/i);
      const second = await pidOf();
      expect(second).not.toBe(first);
    } finally {
      await db.close();
    }
  });
});
