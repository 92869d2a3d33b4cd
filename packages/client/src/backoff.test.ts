import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep, withRetry } from './backoff.js';
import { HoldfastError } from './errors.js';

describe('backoff', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const top = (attempt: number) => backoffDelay(attempt, { baseMs: 100, maxMs: 5000, random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 5, 6, 40].map(top)).toEqual([99, 199, 399, 799, 1599, 3199, 4999, 4999]);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 5000, random: () => 0 })).toBe(0);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, { baseMs: 100, maxMs: 5000 })));
    expect(spread.size).toBeGreaterThan(10);
  });

  it('sleeps until aborted', async () => {
    const controller = new AbortController();
    const slept = sleep(10_000, controller.signal);
    controller.abort();
    await expect(slept).rejects.toMatchObject({ code: 'aborted' });
  });

  it('retries only retryable failures, then gives up with the last error', async () => {
    let calls = 0;
    const flaky = () => {
      calls++;
      return Promise.reject(new HoldfastError('unavailable', 'try later', 503));
    };
    await expect(withRetry(flaky, { attempts: 3, baseMs: 1, maxMs: 2 })).rejects.toMatchObject({ code: 'unavailable' });
    expect(calls).toBe(3);
    calls = 0;
    const denied = () => {
      calls++;
      return Promise.reject(new HoldfastError('unauthorized', 'no', 401));
    };
    await expect(withRetry(denied, { attempts: 3, baseMs: 1, maxMs: 2 })).rejects.toMatchObject({
      code: 'unauthorized',
    });
    expect(calls).toBe(1);
    let n = 0;
    await expect(
      withRetry(async () => (++n < 2 ? Promise.reject(new HoldfastError('network', 'reset')) : 'ok'), {
        attempts: 3,
        baseMs: 1,
        maxMs: 2,
      }),
    ).resolves.toBe('ok');
  });
});
