import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * CardDAV/CalDAV support.
 *
 * `dav_names`: DAV clients choose a resource's name when they create it
 * (`PUT /…/<name>.ics`). A name of the form `<item id>.vcf|.ics` maps to that
 * item with no row here; any other name (not a valid id, another extension,
 * or an id already used in another collection) gets a generated item id and
 * a row, so GET, listings and sync reports show the client its own name.
 *
 * `revisions_user_collection_seq`: a collection's latest revision (its CTag
 * and sync token) and its changes since a sync token, in O(changes).
 *
 * `items_collection_head`: listing a collection a page at a time in head
 * order (PROPFIND, REPORT, initial sync) without sorting it for every page.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('dav_names')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('collection_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('dav_names_pk', ['user_id', 'collection_id', 'name'])
    .execute();
  await db.schema.createIndex('dav_names_item').on('dav_names').columns(['user_id', 'item_id']).unique().execute();
  await db.schema
    .createIndex('items_collection_head')
    .on('items')
    .columns(['user_id', 'collection_id', 'head_seq'])
    .execute();
  await db.schema
    .createIndex('revisions_user_collection_seq')
    .on('revisions')
    .columns(['user_id', 'collection_id', 'seq'])
    .execute();
}
