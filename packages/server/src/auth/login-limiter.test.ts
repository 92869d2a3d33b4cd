import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from './login-limiter.js';

describe('login limiter', () => {
  it('allows a burst, then throttles until the allowance leaks back', () => {
    const limiter = createLoginLimiter({ burst: 3, refillPerSecond: 1 });
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter('u:a', t0)).toBe(0);
      limiter.recordFailure('u:a', t0);
    }
    expect(limiter.retryAfter('u:a', t0)).toBe(1);
    expect(limiter.retryAfter('u:b', t0)).toBe(0);
    expect(limiter.retryAfter('u:a', t0 + 1000)).toBe(0);
    expect(limiter.retryAfter('u:a', t0, 5)).toBe(0);
  });
});
