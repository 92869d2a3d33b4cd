import type { Kysely, Transaction } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/**
 * What a store function runs on: the database (`ctx.db`), or a transaction
 * the caller holds so several writes commit together.
 */
export type Queryable = Db | Kysely<Database> | Transaction<Database>;

export function executor(on: Queryable): Kysely<Database> {
  return 'engine' in on && 'kysely' in on ? on.kysely : on;
}
