import { hash, verify } from '@node-rs/argon2';

// Argon2id (algorithm 2) with OWASP's minimum memory cost; the default, stated so a library change can't weaken it.
const ARGON2ID = 2;
const options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password with argon2id; the result carries its own salt and parameters. */
export async function hashPassword(password: string): Promise<string> {
  // biome-ignore lint/suspicious/noExplicitAny: the library's Algorithm is an ambient const enum, unusable under isolatedModules.
  return hash(password, options as any);
}

let verifications = 0;

/** Argon2 verifications run by this process so far (real and dummy): the expensive step caches exist to avoid. */
export function passwordVerifications(): number {
  return verifications;
}

/** Checks a password against a stored hash; a malformed hash counts as a mismatch. */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  verifications++;
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}

/** A hash to verify against when the user does not exist, so timing does not reveal usernames. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword('holdfast-dummy-password');
  return dummyHash;
}
