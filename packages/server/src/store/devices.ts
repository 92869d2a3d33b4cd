import type { Insertable, Kysely, Selectable } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import type { Database, DevicesTable } from './schema.js';

export type DeviceRow = Selectable<DevicesTable>;

export async function insertDevice(db: Kysely<Database>, row: Insertable<DevicesTable>): Promise<void> {
  await db.insertInto('devices').values(row).execute();
}

// Every API request resolves its token, and every event a stream delivers checks its device: compiled once.
const liveDeviceByTokenHash = compiledOnce<DeviceRow & { username: string; user_disabled: number }, [string]>(
  (db, [tokenHash]) =>
    db
      .selectFrom('devices')
      .innerJoin('users', 'users.id', 'devices.user_id')
      .selectAll('devices')
      .select(['users.username as username', 'users.disabled as user_disabled'])
      .where('devices.token_hash', '=', tokenHash)
      .where('devices.revoked_at', 'is', null),
);
const liveDeviceId = compiledOnce<{ id: string }, [string]>((db, [deviceId]) =>
  db
    .selectFrom('devices')
    .innerJoin('users', 'users.id', 'devices.user_id')
    .select('devices.id')
    .where('devices.id', '=', deviceId)
    .where('devices.revoked_at', 'is', null)
    .where('users.disabled', '=', 0),
);

/** The live (not revoked) device whose token hashes to `tokenHash`, with its user. */
export async function findDeviceByTokenHash(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<(DeviceRow & { username: string; user_disabled: number }) | undefined> {
  const [row] = await liveDeviceByTokenHash(db, tokenHash);
  return row;
}

/**
 * The device whose token hashes to `tokenHash`, revoked or not, with its user:
 * a browser session needs to tell "revoked" from "unknown" to say what happened.
 */
export async function findAnyDeviceByTokenHash(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<(DeviceRow & { username: string; user_disabled: number }) | undefined> {
  return db
    .selectFrom('devices')
    .innerJoin('users', 'users.id', 'devices.user_id')
    .selectAll('devices')
    .select(['users.username as username', 'users.disabled as user_disabled'])
    .where('devices.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export async function listDevices(on: Queryable, userId?: string): Promise<DeviceRow[]> {
  let query = executor(on).selectFrom('devices').selectAll().orderBy('created_at');
  if (userId) query = query.where('user_id', '=', userId);
  return query.execute();
}

/** Revokes a device; scoped to a user when `userId` is given. Returns whether a live device was revoked. */
export async function revokeDevice(on: Queryable, deviceId: string, now: number, userId?: string): Promise<boolean> {
  let query = executor(on)
    .updateTable('devices')
    .set({ revoked_at: now })
    .where('id', '=', deviceId)
    .where('revoked_at', 'is', null);
  if (userId) query = query.where('user_id', '=', userId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Revokes every live browser session of a user (devices with a session end; sync devices have none), or every
 * one but `exceptDeviceId`. Returns how many were revoked.
 */
export async function revokeSessions(
  on: Queryable,
  userId: string,
  now: number,
  exceptDeviceId?: string,
): Promise<number> {
  let query = executor(on)
    .updateTable('devices')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('session_expires_at', 'is not', null);
  if (exceptDeviceId) query = query.where('id', '!=', exceptDeviceId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Renames one of a user's live devices. Returns whether one was renamed. */
export async function renameDevice(on: Queryable, deviceId: string, name: string, userId: string): Promise<boolean> {
  const result = await executor(on)
    .updateTable('devices')
    .set({ name })
    .where('id', '=', deviceId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function touchDevice(db: Kysely<Database>, deviceId: string, now: number): Promise<void> {
  await db.updateTable('devices').set({ last_seen_at: now }).where('id', '=', deviceId).execute();
}

/** True while the device is not revoked and its user is not disabled. */
export async function isDeviceLive(on: Queryable, deviceId: string): Promise<boolean> {
  return (await liveDeviceId(on, deviceId)).length > 0;
}
