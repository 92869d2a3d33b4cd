import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import { verifyAppPassword } from '../auth/accounts.js';
import { throttledSignIn } from '../auth/sign-in-throttle.js';
import type { Caller, Context } from '../context.js';
import { isAppPasswordLive, touchAppPassword } from '../store/app-passwords.js';

const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 1000;
const TOUCH_INTERVAL_MS = 60_000;

interface Cached {
  caller: Caller;
  expires: number;
  touched: number;
}

export type DavAuthenticator = (authorization: string | undefined, clientAddress: string) => Promise<Caller>;

/**
 * HTTP Basic with app passwords only: the account password never opens DAV.
 * The caller's device id is the app password's id, so every DAV revision
 * names the app password that wrote it.
 *
 * DAV clients send credentials on every request and argon2 is slow by
 * design, so a verified credential is remembered for a few minutes under a
 * salted hash (never in plain text). Each hit still checks that the app
 * password is unrevoked and the user enabled, so revocation is immediate.
 * Failures are throttled per username and client address with a budget of
 * their own (see sign-in-throttle.ts), so DAV is no side door for guessing
 * and a stale password on a phone does not block device logins.
 */
export function createDavAuthenticator(ctx: Context): DavAuthenticator {
  const cache = new Map<string, Cached>();
  const salt = randomBytes(16);

  return async (authorization, clientAddress) => {
    const credentials = parseBasic(authorization);
    const key = createHash('sha256')
      .update(salt)
      .update(credentials.username)
      .update('\0')
      .update(credentials.password)
      .digest('hex');
    const now = ctx.now();
    const hit = cache.get(key);
    if (hit && hit.expires > now) {
      if (await stillLive(ctx, hit.caller)) {
        if (now - hit.touched > TOUCH_INTERVAL_MS) {
          hit.touched = now;
          await touch(ctx, hit.caller.deviceId, now);
        }
        return hit.caller;
      }
      cache.delete(key);
    } else if (hit) {
      cache.delete(key);
    }

    const verified = await throttledSignIn(ctx, 'dav', credentials.username, clientAddress, () =>
      verifyAppPassword(ctx, credentials.username, credentials.password),
    );
    const caller: Caller = {
      userId: verified.userId,
      username: credentials.username,
      deviceId: verified.appPasswordId,
    };
    if (cache.size >= CACHE_MAX) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(key, { caller, expires: now + CACHE_TTL_MS, touched: now });
    await touch(ctx, caller.deviceId, now);
    return caller;
  };
}

function parseBasic(header: string | undefined): { username: string; password: string } {
  const match = /^Basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i.exec(header ?? '');
  if (!match?.[1]) throw new AppError('unauthorized', 'Send a username and app password with HTTP Basic.');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new AppError('unauthorized', 'Send a username and app password with HTTP Basic.');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function stillLive(ctx: Context, caller: Caller): Promise<boolean> {
  return isAppPasswordLive(ctx.db, caller.userId, caller.deviceId);
}

function touch(ctx: Context, appPasswordId: string, now: number): Promise<void> {
  return touchAppPassword(ctx.db, appPasswordId, now);
}
