import { createHmac, randomBytes } from 'node:crypto';

/**
 * Credentials that passed a full (argon2) check recently, so a client that
 * sends them on every request (DAV does) is not verified again each time.
 *
 * Entries are keyed by HMAC-SHA256 of username and password under a key made
 * at start and never stored: the map holds no password, and its keys are
 * useless without the process's memory. Only successes go in, so a failed
 * attempt always costs the full check (the constant-work rule in
 * accounts.ts is untouched). An entry lives `ttlMs` from its verification,
 * however often it is used, and at most `maxEntries` are kept, the least
 * recently used leaving first. A hit is not a verdict: the caller re-checks
 * the cheap state (revoked, disabled, hashes) in the database, which is what
 * makes revocation immediate on every server sharing that database.
 */
export interface CredentialCache<T> {
  /** The value remembered for these credentials, if verified less than the TTL ago. */
  lookup(username: string, password: string, now: number): T | undefined;
  remember(username: string, password: string, value: T, now: number): void;
  forget(username: string, password: string): void;
  readonly size: number;
}

interface Entry<T> {
  value: T;
  expires: number;
}

export function createCredentialCache<T>(options: { ttlMs: number; maxEntries: number }): CredentialCache<T> {
  const entries = new Map<string, Entry<T>>();
  const secret = randomBytes(32);
  const enabled = options.ttlMs > 0 && options.maxEntries > 0;
  // The username's length first, so no two (username, password) pairs share an input.
  const keyOf = (username: string, password: string) =>
    createHmac('sha256', secret).update(`${username.length}:${username}:${password}`, 'utf8').digest('base64');

  return {
    lookup(username, password, now) {
      if (!enabled) return undefined;
      const key = keyOf(username, password);
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      if (entry.expires <= now) return undefined;
      // Re-inserted: Map order is recency, so eviction takes the least recently used.
      entries.set(key, entry);
      return entry.value;
    },
    remember(username, password, value, now) {
      if (!enabled) return;
      const key = keyOf(username, password);
      entries.delete(key);
      while (entries.size >= options.maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      entries.set(key, { value, expires: now + options.ttlMs });
    },
    forget(username, password) {
      if (enabled) entries.delete(keyOf(username, password));
    },
    get size() {
      return entries.size;
    },
  };
}
