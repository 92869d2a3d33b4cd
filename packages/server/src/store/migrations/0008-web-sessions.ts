import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Browser sessions are devices (so they are listed and revoked like any
 * other) with a hard end: `session_expires_at` is the absolute expiry of a
 * portal session, null for device tokens, which never expire on their own.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema.alterTable('devices').addColumn('session_expires_at', bigint).execute();
}
