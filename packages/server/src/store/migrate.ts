import { AppError } from '@holdfast/protocol';
import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import type { Db } from './database.js';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-summaries-ledger.js';
import * as m0003 from './migrations/0003-dav.js';
import * as m0004 from './migrations/0004-imports.js';

/** Forward-only migrations, in order. The last one's index is the schema version. */
const migrationList = [
  ['0001-initial', m0001],
  ['0002-summaries-ledger', m0002],
  ['0003-dav', m0003],
  ['0004-imports', m0004],
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
  let applied: string[] = [];
  try {
    const rows = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db.kysely);
    applied = rows.rows.map((r) => r.name);
  } catch {
    applied = [];
  }
  return {
    applied,
    pending: known.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !known.includes(name)),
    version: applied.filter((name) => known.includes(name)).length,
  };
}

/**
 * Brings the schema up to this code's version. Refuses a database that has
 * run migrations this code does not know: running old code on a newer schema
 * can corrupt data, and the rollback story is a restore, not a downgrade.
 */
export async function migrateToLatest(db: Db): Promise<SchemaState> {
  const before = await readSchemaState(db);
  if (before.unknown.length > 0) {
    throw new AppError(
      'unavailable',
      `The database schema is newer than this Holdfast (it has run ${before.unknown.join(', ')}); run a newer Holdfast.`,
      { unknown: before.unknown },
    );
  }
  if (before.pending.length === 0) return before;
  const migrator = new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations(db) } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new AppError('internal', `Migration ${failed} failed: ${String(error)}`);
  }
  return readSchemaState(db);
}
