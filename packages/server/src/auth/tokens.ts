import { createHash, randomBytes } from 'node:crypto';

/**
 * Device tokens carry 256 random bits, so a fast hash is enough to store them:
 * unlike passwords they cannot be guessed, and a lookup by hash stays O(1).
 */
export function newDeviceToken(): string {
  return `hfd_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const APP_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const APP_PASSWORD = /^([a-km-np-z2-9]{5}-[a-km-np-z2-9]{5})(?:-[a-km-np-z2-9]{5}){4}$/;

/**
 * Random app passwords are what people paste into phone settings: grouped,
 * unambiguous. The first two groups are the password's public id (its row),
 * so checking one costs a single argon2 verification however many a user
 * has; the other four groups are 100 secret bits.
 */
export function newAppPassword(): { id: string; password: string } {
  const bytes = randomBytes(30);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && i % 5 === 0) out += '-';
    // 256 is a multiple of 32: no modulo bias.
    out += APP_ALPHABET[(bytes[i] as number) % APP_ALPHABET.length];
  }
  return { id: out.slice(0, 11), password: out };
}

/** The public id an app password carries, or null for passwords from before ids (or not app passwords at all). */
export function appPasswordId(password: string): string | null {
  return APP_PASSWORD.exec(password)?.[1] ?? null;
}
