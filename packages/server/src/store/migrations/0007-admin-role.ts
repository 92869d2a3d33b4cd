import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * `users.admin`: 1 for operators, who may use `/v1/admin/*` (the operators'
 * dashboard, disabling users, starting a backup or a drill). Nobody is one
 * until `holdfast user admin NAME on` (or `user add --admin`) says so.
 */
export async function up(db: Kysely<unknown>, _engine: Engine): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
