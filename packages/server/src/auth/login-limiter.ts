/**
 * Failed-login throttle per key. Callers use two keys per attempt: the
 * (username, client address) pair, so a stranger elsewhere cannot lock the
 * owner out, and the client address alone with a larger budget, which bounds
 * guessing across many (or made-up) usernames from one place.
 *
 * An attempt reserves its place before the password is checked and is
 * refunded only if it succeeds, so concurrent guesses cannot all slip in while
 * the first ones are still being verified. Failures leak away at
 * `refillPerSecond`; each time a key runs out of budget it is locked for a
 * period that doubles with every further lock-out, up to `maxLockoutSeconds`,
 * and the doubling is forgotten once the key has fully drained.
 *
 * In memory per server: with several servers behind a balancer the limit is
 * per server, which still bounds guessing to a small multiple.
 */
export interface LoginLimiter {
  /**
   * Reserves one attempt under every key (each with its own burst), or returns
   * the seconds to wait and reserves nothing.
   */
  reserve(keys: readonly LimiterKey[], now: number): Reservation;
  /** Resolves when any reserved attempt is settled (succeeded or failed). */
  settled(): Promise<void>;
}

export interface LimiterKey {
  key: string;
  burst: number;
}

/** A reserved attempt: settle it exactly once. */
export interface Granted {
  ok: true;
  /** The credentials were wrong: the attempt counts, and may lock the keys out. */
  fail(now: number): { locked: boolean };
  /** The credentials were right: the attempt is refunded. */
  succeed(): void;
}

/**
 * Refused. `inFlight` is true when only attempts still being verified fill the
 * budget: once they settle (most are right credentials and are refunded) the
 * caller may try again instead of being turned away.
 */
export type Reservation = Granted | { ok: false; retryAfter: number; inFlight: boolean };

interface Bucket {
  level: number;
  at: number;
  pending: number;
  strikes: number;
  lockedUntil: number;
}

const MAX_KEYS = 100_000;

export function createLoginLimiter(options: { refillPerSecond: number; maxLockoutSeconds: number }): LoginLimiter {
  const buckets = new Map<string, Bucket>();

  const bucketOf = (key: string, now: number): Bucket => {
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { level: 0, at: now, pending: 0, strikes: 0, lockedUntil: 0 };
      buckets.set(key, bucket);
      if (buckets.size > MAX_KEYS) forgetOldest();
      return bucket;
    }
    const leaked = (Math.max(0, now - bucket.at) / 1000) * options.refillPerSecond;
    bucket.level = Math.max(0, bucket.level - leaked);
    bucket.at = now;
    if (bucket.level === 0 && bucket.lockedUntil <= now) bucket.strikes = 0;
    return bucket;
  };

  // Bound memory under a username-spraying attack: forget the oldest idle entry.
  const forgetOldest = () => {
    for (const [key, bucket] of buckets) {
      if (bucket.pending === 0) {
        buckets.delete(key);
        return;
      }
    }
  };

  const waitFor = (bucket: Bucket, burst: number, now: number): number => {
    if (bucket.lockedUntil > now) return Math.ceil((bucket.lockedUntil - now) / 1000);
    const used = bucket.level + bucket.pending;
    if (used <= burst - 1) return 0;
    return Math.max(1, Math.ceil((used - burst + 1) / options.refillPerSecond));
  };

  let waiters: (() => void)[] = [];
  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };

  const release = (key: string, bucket: Bucket) => {
    bucket.pending--;
    if (bucket.pending === 0 && bucket.level === 0 && bucket.strikes === 0) buckets.delete(key);
  };

  return {
    settled: () => new Promise<void>((resolve) => waiters.push(resolve)),
    reserve(keys, now) {
      const held = keys.map(({ key, burst }) => ({ key, burst, bucket: bucketOf(key, now) }));
      const wait = Math.max(...held.map(({ bucket, burst }) => waitFor(bucket, burst, now)));
      if (wait > 0) {
        const inFlight = held.every(
          ({ bucket, burst }) => bucket.lockedUntil <= now && bucket.level <= burst - 1 && bucket.pending > 0,
        );
        for (const { key, bucket } of held) {
          if (bucket.pending === 0 && bucket.level === 0 && bucket.strikes === 0) buckets.delete(key);
        }
        return { ok: false, retryAfter: wait, inFlight };
      }
      for (const { bucket } of held) bucket.pending++;
      let settled = false;
      return {
        ok: true,
        fail(at) {
          if (settled) return { locked: false };
          settled = true;
          let locked = false;
          for (const { key, burst } of held) {
            // Re-fetched: the entry may have been forgotten under memory pressure meanwhile.
            const bucket = bucketOf(key, at);
            bucket.pending = Math.max(0, bucket.pending - 1);
            bucket.level += 1;
            // No room left for another failure: lock, for longer each time.
            if (bucket.level > burst - 1) {
              bucket.strikes++;
              const seconds = Math.min(options.maxLockoutSeconds, 2 ** (bucket.strikes - 1) / options.refillPerSecond);
              bucket.lockedUntil = Math.max(bucket.lockedUntil, at + seconds * 1000);
              locked = true;
            }
          }
          wake();
          return { locked };
        },
        succeed() {
          if (settled) return;
          settled = true;
          for (const { key } of held) {
            const bucket = buckets.get(key);
            if (bucket && bucket.pending > 0) release(key, bucket);
          }
          wake();
        },
      };
    },
  };
}
