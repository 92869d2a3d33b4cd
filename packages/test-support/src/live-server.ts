import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClientOptions,
  createClient,
  createMemoryStore,
  type HoldfastClient,
  openSqliteStore,
  type ReplicaStore,
} from '@holdfast/client';
import {
  buildApp,
  type Context,
  closeContext,
  createContext,
  createLogger,
  createUser,
  loadConfig,
} from '@holdfast/server';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
import type { EngineName } from './harness.js';
import { createTestDatabase } from './postgres.js';

export { engines } from './harness.js';

/**
 * A real Holdfast server on 127.0.0.1 that tests can stop, copy and restart
 * on the same port, the way an operator restores a backup behind the same URL.
 */
export interface LiveServer {
  engine: EngineName;
  url: string;
  /** A scratch directory (replicas, recovery copies) removed on close. */
  dir: string;
  databaseUrl: string;
  dataDir: string;
  ctx(): Context;
  /** Stops serving and closes the database, keeping the data. */
  stop(): Promise<void>;
  /** Serves again on the same port, optionally from another database or data directory. */
  start(where?: { databaseUrl?: string; dataDir?: string }): Promise<void>;
  /** A new, empty database to start on. */
  freshDatabase(): Promise<string>;
  /** A byte-for-byte copy of the (stopped) server's database: a backup. */
  copyDatabase(): Promise<string>;
  close(): Promise<void>;
}

export async function startLiveServer(engine: EngineName): Promise<LiveServer> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-client-test-'));
  const drops: (() => Promise<void>)[] = [];
  const newDatabase = async (): Promise<string> => {
    if (engine === 'sqlite') return join(dir, `server-${randomBytes(3).toString('hex')}.db`);
    const db = await createTestDatabase();
    drops.push(db.drop);
    return db.url;
  };
  let port = 0;
  let running: { app: FastifyInstance; ctx: Context } | null = null;
  const live: LiveServer = {
    engine,
    url: '',
    dir,
    databaseUrl: await newDatabase(),
    dataDir: join(dir, 'server-data'),
    ctx: () => {
      if (!running) throw new Error('server is stopped');
      return running.ctx;
    },
    async start(where = {}) {
      if (running) throw new Error('server is running');
      live.databaseUrl = where.databaseUrl ?? live.databaseUrl;
      live.dataDir = where.dataDir ?? live.dataDir;
      const config = loadConfig({
        flags: { data: live.dataDir, database: live.databaseUrl, 'log-level': 'silent' },
        env: {},
      });
      const ctx = await createContext(config, createLogger(config));
      const app = await buildApp(ctx);
      await app.listen({ host: '127.0.0.1', port });
      port = (app.server.address() as AddressInfo).port;
      live.url = `http://127.0.0.1:${port}`;
      running = { app, ctx };
    },
    async stop() {
      if (!running) return;
      const { app, ctx } = running;
      running = null;
      await app.close();
      await closeContext(ctx);
    },
    freshDatabase: newDatabase,
    async copyDatabase() {
      if (running) throw new Error('stop the server before copying its database');
      if (engine === 'sqlite') {
        const copy = join(dir, `server-copy-${randomBytes(3).toString('hex')}.db`);
        await copyFile(live.databaseUrl, copy);
        return copy;
      }
      const source = new URL(live.databaseUrl).pathname.slice(1);
      const name = `${source}_copy_${randomBytes(3).toString('hex')}`;
      const admin = new pg.Client({ connectionString: inject('postgresUrl') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${source}`);
      } finally {
        await admin.end();
      }
      drops.push(async () => {
        const client = new pg.Client({ connectionString: inject('postgresUrl') });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => client.end());
      });
      const url = new URL(live.databaseUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      await live.stop();
      for (const drop of drops.reverse()) await drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await live.start();
  return live;
}

/** An account on the server. */
export interface Account {
  username: string;
  password: string;
}

/** Creates a new account, or recreates `same` (its username and password) on a server that lost it. */
export async function createAccount(live: LiveServer, same?: Account): Promise<Account> {
  const username = same?.username ?? `u${randomBytes(4).toString('hex')}`;
  const password = same?.password ?? `pw-${username}-secret`;
  await createUser(live.ctx(), username, password);
  return { username, password };
}

/** Quick retries so tests of failures do not wait on production backoff. */
export const FAST_RETRY = { attempts: 2, baseMs: 5, maxMs: 20 };

/** A device: a client over a fresh replica (SQLite in the scratch dir, or memory), logged in. */
export async function device(
  live: LiveServer,
  account: Account,
  options: Partial<ClientOptions> & { backend?: 'sqlite' | 'memory'; name?: string } = {},
): Promise<HoldfastClient> {
  const { backend, name: given, ...rest } = options;
  const name = given ?? `dev-${randomBytes(3).toString('hex')}`;
  const store: ReplicaStore =
    rest.store ?? (backend === 'memory' ? createMemoryStore() : openSqliteStore(join(live.dir, `${name}.db`)));
  const client = createClient({
    serverUrl: live.url,
    retry: FAST_RETRY,
    recoveryDirectory: join(live.dir, `${name}-recovery`),
    ...rest,
    store,
  });
  await client.login(account.username, account.password, name);
  return client;
}
