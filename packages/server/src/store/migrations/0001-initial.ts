import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Engine } from '../database.js';

/** The first schema: accounts, devices, collections, items and the revision log. */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('log_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('last_seq', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_seen_at', bigint)
    .addColumn('revoked_at', bigint)
    .execute();
  await db.schema.createIndex('devices_user').on('devices').column('user_id').execute();

  await db.schema
    .createTable('app_passwords')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_used_at', bigint)
    .addColumn('revoked_at', bigint)
    .execute();
  await db.schema.createIndex('app_passwords_user').on('app_passwords').column('user_id').execute();

  await db.schema
    .createTable('collections')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('color', 'text')
    .addColumn('deleted', 'integer', (c) => c.notNull())
    .addColumn('head_seq', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('collections_pk', ['user_id', 'id'])
    .execute();

  await db.schema
    .createTable('items')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('collection_id', 'text', (c) => c.notNull())
    .addColumn('head_seq', bigint, (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull())
    .addColumn('content_hash', 'text')
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('items_pk', ['user_id', 'id'])
    .addForeignKeyConstraint('items_collection', ['user_id', 'collection_id'], 'collections', ['user_id', 'id'])
    .execute();
  await db.schema.createIndex('items_collection').on('items').columns(['user_id', 'collection_id']).execute();

  await db.schema
    .createTable('revisions')
    .addColumn('seq', bigint, (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('collection_id', 'text', (c) => c.notNull())
    .addColumn('item_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('content', 'text')
    .addColumn('blob_sha256', 'text')
    .addColumn('blob_content_type', 'text')
    .addColumn('meta', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('base_seq', bigint)
    .addColumn('client_change_id', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revisions_user_seq').on('revisions').columns(['user_id', 'seq']).execute();
  await db.schema.createIndex('revisions_user_item').on('revisions').columns(['user_id', 'item_id', 'seq']).execute();

  await db.schema
    .createTable('push_receipts')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('client_change_id', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('push_receipts_pk', ['user_id', 'client_change_id'])
    .execute();

  await db.schema
    .createTable('blobs')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('user_blobs')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('sha256', 'text', (c) => c.notNull().references('blobs.sha256'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('user_blobs_pk', ['user_id', 'sha256'])
    .execute();

  // Revisions are immutable at the database level, not only by convention.
  if (engine === 'postgres') {
    await sql`CREATE FUNCTION holdfast_revisions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'revisions are immutable'; END; $$`.execute(db);
    await sql`CREATE TRIGGER revisions_immutable BEFORE UPDATE OR DELETE ON revisions
      FOR EACH ROW EXECUTE FUNCTION holdfast_revisions_immutable()`.execute(db);
    await sql`CREATE TRIGGER revisions_no_truncate BEFORE TRUNCATE ON revisions
      FOR EACH STATEMENT EXECUTE FUNCTION holdfast_revisions_immutable()`.execute(db);
  } else {
    await sql`CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
      BEGIN SELECT RAISE(ABORT, 'revisions are immutable'); END`.execute(db);
    await sql`CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
      BEGIN SELECT RAISE(ABORT, 'revisions are immutable'); END`.execute(db);
  }

  await sql`INSERT INTO log_head (id, last_seq) VALUES (1, 0)`.execute(db);
  const generation = randomBytes(16).toString('base64url');
  await sql`INSERT INTO meta (key, value) VALUES ('generation', ${generation})`.execute(db);
  await sql`INSERT INTO meta (key, value) VALUES ('created_at', ${String(Date.now())})`.execute(db);
}
