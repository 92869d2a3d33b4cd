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

/** Random app passwords are what people paste into phone settings: grouped, unambiguous. */
export function newAppPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(20);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && i % 5 === 0) out += '-';
    out += alphabet[(bytes[i] as number) % alphabet.length];
  }
  return out;
}
