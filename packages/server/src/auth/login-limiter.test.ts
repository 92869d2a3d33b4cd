import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from './login-limiter.js';

const keys = (user: string, address: string) => [
  { key: `u:${user}|a:${address}`, burst: 3 },
  { key: `a:${address}`, burst: 5 },
];

describe('login limiter', () => {
  it('reserves before the check: concurrent attempts beyond the burst are refused at once', () => {
    const limiter = createLoginLimiter({ refillPerSecond: 1, maxLockoutSeconds: 60 });
    const t0 = 1_000_000;
    const granted = Array.from({ length: 10 }, () => limiter.reserve(keys('alice', '10.0.0.1'), t0));
    expect(granted.filter((r) => r.ok)).toHaveLength(3);
    const refused = granted.find((r) => !r.ok);
    expect(refused && !refused.ok && refused.retryAfter).toBeGreaterThan(0);
  });

  it('refunds successes, locks with a growing backoff, and keeps pairs apart', () => {
    const limiter = createLoginLimiter({ refillPerSecond: 1, maxLockoutSeconds: 60 });
    let now = 1_000_000;
    for (let i = 0; i < 10; i++) {
      const r = limiter.reserve(keys('alice', '10.0.0.1'), now);
      if (!r.ok) throw new Error('refused');
      r.succeed();
    }
    const failures = () => {
      const r = limiter.reserve(keys('alice', '10.0.0.1'), now);
      if (!r.ok) return r.retryAfter;
      return r.fail(now).locked ? -1 : 0;
    };
    expect([failures(), failures(), failures()]).toEqual([0, 0, -1]);
    const first = limiter.reserve(keys('alice', '10.0.0.1'), now);
    expect(first.ok).toBe(false);
    // Another address is not affected by this pair's lock-out.
    expect(limiter.reserve(keys('alice', '10.0.0.2'), now).ok).toBe(true);
    now += 1000;
    expect(failures()).toBe(-1);
    const second = limiter.reserve(keys('alice', '10.0.0.1'), now);
    expect(!second.ok && second.retryAfter).toBe(2);
  });
});
