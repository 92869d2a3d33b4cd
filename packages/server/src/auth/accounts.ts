import { randomUUID } from 'node:crypto';
import { AppError, type LoginResponse, usernameSchema } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { insertAppPassword, listAppPasswords } from '../store/app-passwords.js';
import { findDeviceByTokenHash, insertDevice, touchDevice } from '../store/devices.js';
import { readGeneration } from '../store/meta.js';
import { findUserByName, insertUser, type UserRow, updateUser } from '../store/users.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import { hashToken, newAppPassword, newDeviceToken } from './tokens.js';

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
): Promise<UserRow> {
  const name = usernameSchema.safeParse(username);
  if (!name.success) throw new AppError('invalid_request', `Invalid username: ${name.error.issues[0]?.message}`);
  checkPassword(password);
  return insertUser(ctx.db.kysely, name.data, await hashPassword(password), ctx.now());
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

/** Disabling blocks logins and every existing token and app password, and keeps all data. */
export async function setUserDisabled(ctx: Pick<Context, 'db' | 'now'>, username: string, disabled: boolean) {
  const user = await requireUser(ctx, username);
  await updateUser(ctx.db.kysely, user.id, { disabled: disabled ? 1 : 0 }, ctx.now());
}

/**
 * Password login for a device. Throttled per username and per client address
 * before the password is checked, so guessing costs time whatever the answer;
 * unknown users cost the same argon2 work as known ones.
 */
export async function login(
  ctx: Context,
  input: { username: string; password: string; deviceName: string; clientAddress: string },
): Promise<LoginResponse> {
  const now = ctx.now();
  const keys = [`u:${input.username}`, `a:${input.clientAddress}`];
  // One address may be a household or office behind NAT: it gets a larger allowance than one username.
  const wait = Math.max(
    ctx.loginLimiter.retryAfter(keys[0] as string, now),
    ctx.loginLimiter.retryAfter(keys[1] as string, now, 5),
  );
  if (wait > 0) throw new AppError('rate_limited', 'Too many failed logins; try again later.', { retryAfter: wait });
  const user = await findUserByName(ctx.db.kysely, input.username);
  const ok = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), input.password);
  if (!user || !ok || user.disabled === 1) {
    for (const key of keys) ctx.loginLimiter.recordFailure(key, now);
    throw new AppError('unauthorized', 'Wrong username or password, or the account is disabled.');
  }
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
  const password = newAppPassword();
  const id = randomUUID();
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

/** Checks an app password for a user; never accepts the account password. */
export async function verifyAppPassword(ctx: Pick<Context, 'db'>, username: string, password: string) {
  const user = await findUserByName(ctx.db.kysely, username);
  if (!user || user.disabled === 1) {
    await verifyPassword(await dummyPasswordHash(), password);
    return null;
  }
  for (const candidate of await listAppPasswords(ctx.db.kysely, user.id, true)) {
    if (await verifyPassword(candidate.password_hash, password))
      return { userId: user.id, appPasswordId: candidate.id };
  }
  return null;
}
