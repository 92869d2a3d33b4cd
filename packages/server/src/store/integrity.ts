import { sql } from 'kysely';
import type { Db } from './database.js';

/** What SQLite's own checks say about a database file. */
export interface SqliteIntegrity {
  /** `integrity_check`'s lines; exactly `['ok']` for a sound file. */
  integrity: string[];
  foreignKeyViolations: number;
}

/** Runs SQLite's integrity and foreign-key checks (SQLite only). */
export async function checkSqliteIntegrity(db: Db): Promise<SqliteIntegrity> {
  const integrity = await sql<{ integrity_check: string }>`PRAGMA integrity_check`.execute(db.kysely);
  const foreign = await sql<Record<string, unknown>>`PRAGMA foreign_key_check`.execute(db.kysely);
  return { integrity: integrity.rows.map((row) => row.integrity_check), foreignKeyViolations: foreign.rows.length };
}
