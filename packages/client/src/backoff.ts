import { HoldfastError } from './errors.js';

/** How long to wait between attempts: exponential, capped, with full jitter. */
export interface BackoffOptions {
  /** The first delay's upper bound, in milliseconds. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
  /** A source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/** Default backoff: 500 ms doubling to at most 60 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 60_000 };

/**
 * The delay before attempt `attempt` (0-based): a uniformly random duration
 * up to min(maxMs, baseMs * 2^attempt). Full jitter spreads devices that
 * failed together (a server restart) so they do not come back together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/** Waits `ms` milliseconds, or rejects with `aborted` as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () =>
      new HoldfastError('aborted', 'The operation was aborted.', null, undefined, { cause: signal?.reason });
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options for `withRetry`. */
export interface RetryOptions extends BackoffOptions {
  /** Total attempts, the first included (1 = no retry). */
  attempts: number;
  signal?: AbortSignal;
}

/**
 * Runs `fn`, retrying `HoldfastError`s that are `retryable` (network trouble,
 * 5xx, rate limiting) with backoff. Anything else is thrown at once: an auth
 * failure or a bad request does not get better by asking again.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const retryable = error instanceof HoldfastError && error.retryable;
      if (!retryable || attempt + 1 >= options.attempts || options.signal?.aborted) throw error;
      const retryAfter = typeof error.details?.retryAfter === 'number' ? error.details.retryAfter * 1000 : 0;
      await sleep(Math.min(options.maxMs, Math.max(retryAfter, backoffDelay(attempt, options))), options.signal);
    }
  }
}
