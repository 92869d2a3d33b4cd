import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Drops `items_collection (user_id, collection_id)`: `items_collection_head
 * (user_id, collection_id, head_seq)` (0003-dav) starts with the same two
 * columns, so every lookup by collection, and the foreign key's check when a
 * collection row changes, can use that one. The dropped index was one more
 * b-tree written on every item change: about one page in eighteen that a new
 * contact writes to SQLite's WAL. The foreign key itself stays.
 */
export async function up(db: Kysely<unknown>, _engine: Engine): Promise<void> {
  await db.schema.dropIndex('items_collection').ifExists().execute();
}
