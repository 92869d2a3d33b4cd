import { type Kysely, sql } from 'kysely';
import type { Engine } from '../database.js';

/**
 * `contact_search`: the contact list and search index, one row per live
 * contact, written in the same transaction as the revision that changes it
 * (sync/contact-index.ts). It is derived data, never a source of truth:
 * every row can be made again from the item heads in `revisions`, which is
 * how an existing database fills it (the rebuild runs when the `meta` key
 * `contact_search` is missing or older than the code's index version).
 *
 * `sort_key` compares byte by byte on both engines (PostgreSQL's collation
 * would order and compare it differently from SQLite), so a page cursor
 * means the same thing everywhere.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('contact_search')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('collection_id', 'text', (c) => c.notNull())
    .addColumn('seq', bigint, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sort_key', 'text', (c) =>
      engine === 'postgres' ? c.notNull().modifyEnd(sql`collate "C"`) : c.notNull(),
    )
    .addColumn('nicknames', 'text', (c) => c.notNull())
    .addColumn('phones', 'text', (c) => c.notNull())
    .addColumn('emails', 'text', (c) => c.notNull())
    .addColumn('organization', 'text')
    .addColumn('search_text', 'text', (c) => c.notNull())
    .addColumn('phone_digits', 'text', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('contact_search_pk', ['user_id', 'item_id'])
    .execute();
  await db.schema
    .createIndex('contact_search_order')
    .on('contact_search')
    .columns(['user_id', 'sort_key', 'item_id'])
    .execute();
}
