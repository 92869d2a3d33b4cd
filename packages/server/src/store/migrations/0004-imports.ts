import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * `imports`: one row per file import. An import writes all its revisions in
 * one transaction holding the log lock, so they are the contiguous range
 * `first_seq..last_seq` (each also carries `origin = 'import'` and
 * `client_change_id = 'import:<id>'`); undoing an import walks that range.
 * `report` is the JSON summary shown to the user (counts, collections
 * created, rejected items with reasons).
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('imports')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text')
    .addColumn('first_seq', bigint)
    .addColumn('last_seq', bigint)
    .addColumn('created', bigint, (c) => c.notNull())
    .addColumn('updated', bigint, (c) => c.notNull())
    .addColumn('skipped', bigint, (c) => c.notNull())
    .addColumn('rejected', bigint, (c) => c.notNull())
    .addColumn('report', 'text', (c) => c.notNull())
    .addColumn('undone_by', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('imports_pk', ['user_id', 'id'])
    .execute();
  await db.schema.createIndex('imports_user_created').on('imports').columns(['user_id', 'created_at']).execute();
}
