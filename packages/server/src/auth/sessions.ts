import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { findAnyDeviceByTokenHash, insertDevice, revokeDevice, revokeSessions, touchDevice } from '../store/devices.js';
import { findUserByName } from '../store/users.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import { throttledSignIn } from './sign-in-throttle.js';
import { hashToken, newDeviceToken } from './tokens.js';

/** The cookie that carries a browser session's token. */
export const SESSION_COOKIE = 'holdfast_session';

/** What `POST /v1/session` and `GET /v1/session` answer. */
export interface SessionInfo {
  user: { id: string; username: string };
  csrfToken: string;
  expiresAt: string;
}

/**
 * The CSRF token is derived from the session token instead of coming from
 * @fastify/csrf-protection: that plugin keeps its secret in a second cookie
 * (or a server-side session store), and binding its tokens to our session
 * would need a server-wide HMAC key that survives restarts and is shared by
 * every server. An HMAC keyed by the session token itself is bound to exactly
 * one session, needs no storage, survives restarts, and cannot be computed by
 * a page that cannot read the HttpOnly cookie. It is checked in one hook.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('holdfast-csrf').digest('base64url');
}

/** Constant-time comparison of a presented CSRF token against the session's. */
export function csrfTokenMatches(sessionToken: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const touchInterval = 60_000;

/**
 * Password sign-in for the browser: a new device named `deviceName` whose
 * token goes into the session cookie. Shares the failed-login budget with
 * `/v1/auth/login`, so the portal is no way around the throttle.
 */
export async function startSession(
  ctx: Context,
  input: { username: string; password: string; clientAddress: string; deviceName: string },
): Promise<{ token: string; info: SessionInfo }> {
  let user: NonNullable<Awaited<ReturnType<typeof findUserByName>>>;
  try {
    user = await throttledSignIn(ctx, 'login', input.username, input.clientAddress, async () => {
      const found = await findUserByName(ctx.db.kysely, input.username);
      const ok = await verifyPassword(found?.password_hash ?? (await dummyPasswordHash()), input.password);
      return found && ok ? found : null;
    });
  } catch (error) {
    // Never which of the two was wrong.
    if (error instanceof AppError && error.code === 'unauthorized')
      throw new AppError('unauthorized', 'Wrong username or password.');
    throw error;
  }
  // Said only to someone who knew the password, so it tells a stranger nothing.
  if (user.disabled !== 0)
    throw new AppError('account_disabled', 'This account is disabled. Ask the operator of this server.');
  const now = ctx.now();
  const token = newDeviceToken();
  const deviceId = randomUUID();
  const expiresAt = now + ctx.config.sessionMaxDays * 86_400_000;
  await insertDevice(ctx.db.kysely, {
    id: deviceId,
    user_id: user.id,
    name: input.deviceName,
    token_hash: hashToken(token),
    created_at: now,
    last_seen_at: now,
    revoked_at: null,
    session_expires_at: expiresAt,
  });
  ctx.log.info({ userId: user.id, deviceId }, 'web session started');
  return { token, info: sessionInfo(ctx, token, user.id, user.username, now, expiresAt) };
}

function sessionInfo(
  ctx: Pick<Context, 'config'>,
  token: string,
  userId: string,
  username: string,
  lastSeen: number,
  absoluteEnd: number,
): SessionInfo {
  // The earlier of the two ends, as of now; each request pushes the idle end further.
  const idleEnd = lastSeen + ctx.config.sessionIdleMinutes * 60_000;
  return {
    user: { id: userId, username },
    csrfToken: csrfTokenFor(token),
    expiresAt: new Date(Math.min(idleEnd, absoluteEnd)).toISOString(),
  };
}

/**
 * Resolves a session cookie to its caller, or throws what happened to it:
 * `unauthorized` (unknown), `session_revoked`, `session_expired` or
 * `account_disabled`, so the portal can say so instead of looping.
 */
export async function authenticateSession(ctx: Context, token: string): Promise<Caller & { info: SessionInfo }> {
  const device = await findAnyDeviceByTokenHash(ctx.db.kysely, hashToken(token));
  if (!device) throw new AppError('unauthorized', 'You are not signed in.');
  if (device.user_disabled !== 0)
    throw new AppError('account_disabled', 'This account is disabled. Ask the operator of this server.');
  if (device.revoked_at !== null) throw new AppError('session_revoked', 'This session was signed out. Sign in again.');
  const now = ctx.now();
  const lastSeen = device.last_seen_at ?? device.created_at;
  // A device without a session end is not a browser session (or came back from a backup without one): refused.
  const expired =
    device.session_expires_at === null ||
    now >= device.session_expires_at ||
    now - lastSeen >= ctx.config.sessionIdleMinutes * 60_000;
  if (expired) throw new AppError('session_expired', 'Your session has expired. Sign in again.');
  let seen = lastSeen;
  if (now - lastSeen > touchInterval) {
    await touchDevice(ctx.db.kysely, device.id, now);
    seen = now;
  }
  return {
    userId: device.user_id,
    username: device.username,
    deviceId: device.id,
    info: sessionInfo(ctx, token, device.user_id, device.username, seen, device.session_expires_at as number),
  };
}

/** Signs a session out: its device is revoked. Unknown or already ended sessions are left as they are. */
export async function endSession(ctx: Context, token: string): Promise<void> {
  const device = await findAnyDeviceByTokenHash(ctx.db.kysely, hashToken(token));
  if (device && device.revoked_at === null) await revokeDevice(ctx.db, device.id, ctx.now(), device.user_id);
}

/**
 * "Sign out everywhere": revokes every browser session of the user, the
 * caller's own too. Devices that sync keep their tokens; they are signed out
 * one by one. Returns how many sessions ended.
 */
export async function endAllSessions(ctx: Pick<Context, 'db' | 'now' | 'log'>, userId: string): Promise<number> {
  const ended = await revokeSessions(ctx.db, userId, ctx.now());
  ctx.log.info({ userId, ended }, 'every web session signed out');
  return ended;
}
