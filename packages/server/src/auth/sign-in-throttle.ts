import { AppError } from '@holdfast/protocol';
import type { Context } from '../context.js';

/** How long an attempt waits for in-flight checks of the same keys before it is refused. */
const IN_FLIGHT_WAIT_MS = 10_000;

/** Device logins and DAV app passwords have separate budgets: a stale phone password cannot block a login. */
export type SignInKind = 'login' | 'dav';

/**
 * Runs one credential check under the failed-login throttle. The attempt is
 * reserved before `check` starts (refunded on success), so parallel guesses
 * cannot overrun the budget while earlier ones are still being verified.
 * `check` answers null for wrong credentials.
 */
export async function throttledSignIn<T>(
  ctx: Pick<Context, 'config' | 'loginLimiter' | 'log' | 'now'>,
  kind: SignInKind,
  username: string,
  clientAddress: string,
  check: () => Promise<T | null>,
): Promise<T> {
  const pairBurst = kind === 'login' ? ctx.config.loginBurst : ctx.config.davLoginBurst;
  const keys = [
    // The pair, so a stranger elsewhere cannot lock the owner out; the address, to bound spraying many names.
    { key: `${kind}:u:${username}\0a:${clientAddress}`, burst: pairBurst },
    { key: `${kind}:a:${clientAddress}`, burst: ctx.config.loginAddressBurst },
  ];
  // Usernames come from the client: logged bounded, never with the password.
  const who = { kind, username: username.slice(0, 200), clientAddress };
  let reservation = ctx.loginLimiter.reserve(keys, ctx.now());
  // A client syncing in parallel (DAV clients do) sends many right credentials at once: those over the
  // budget wait for the ones being verified instead of being refused, since each success is refunded.
  const deadline = ctx.now() + IN_FLIGHT_WAIT_MS;
  while (!reservation.ok && reservation.inFlight && ctx.now() < deadline) {
    await ctx.loginLimiter.settled();
    reservation = ctx.loginLimiter.reserve(keys, ctx.now());
  }
  if (!reservation.ok) {
    ctx.log.warn({ ...who, retryAfter: reservation.retryAfter }, 'sign-in refused: locked out');
    throw new AppError('rate_limited', 'Too many failed logins; try again later.', {
      retryAfter: reservation.retryAfter,
    });
  }
  let result: T | null;
  try {
    result = await check();
  } catch (error) {
    // A server fault is not the caller's failed guess.
    reservation.succeed();
    throw error;
  }
  if (result === null) {
    const { locked } = reservation.fail(ctx.now());
    ctx.log.warn(who, locked ? 'failed sign-in; now locked out' : 'failed sign-in');
    throw new AppError(
      'unauthorized',
      kind === 'login'
        ? 'Wrong username or password, or the account is disabled.'
        : 'Wrong username or app password (DAV accepts app passwords only).',
    );
  }
  reservation.succeed();
  return result;
}
