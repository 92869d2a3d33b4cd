import { randomUUID } from 'node:crypto';
import { AppError, type LoginResponse, usernameSchema } from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import type { Caller, Context } from '../context.js';
import {
  anyLegacyAppPasswords,
  findLiveAppPassword,
  insertAppPassword,
  isAppPasswordUnchanged,
  listLegacyAppPasswords,
} from '../store/app-passwords.js';
import { findDeviceByTokenHash, insertDevice, revokeSessions, touchDevice } from '../store/devices.js';
import { readGeneration } from '../store/meta.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transactions.js';
import { findUserById, findUserByName, insertUser, type UserRow, updateUser } from '../store/users.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import { throttledSignIn } from './sign-in-throttle.js';
import { appPasswordId, hashToken, newAppPassword, newDeviceToken } from './tokens.js';

export const MIN_PASSWORD_LENGTH = 8;

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError('invalid_request', `Passwords need at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
}

export async function createUser(
  ctx: Pick<Context, 'db' | 'now'>,
  username: string,
  password: string,
  options: { admin?: boolean } = {},
): Promise<UserRow> {
  const name = usernameSchema.safeParse(username);
  if (!name.success) throw new AppError('invalid_request', `Invalid username: ${name.error.issues[0]?.message}`);
  checkPassword(password);
  return insertUser(ctx.db.kysely, name.data, await hashPassword(password), ctx.now(), options.admin === true);
}

export async function requireUser(ctx: Pick<Context, 'db'>, username: string): Promise<UserRow> {
  const user = await findUserByName(ctx.db.kysely, username);
  if (!user) throw new AppError('not_found', `No user ${username}.`);
  return user;
}

export async function setPassword(ctx: Pick<Context, 'db' | 'now'>, username: string, password: string) {
  checkPassword(password);
  const user = await requireUser(ctx, username);
  await updateUser(ctx.db.kysely, user.id, { password_hash: await hashPassword(password) }, ctx.now());
}

/**
 * A person changing their own password: the current one must be right, checked
 * under the failed-login throttle (so a borrowed session cannot guess it faster
 * than a login could), and every other browser session ends. Device tokens and
 * app passwords stay, as with `holdfast user passwd`. Returns how many
 * sessions were ended.
 */
export async function changeOwnPassword(
  ctx: Context,
  caller: Caller,
  input: { currentPassword: string; newPassword: string; clientAddress: string },
): Promise<number> {
  checkPassword(input.newPassword);
  try {
    await throttledSignIn(ctx, 'login', caller.username, input.clientAddress, async () => {
      const user = await findUserById(ctx.db.kysely, caller.userId);
      return user && (await verifyPassword(user.password_hash, input.currentPassword)) ? user : null;
    });
  } catch (error) {
    // Not `unauthorized`: the caller is signed in, only the password they typed is wrong.
    if (error instanceof AppError && error.code === 'unauthorized')
      throw new AppError('forbidden', 'The current password is not right.');
    throw error;
  }
  const hash = await hashPassword(input.newPassword);
  const now = ctx.now();
  return inTransaction(ctx.db, async (trx) => {
    await updateUser(trx, caller.userId, { password_hash: hash }, now);
    return revokeSessions(trx, caller.userId, now, caller.deviceId);
  });
}

/**
 * Disabling blocks logins, ends every browser session for good, refuses the
 * user's device tokens and app passwords while it lasts, and keeps all data.
 * Enabling lets the device tokens and app passwords work again (phones and
 * DAV clients hold the other copy of the data and need no new login), but not
 * the sessions: a browser signs in again. Shared by the command line and the
 * operators' API.
 */
export async function writeUserDisabled(on: Transaction<Database>, userId: string, disabled: boolean, now: number) {
  await updateUser(on, userId, { disabled: disabled ? 1 : 0 }, now);
  // In the same transaction: no moment where the account is disabled yet a session would survive it.
  if (disabled) await revokeSessions(on, userId, now);
}

export async function setUserDisabled(ctx: Pick<Context, 'db' | 'now'>, username: string, disabled: boolean) {
  const user = await requireUser(ctx, username);
  await inTransaction(ctx.db, (trx) => writeUserDisabled(trx, user.id, disabled, ctx.now()));
}

/** Makes a user an operator (`/v1/admin/*`) or an ordinary user again. */
export async function setUserAdmin(ctx: Pick<Context, 'db' | 'now'>, username: string, admin: boolean) {
  const user = await requireUser(ctx, username);
  await updateUser(ctx.db.kysely, user.id, { admin: admin ? 1 : 0 }, ctx.now());
}

/**
 * Password login for a device, under the failed-login throttle (see
 * sign-in-throttle.ts). Unknown users cost the same argon2 work as known ones.
 */
export async function login(
  ctx: Context,
  input: { username: string; password: string; deviceName: string; clientAddress: string },
): Promise<LoginResponse> {
  const user = await throttledSignIn(ctx, 'login', input.username, input.clientAddress, async () => {
    const found = await findUserByName(ctx.db.kysely, input.username);
    const ok = await verifyPassword(found?.password_hash ?? (await dummyPasswordHash()), input.password);
    return found && ok && found.disabled === 0 ? found : null;
  });
  const now = ctx.now();
  const token = newDeviceToken();
  const deviceId = randomUUID();
  await insertDevice(ctx.db.kysely, {
    id: deviceId,
    user_id: user.id,
    name: input.deviceName,
    token_hash: hashToken(token),
    created_at: now,
    last_seen_at: now,
    revoked_at: null,
  });
  ctx.log.info({ userId: user.id, deviceId }, 'device logged in');
  return { token, userId: user.id, deviceId, generation: await readGeneration(ctx.db.kysely) };
}

const touchInterval = 60_000;

/** Resolves a bearer token to its caller, or throws `unauthorized`. */
export async function authenticate(ctx: Context, token: string): Promise<Caller> {
  const device = await findDeviceByTokenHash(ctx.db.kysely, hashToken(token));
  if (!device || device.user_disabled === 1) throw new AppError('unauthorized', 'The token is invalid or revoked.');
  const now = ctx.now();
  if (!device.last_seen_at || now - device.last_seen_at > touchInterval)
    await touchDevice(ctx.db.kysely, device.id, now);
  return { userId: device.user_id, username: device.username, deviceId: device.id };
}

/** Creates an app password (for DAV clients); the plain text is shown once and stored only hashed. */
export async function createAppPassword(
  ctx: Pick<Context, 'db' | 'now'>,
  username: string,
  label: string,
): Promise<{ id: string; password: string }> {
  const user = await requireUser(ctx, username);
  const { id, password } = newAppPassword();
  await insertAppPassword(ctx.db.kysely, {
    id,
    user_id: user.id,
    label,
    password_hash: await hashPassword(password),
    created_at: ctx.now(),
    last_used_at: null,
    revoked_at: null,
  });
  return { id, password };
}

/** App passwords made before they carried their id: the newest few per user are still tried. */
const LEGACY_CHECKS = 5;

/**
 * An app password that passed its check, with the stored hashes it was
 * checked under: a remembered verification holds only while both are unchanged.
 */
export interface VerifiedAppPassword {
  userId: string;
  appPasswordId: string;
  appPasswordHash: string;
  userPasswordHash: string;
}

/**
 * Checks an app password for a user; never accepts the account password. The
 * work is the same whoever asks: an app password names its own row, so one
 * argon2 verification decides, against a dummy hash when the user, the row
 * or the account is missing or disabled. Passwords without an id (older
 * releases) cost a fixed LEGACY_CHECKS verifications while any such password
 * is live on the server, and one otherwise.
 */
export async function verifyAppPassword(
  ctx: Pick<Context, 'db'>,
  username: string,
  password: string,
): Promise<VerifiedAppPassword | null> {
  const user = await findUserByName(ctx.db.kysely, username);
  const live = user !== undefined && user.disabled === 0;
  const id = appPasswordId(password);
  if (id !== null) {
    const row = live ? await findLiveAppPassword(ctx.db.kysely, user.id, id) : undefined;
    const ok = await verifyPassword(row?.password_hash ?? (await dummyPasswordHash()), password);
    return ok && row && user ? verified(user, row) : null;
  }
  const checks = (await anyLegacyAppPasswords(ctx.db.kysely)) ? LEGACY_CHECKS : 1;
  const candidates = live ? await listLegacyAppPasswords(ctx.db.kysely, user.id, LEGACY_CHECKS) : [];
  let match: (typeof candidates)[number] | null = null;
  for (let i = 0; i < checks; i++) {
    const candidate = candidates[i];
    const ok = await verifyPassword(candidate?.password_hash ?? (await dummyPasswordHash()), password);
    if (ok && candidate && match === null) match = candidate;
  }
  return match !== null && user ? verified(user, match) : null;
}

function verified(user: UserRow, row: { id: string; password_hash: string }): VerifiedAppPassword {
  return {
    userId: user.id,
    appPasswordId: row.id,
    appPasswordHash: row.password_hash,
    userPasswordHash: user.password_hash,
  };
}

/**
 * Whether an earlier verification of an app password still stands, without
 * argon2: the username still names that user, the user is enabled, the app
 * password is unrevoked, and neither its hash nor the account password's has
 * changed since. One indexed read, so every server on a shared database sees
 * a revocation, a disabled account or a password change on the next request.
 */
export function stillVerified(ctx: Pick<Context, 'db'>, username: string, earlier: VerifiedAppPassword) {
  return isAppPasswordUnchanged(ctx.db.kysely, { username, ...earlier });
}
