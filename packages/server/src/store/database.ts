import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteDatabase } from '@holdfast/node-io';
import { anyCause } from '@holdfast/protocol';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteStatement, sql } from 'kysely';
import type pg from 'pg';
import { loadPg } from './load-pg.js';
import type { Database } from './schema.js';

export type Engine = 'sqlite' | 'postgres';

export interface Db {
  engine: Engine;
  kysely: Kysely<Database>;
  /** A redacted description for logs and `doctor`. */
  describe: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Hears about pooled PostgreSQL connections that broke while idle. */
  onConnectionError?: (error: Error) => void;
  /** False: a missing SQLite file (or its directory) is an error, never created. Default true. */
  create?: boolean;
  /** SQLite's page cache in MiB (`sqliteCacheMib`); unset keeps the SQLite build's default. */
  sqliteCacheMib?: number;
}

/** True for a `postgres://…` location; anything else is a SQLite file path. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/**
 * Opens `postgres://…` URLs on PostgreSQL and anything else as a SQLite file
 * path. Only the open module (open-context.ts) calls this for a deployment's
 * database; it decides whether to create and whether to migrate. Pooled
 * PostgreSQL connections that break go to `onConnectionError`, whether idle
 * or lent out (the pool replaces them; without a listener the process would
 * crash on the unhandled error event).
 */
export function openDatabase(location: string, options: OpenDatabaseOptions = {}): Db {
  if (isPostgresLocation(location)) return openPostgres(location, options.onConnectionError ?? (() => {}));
  return openSqlite(location, options.create ?? true, options.sqliteCacheMib);
}

/**
 * Switching a new file to WAL needs it alone for a moment, and SQLite answers SQLITE_BUSY to that switch at once,
 * without its busy handler, when another process is opening the same file (several commands started together on
 * a fresh data directory). So the switch is retried here for as long as the busy timeout would have waited.
 */
function enableWal(sqlite: BetterSqlite3.Database): void {
  const deadline = Date.now() + 10_000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, 20);
    }
  }
}

/**
 * A throwaway copy (a restore drill's scratch database, deleted afterwards) needs no durability: no fsyncs and no
 * second write through a WAL. A restore writes the whole log in one transaction: with the default page cache it
 * spills pages to the file and reads them back while inserting, so the scratch copy keeps them in memory (up to
 * SCRATCH_CACHE_KIB, freed when it is closed). SQLite only; PostgreSQL keeps its settings.
 */
export async function relaxDurabilityForScratch(db: Db): Promise<void> {
  if (db.engine !== 'sqlite') return;
  await sql`PRAGMA journal_mode = MEMORY`.execute(db.kysely);
  // Larger pages: fewer of them to write and for the integrity check to walk. Only a database with no tables
  // yet takes a new page size (rebuilding an empty one is instant); one with data keeps its own.
  const tables = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master`.execute(db.kysely);
  if (tables.rows[0]?.n === 0) {
    await sql`PRAGMA page_size = ${sql.raw(String(SCRATCH_PAGE_BYTES))}`.execute(db.kysely);
    await sql`VACUUM`.execute(db.kysely);
  }
  await sql`PRAGMA synchronous = OFF`.execute(db.kysely);
  await sql`PRAGMA cache_size = -${sql.raw(String(SCRATCH_CACHE_KIB))}`.execute(db.kysely);
  await sql`PRAGMA temp_store = MEMORY`.execute(db.kysely);
}

/** The scratch database's page cache: 64 MiB at most, used only as far as the restored log needs. */
export const SCRATCH_CACHE_KIB = 64 * 1024;

/** The scratch database's page size: SQLite's largest but one, against 4 KiB by default. */
const SCRATCH_PAGE_BYTES = 32 * 1024;

function openSqlite(path: string, create: boolean, cacheMib?: number): Db {
  // ':memory:' is SQLite's in-memory database, not a file to create.
  if (create && path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Created owner-only before SQLite opens it, whatever the umask; SQLite gives -wal and -shm the same mode.
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  }
  const sqlite = new SqliteDatabase(path, { fileMustExist: !create });
  sqlite.pragma('busy_timeout = 10000');
  // WAL with synchronous=FULL fsyncs the log on every commit: an acknowledged write survives power loss.
  enableWal(sqlite);
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // Group commits run each write in a savepoint, and SQLite copies every page a write touches into a
  // sub-journal (about 60 KiB for a contact PUT). Past 64 KiB that journal spills to a temporary file
  // created, written page by page and deleted in every group: with temp_store on a file that cost more
  // system time than the commit's own WAL writes. In memory it stays in memory, bounded by the group.
  sqlite.pragma('temp_store = MEMORY');
  // Negative: a size in KiB rather than a count of pages.
  if (cacheMib !== undefined) sqlite.pragma(`cache_size = ${-Math.round(cacheMib * 1024)}`);
  // Tightens files an older release created readable by others.
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) {
      try {
        chmodSync(file, 0o600);
      } catch {
        // Not our file to change (another owner): `doctor` reports it.
      }
    }
  }
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    engine: 'sqlite',
    kysely,
    describe: `sqlite:${path}`,
    close: () => kysely.destroy(),
  };
}

/**
 * Kysely prepares every query afresh; preparing a 100-row INSERT costs more
 * than running it. Reusing prepared statements is safe because Kysely runs
 * one query at a time on the single SQLite connection.
 */
/** Stands in for a statement that has nothing to do. */
const NO_OP: SqliteStatement = {
  reader: false,
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  all: () => [],
  iterate: () => [][Symbol.iterator](),
};

function withStatementCache(sqlite: BetterSqlite3.Database, capacity = 256) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(source: string) {
      // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, some I/O errors); Kysely's
      // ROLLBACK after that would fail with "no transaction is active" and hide the error that caused it.
      if (source === 'rollback' && !sqlite.inTransaction) return NO_OP;
      let statement = cache.get(source);
      if (statement) {
        cache.delete(source);
      } else {
        statement = sqlite.prepare(source);
        if (cache.size >= capacity) cache.delete(cache.keys().next().value as string);
      }
      cache.set(source, statement);
      return statement;
    },
  };
}

function openPostgres(url: string, onConnectionError: (error: Error) => void): Db {
  const { Pool, types: parsers } = loadPg();
  // BIGINT (oid 20) comes back as a string by default; our sequences and times fit in a double.
  const int8 = 20;
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === int8
        ? (value: string) => Number(value)
        : parsers.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new Pool({ connectionString: url, max: 10, types });
  // A connection reports its own end as an `error` event. The pool listens only while the connection is idle;
  // one lent out (a transaction between statements, or a statement in flight when PostgreSQL restarts) has no
  // listener then, and an unheard error event ends the process. So each connection gets one for its whole life:
  // the statement that was using it fails with its own error, and the pool drops it when it comes back.
  pool.on('connect', (client) => {
    client.on('error', onConnectionError);
    markSocketErrors(client);
  });
  // The pool re-emits an idle connection's error, which the connection's own listener has already reported.
  pool.on('error', () => {});
  // A connection the pool cannot make (PostgreSQL down, refusing, unreachable) fails the statement waiting for it
  // with the socket's error; marked here, so it is told apart from the same error of another service (S3, mail).
  const dialectPool = {
    connect: () =>
      pool.connect().catch((error: unknown) => {
        throw markUnreachable(error);
      }),
    end: () => pool.end(),
  };
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: dialectPool }) });
  return {
    engine: 'postgres',
    kysely,
    describe: redactUrl(url),
    close: () => kysely.destroy(),
  };
}

const UNREACHABLE = Symbol('database unreachable');
/**
 * Marks unreachable every statement of `client` that fails with an error of the socket itself (`read ECONNRESET`,
 * `write EPIPE`: PostgreSQL or the network went away while a statement was in flight, or before the pool saw an
 * idle connection's end), as a connection that cannot be made is. PostgreSQL's own answers carry its codes and
 * are left as they are. Done once per connection, when the pool makes it.
 */
function markSocketErrors(client: pg.PoolClient): void {
  const query = client.query as (...args: unknown[]) => unknown;
  const marking = function (this: pg.PoolClient, ...args: unknown[]): unknown {
    const result = query.apply(this, args);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      throw error && typeof error === 'object' && 'syscall' in error ? markUnreachable(error) : error;
    });
  };
  Object.defineProperty(client, 'query', { value: marking, writable: true, configurable: true });
}

function markUnreachable(error: unknown): unknown {
  if (error && typeof error === 'object') Object.defineProperty(error, UNREACHABLE, { value: true });
  return error;
}

/**
 * Error codes that mean the database ended the session or cannot take it, not that the statement was wrong:
 * PostgreSQL's administrator or crash shutdown and "still starting" (57P01-57P03), its connection exceptions
 * (class 08), and SQLite locked by another process past `busy_timeout`.
 */
const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'SQLITE_BUSY',
]);

/** node-postgres's messages (pg/lib/client.js) for a connection that ended, or a statement sent on one. */
const PG_CONNECTION_LOST = /^(Connection terminated|Client has encountered a connection error and is not queryable)/;

/**
 * Whether `error` (or what it wraps) says the database is unreachable, restarting or locked: the request may
 * succeed if sent again, and nothing it asked for was written.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return anyCause(
    error,
    (e) =>
      UNREACHABLE in e ||
      (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) ||
      (typeof e.message === 'string' && PG_CONNECTION_LOST.test(e.message)),
  );
}

/** Hides the password in a connection URL. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}
