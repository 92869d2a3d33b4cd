import { AppError } from '@holdfast/protocol';
import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import type { Db } from './database.js';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-summaries-ledger.js';
import * as m0003 from './migrations/0003-dav.js';
import * as m0004 from './migrations/0004-imports.js';
import * as m0005 from './migrations/0005-revision-chain.js';
import * as m0006 from './migrations/0006-recovery-holds.js';
import * as m0007 from './migrations/0007-admin-role.js';
import * as m0008 from './migrations/0008-web-sessions.js';
import * as m0009 from './migrations/0009-notifications.js';
import * as m0010 from './migrations/0010-contact-search.js';
import * as m0011 from './migrations/0011-items-collection-index.js';

/** Forward-only migrations, in order. The last one's index is the schema version. */
const migrationList = [
  ['0001-initial', m0001],
  ['0002-summaries-ledger', m0002],
  ['0003-dav', m0003],
  ['0004-imports', m0004],
  ['0005-revision-chain', m0005],
  ['0006-recovery-holds', m0006],
  ['0007-admin-role', m0007],
  ['0008-web-sessions', m0008],
  ['0009-notifications', m0009],
  ['0010-contact-search', m0010],
  ['0011-items-collection-index', m0011],
] as const;

export const CODE_SCHEMA_VERSION = migrationList.length;

function migrations(db: Db): Record<string, Migration> {
  return Object.fromEntries(
    migrationList.map(([name, module]) => [name, { up: (k: Kysely<unknown>) => module.up(k, db.engine) }]),
  );
}

export interface SchemaState {
  /** Migrations recorded in the database. */
  applied: string[];
  /** Migrations this code knows but the database has not run. */
  pending: string[];
  /** Migrations the database has run that this code does not know: it is newer than us. */
  unknown: string[];
  version: number;
}

/** Reads which migrations the database has run without changing anything. */
export async function readSchemaState(db: Db): Promise<SchemaState> {
  const known = migrationList.map(([name]) => name as string);
  // Only a missing table means "nothing applied"; any other error (a database that cannot be reached) is
  // thrown, so it is never mistaken for an empty database.
  let applied: string[] = [];
  if (await hasMigrationTable(db)) {
    const rows = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db.kysely);
    applied = rows.rows.map((r) => r.name);
  }
  return {
    applied,
    pending: known.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !known.includes(name)),
    version: applied.filter((name) => known.includes(name)).length,
  };
}

async function hasMigrationTable(db: Db): Promise<boolean> {
  const found =
    db.engine === 'postgres'
      ? await sql<{ found: string | null }>`SELECT to_regclass('kysely_migration')::text AS found`.execute(db.kysely)
      : await sql<{
          found: string | null;
        }>`SELECT name AS found FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'`.execute(
          db.kysely,
        );
  return Boolean(found.rows[0]?.found);
}

/**
 * Brings the schema up to this code's version. Refuses a database that has
 * run migrations this code does not know: running old code on a newer schema
 * can corrupt data, and the rollback story is a restore, not a downgrade.
 */
export async function migrateToLatest(db: Db): Promise<SchemaState> {
  return migrateTo(db, CODE_SCHEMA_VERSION);
}

/**
 * Runs the migrations up to schema `version` (an older schema is how tests
 * stand in for a database an older Holdfast left behind). Two processes
 * migrating one database take turns: PostgreSQL through Kysely's advisory
 * lock, SQLite through a write transaction taken before the check, so the
 * second one finds the work done instead of creating the same tables again.
 */
export async function migrateTo(db: Db, version: number): Promise<SchemaState> {
  const before = await readSchemaState(db);
  refuseNewerSchema(before);
  if (before.version >= version) return before;
  if (db.engine === 'sqlite') return withSqliteWriteLock(db, () => runMigrations(db, version));
  return runMigrations(db, version);
}

async function runMigrations(db: Db, version: number): Promise<SchemaState> {
  const locked = await readSchemaState(db);
  refuseNewerSchema(locked);
  if (locked.version >= version) return locked;
  const target = migrationList[version - 1]?.[0];
  if (!target) throw new AppError('internal', `No schema version ${version}`);
  const migrator = new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations(db) } });
  const { error, results } = await migrator.migrateTo(target);
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new AppError('internal', `Migration ${failed} failed: ${String(error)}`);
  }
  return readSchemaState(db);
}

function refuseNewerSchema(state: SchemaState): void {
  if (state.unknown.length === 0) return;
  throw new AppError(
    'unavailable',
    `The database schema is newer than this Holdfast (it has run ${state.unknown.join(', ')}); run a newer Holdfast.`,
    { unknown: state.unknown },
  );
}

/** How long a migration waits for another process's migration of the same SQLite file. */
const SQLITE_MIGRATION_WAIT_MS = 10 * 60_000;

/**
 * BEGIN IMMEDIATE takes SQLite's write lock up front; the migrations then run
 * in that one transaction (SQLite DDL is transactional), so a failed one
 * leaves the schema as it was. A busy database is retried: the other
 * process may be migrating a large database.
 */
async function withSqliteWriteLock<T>(db: Db, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SQLITE_MIGRATION_WAIT_MS;
  for (;;) {
    try {
      await sql`BEGIN IMMEDIATE`.execute(db.kysely);
      break;
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') || Date.now() > deadline) throw error;
    }
  }
  try {
    const result = await work();
    await sql`COMMIT`.execute(db.kysely);
    return result;
  } catch (error) {
    await sql`ROLLBACK`.execute(db.kysely).catch(() => {});
    throw error;
  }
}
