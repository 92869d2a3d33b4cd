/**
 * Failed-login throttle per key (username and client address). Each failure
 * adds one token; tokens leak at `refillPerSecond`; at `burst` the key is
 * locked out until enough have leaked. Success does not reset the count, so
 * interleaving one good guess does not buy more attempts.
 *
 * In memory per server: with several servers behind a balancer the limit is
 * per server, which still bounds guessing to a small multiple.
 */
export interface LoginLimiter {
  /** Seconds until another attempt is allowed for this key, or 0. `scale` multiplies the burst (shared addresses). */
  retryAfter(key: string, now: number, scale?: number): number;
  recordFailure(key: string, now: number): void;
}

export function createLoginLimiter(options: { burst: number; refillPerSecond: number }): LoginLimiter {
  const buckets = new Map<string, { level: number; at: number }>();
  const level = (key: string, now: number): number => {
    const bucket = buckets.get(key);
    if (!bucket) return 0;
    const leaked = ((now - bucket.at) / 1000) * options.refillPerSecond;
    const current = Math.max(0, bucket.level - leaked);
    if (current === 0) buckets.delete(key);
    return current;
  };
  return {
    retryAfter(key, now, scale = 1) {
      const burst = options.burst * scale;
      const current = level(key, now);
      // Room for one more failure means the level is at most burst - 1.
      if (current <= burst - 1) return 0;
      return Math.ceil((current - burst + 1) / options.refillPerSecond);
    },
    recordFailure(key, now) {
      buckets.set(key, { level: level(key, now) + 1, at: now });
      if (buckets.size > 100_000) {
        // Bound memory under a username-spraying attack: forget the oldest entry.
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
    },
  };
}
