import { describe, expect, it } from 'vitest';
import { createCredentialCache } from './credential-cache.js';

describe('credential cache', () => {
  it('answers only the exact username and password, until the TTL from when they were remembered', () => {
    const cache = createCredentialCache<string>({ ttlMs: 1000, maxEntries: 10 });
    cache.remember('ada', 'secret', 'ada-id', 0);
    expect(cache.lookup('ada', 'secret', 500)).toBe('ada-id');
    expect(cache.lookup('ada', 'Secret', 500)).toBeUndefined();
    expect(cache.lookup('ad', 'a:secret', 500)).toBeUndefined();
    expect(cache.lookup('ada:', 'secret', 500)).toBeUndefined();
    // Use does not extend it: a credential is fully checked again at least once per TTL.
    expect(cache.lookup('ada', 'secret', 999)).toBe('ada-id');
    expect(cache.lookup('ada', 'secret', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = createCredentialCache<number>({ ttlMs: 60_000, maxEntries: 2 });
    cache.remember('a', 'pw', 1, 0);
    cache.remember('b', 'pw', 2, 0);
    expect(cache.lookup('a', 'pw', 1)).toBe(1);
    cache.remember('c', 'pw', 3, 2);
    expect(cache.size).toBe(2);
    expect(cache.lookup('b', 'pw', 3)).toBeUndefined();
    expect(cache.lookup('a', 'pw', 3)).toBe(1);
    expect(cache.lookup('c', 'pw', 3)).toBe(3);
  });

  it('forgets on request, and holds nothing when turned off', () => {
    const cache = createCredentialCache<number>({ ttlMs: 60_000, maxEntries: 5 });
    cache.remember('a', 'pw', 1, 0);
    cache.forget('a', 'pw');
    expect(cache.lookup('a', 'pw', 1)).toBeUndefined();
    for (const off of [
      { ttlMs: 0, maxEntries: 5 },
      { ttlMs: 60_000, maxEntries: 0 },
    ]) {
      const none = createCredentialCache<number>(off);
      none.remember('a', 'pw', 1, 0);
      expect(none.lookup('a', 'pw', 1)).toBeUndefined();
      expect(none.size).toBe(0);
    }
  });
});
