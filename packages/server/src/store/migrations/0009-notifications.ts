import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Telling people what happened to their data (notify/):
 * - `users.email`: where a person is told; null means they are not mailed.
 * - `notification_claims`: one row per (ledger entry, person) to be told. Its
 *   primary key is what makes two server processes on one database send one
 *   mail, not two: the first to insert or lease a row does the sending.
 * - `notice_dismissals`: entries a person has dismissed from the portal's
 *   banner, kept apart so the ledger itself stays append-only.
 * The notifier's position in the ledger is a `meta` row (`notify_cursor`).
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema.alterTable('users').addColumn('email', 'text').execute();
  await db.schema
    .createTable('notification_claims')
    .addColumn('ledger_seq', bigint, (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', bigint, (c) => c.notNull())
    .addColumn('lease_until', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_claims_pk', ['ledger_seq', 'user_id'])
    .execute();
  await db.schema
    .createIndex('notification_claims_due')
    .on('notification_claims')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createTable('notice_dismissals')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('ledger_seq', bigint, (c) => c.notNull())
    .addColumn('dismissed_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('notice_dismissals_pk', ['user_id', 'ledger_seq'])
    .execute();
}
