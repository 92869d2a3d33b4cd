import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * `recovery_holds`: one row per account whose DAV clients are held off after
 * the server lost revisions (dav/recovery-hold.ts says why). `pending_devices`
 * is a JSON array of the account's devices that have not re-seeded yet; the
 * row goes when they all have, or when an operator accepts the loss.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('recovery_holds')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('generation', 'text', (c) => c.notNull())
    .addColumn('pending_devices', 'text', (c) => c.notNull())
    .addColumn('since', bigint, (c) => c.notNull())
    .execute();
}
