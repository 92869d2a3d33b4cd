import { AppError } from '@holdfast/protocol';
import { stillVerified, type VerifiedAppPassword, verifyAppPassword } from '../auth/accounts.js';
import { createCredentialCache } from '../auth/credential-cache.js';
import { throttledSignIn } from '../auth/sign-in-throttle.js';
import type { Caller, Context } from '../context.js';
import { touchAppPassword } from '../store/app-passwords.js';

const TOUCH_INTERVAL_MS = 60_000;

interface Remembered {
  verified: VerifiedAppPassword;
  touched: number;
}

export type DavAuthenticator = (authorization: string | undefined, clientAddress: string) => Promise<Caller>;

/**
 * HTTP Basic with app passwords only: the account password never opens DAV.
 * The caller's device id is the app password's id, so every DAV revision
 * names the app password that wrote it.
 *
 * DAV clients send credentials on every request and argon2 is slow by
 * design, so a verified credential is remembered (auth/credential-cache.ts,
 * `davCredentialCacheSeconds` and `davCredentialCacheEntries`). Each hit
 * still reads the app password and its user (stillVerified), so a
 * revocation, a disabled account or a changed password applies to the next
 * request on every server. Failures are never remembered: they go through the
 * full check and are throttled per username and client address with a
 * budget of their own (see sign-in-throttle.ts), so DAV is no side door for
 * guessing and a stale password on a phone does not block device logins.
 */
export function createDavAuthenticator(ctx: Context): DavAuthenticator {
  const cache = createCredentialCache<Remembered>({
    ttlMs: ctx.config.davCredentialCacheSeconds * 1000,
    maxEntries: ctx.config.davCredentialCacheEntries,
  });

  return async (authorization, clientAddress) => {
    const { username, password } = parseBasic(authorization);
    const now = ctx.now();
    const hit = cache.lookup(username, password, now);
    if (hit) {
      if (await stillVerified(ctx, username, hit.verified)) {
        ctx.metrics.davCredentialCache.inc({ result: 'hit' });
        if (now - hit.touched > TOUCH_INTERVAL_MS) {
          hit.touched = now;
          await touchAppPassword(ctx.db, hit.verified.appPasswordId, now);
        }
        return callerOf(username, hit.verified);
      }
      cache.forget(username, password);
    }
    ctx.metrics.davCredentialCache.inc({ result: hit ? 'stale' : 'miss' });
    const verified = await throttledSignIn(ctx, 'dav', username, clientAddress, () =>
      verifyAppPassword(ctx, username, password),
    );
    cache.remember(username, password, { verified, touched: now }, now);
    await touchAppPassword(ctx.db, verified.appPasswordId, now);
    return callerOf(username, verified);
  };
}

function callerOf(username: string, verified: VerifiedAppPassword): Caller {
  return { userId: verified.userId, username, deviceId: verified.appPasswordId };
}

function parseBasic(header: string | undefined): { username: string; password: string } {
  const match = /^Basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i.exec(header ?? '');
  if (!match?.[1]) throw new AppError('unauthorized', 'Send a username and app password with HTTP Basic.');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new AppError('unauthorized', 'Send a username and app password with HTTP Basic.');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
