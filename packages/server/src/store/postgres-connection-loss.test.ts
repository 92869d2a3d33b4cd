import { connect as connectTcp, createServer, type Socket } from 'node:net';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAppError } from '../http/problem.js';
import { type Db, openDatabase } from './database.js';
import { inTransaction } from './transactions.js';

/**
 * PostgreSQL ends every connection when it stops or restarts. A connection
 * the pool has lent out (a transaction between two statements, a query in
 * flight) then reports an `error` event of its own; with nothing listening,
 * that event ends the whole server process (postgres-outage e2e test).
 */
describe('a lent-out PostgreSQL connection that the server ends', () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: Db;
  const reported: Error[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url, { create: true, onConnectionError: (error) => reported.push(error) });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const terminate = async (pid: number) => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
  };

  it('fails the transaction that held it and leaves the process and the pool working', async () => {
    const failed = await inTransaction(db, async (trx) => {
      const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
      await terminate(rows[0]!.pid);
      // Between two statements: the connection is lent out and idle when its end arrives.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sql`SELECT 1`.execute(trx);
    }).catch((error: unknown) => error as Error);
    expect(failed).toBeInstanceOf(Error);
    // Answered as retryable, never as a server fault or a bad request.
    expect(toAppError(failed).error).toMatchObject({
      code: 'unavailable',
      status: 503,
      details: { reason: 'database_unavailable', retryAfter: 5 },
    });
    expect(reported.length).toBeGreaterThan(0);
    // The broken connection left the pool; the next statement gets a working one.
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(db.kysely);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('fails a statement in flight when its connection ends, and nothing else', async () => {
    const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db.kysely);
    const pid = rows[0]!.pid;
    // The pool lends the same idle connection again; the sleep keeps it busy while it is ended.
    const slow = sql`SELECT pg_sleep(5)`.execute(db.kysely).catch((error: unknown) => error as Error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await terminate(pid);
    const ended = await slow;
    expect(ended).toBeInstanceOf(Error);
    expect(toAppError(ended).error).toMatchObject({ code: 'unavailable', details: { reason: 'database_unavailable' } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await sql<{ one: number }>`SELECT 1 AS one`.execute(db.kysely);
    expect(again.rows).toEqual([{ one: 1 }]);
  });

  it('answers a statement whose socket fails while it runs as unavailable', async () => {
    // A TCP relay in front of PostgreSQL, so the test can reset the connection's socket the way a network failure
    // or a dying server does: the driver then fails the statement with the socket's own error (ECONNRESET, EPIPE),
    // not with a PostgreSQL error code.
    const target = new URL(database.url);
    const relayed: Socket[] = [];
    const relay = createServer((client) => {
      const upstream = connectTcp(Number(target.port || 5432), target.hostname);
      relayed.push(client);
      client.on('error', () => {});
      client.on('close', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const address = relay.address() as { port: number };
    const viaRelay = new URL(database.url);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(address.port);
    const relayedDb = openDatabase(viaRelay.toString(), { create: false, onConnectionError: () => {} });
    try {
      // A statement outside a transaction (a push reads its receipts before it writes), in flight when the
      // socket fails: it hears the socket's own error. (In a transaction the failed ROLLBACK's error replaces it.)
      await sql`SELECT 1`.execute(relayedDb.kysely);
      setTimeout(() => {
        for (const socket of relayed) socket.resetAndDestroy();
      }, 200);
      const failed = await sql`SELECT pg_sleep(2)`.execute(relayedDb.kysely).catch((error: unknown) => error as Error);
      expect(failed).toBeInstanceOf(Error);
      expect(toAppError(failed).error).toMatchObject({
        code: 'unavailable',
        status: 503,
        details: { reason: 'database_unavailable' },
      });
    } finally {
      await relayedDb.close().catch(() => {});
      relay.close();
    }
  });

  it('answers a database that refuses connections as unavailable', async () => {
    const closed = openDatabase('postgres://holdfast@127.0.0.1:1/none', { create: false });
    try {
      const refused = await sql`SELECT 1`.execute(closed.kysely).catch((error: unknown) => error as Error);
      expect(refused).toBeInstanceOf(Error);
      expect(toAppError(refused).error).toMatchObject({
        code: 'unavailable',
        details: { reason: 'database_unavailable' },
      });
      // The same socket error from another service (an S3 store, a mail server) is not the database's.
      const elsewhere = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
      expect(toAppError(elsewhere).error.details?.reason).not.toBe('database_unavailable');
    } finally {
      await closed.close();
    }
  });
});
