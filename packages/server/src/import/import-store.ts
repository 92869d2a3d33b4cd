import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/** The `imports` table (migration 0004-imports). */
export interface ImportsTable {
  user_id: string;
  id: string;
  source: string;
  format: string;
  device_id: string | null;
  first_seq: number | null;
  last_seq: number | null;
  created: number;
  updated: number;
  skipped: number;
  rejected: number;
  report: string;
  undone_by: string | null;
  created_at: number;
}

export type ImportsDatabase = Database & { imports: ImportsTable };

/** The same connection or transaction, typed to see the imports table too. */
export function withImports(db: Kysely<Database>): Kysely<ImportsDatabase>;
export function withImports(db: Transaction<Database>): Transaction<ImportsDatabase>;
export function withImports(db: Kysely<Database> | Transaction<Database>) {
  return db as unknown as Kysely<ImportsDatabase>;
}

/** A user's imports, newest first. */
export async function listImports(db: Kysely<Database>, userId: string, limit = 100) {
  return withImports(db)
    .selectFrom('imports')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

export async function findImport(db: Kysely<Database> | Transaction<Database>, userId: string, id: string) {
  return (withImports(db as Kysely<Database>) as Kysely<ImportsDatabase>)
    .selectFrom('imports')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
}
