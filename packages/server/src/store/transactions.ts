import { sql, type Transaction } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export function inTransaction<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.kysely.transaction().execute(work);
}

// One fixed savepoint name: group commits never nest, and a constant statement stays in SQLite's statement cache.

/** Marks a point the transaction can roll back to without losing what came before. */
export async function beginSavepoint(trx: Transaction<Database>): Promise<void> {
  await sql`SAVEPOINT group_write`.execute(trx);
}

export async function releaseSavepoint(trx: Transaction<Database>): Promise<void> {
  await sql`RELEASE SAVEPOINT group_write`.execute(trx);
}

/** Undoes everything since `beginSavepoint` and ends the savepoint. */
export async function rollbackToSavepoint(trx: Transaction<Database>): Promise<void> {
  await sql`ROLLBACK TO SAVEPOINT group_write`.execute(trx);
  await sql`RELEASE SAVEPOINT group_write`.execute(trx);
}

/** PostgreSQL NOTIFY, delivered to listeners only if the transaction commits. */
export async function notifyOnCommit(trx: Transaction<Database>, channel: string, payload: string): Promise<void> {
  await sql`SELECT pg_notify(${channel}, ${payload})`.execute(trx);
}
