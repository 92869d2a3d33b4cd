import type { Selectable } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import type { RecoveryHoldsTable } from './schema.js';

export type RecoveryHoldRow = Selectable<RecoveryHoldsTable>;

/**
 * Holds every account in the database, each waiting on its live devices to
 * re-seed. Every account: the lost revisions are gone, so nothing here says
 * whose they were (an account may have lost all it had). A hold already in
 * place is renewed with the newer loss.
 */
export async function holdAllAccounts(
  on: Queryable,
  hold: { reason: string; generation: string; since: number },
): Promise<string[]> {
  const db = executor(on);
  const users = await db.selectFrom('users').select('id').execute();
  const devices = await db
    .selectFrom('devices')
    .select(['id', 'user_id'])
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .execute();
  for (const user of users) {
    const pending = JSON.stringify(devices.filter((d) => d.user_id === user.id).map((d) => d.id));
    await db
      .insertInto('recovery_holds')
      .values({ user_id: user.id, ...hold, pending_devices: pending })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...hold, pending_devices: pending }))
      .execute();
  }
  return users.map((u) => u.id);
}

// Read by every DAV read: compiled once (compiled-once.ts).
const recoveryHoldOne = compiledOnce<RecoveryHoldRow, [string]>((db, [userId]) =>
  db.selectFrom('recovery_holds').selectAll().where('user_id', '=', userId),
);

export async function readRecoveryHold(on: Queryable, userId: string): Promise<RecoveryHoldRow | undefined> {
  return (await recoveryHoldOne(on, userId))[0];
}

export async function listRecoveryHolds(on: Queryable): Promise<RecoveryHoldRow[]> {
  return executor(on).selectFrom('recovery_holds').selectAll().orderBy('since').orderBy('user_id').execute();
}

/** Ends the hold of one account, or of every account; returns the accounts whose hold ended. */
export async function endRecoveryHolds(on: Queryable, userId?: string): Promise<string[]> {
  let query = executor(on).deleteFrom('recovery_holds').returning('user_id');
  if (userId !== undefined) query = query.where('user_id', '=', userId);
  return (await query.execute()).map((r) => r.user_id);
}

/** Devices the hold still waits on, after one re-seeded. */
export async function setPendingDevices(on: Queryable, userId: string, pending: string[]): Promise<void> {
  await executor(on)
    .updateTable('recovery_holds')
    .set({ pending_devices: JSON.stringify(pending) })
    .where('user_id', '=', userId)
    .execute();
}
