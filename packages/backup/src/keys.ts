import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
  scrypt,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from '@holdfast/protocol';
import { z } from 'zod';

/**
 * What unlocks a repository: a passphrase, or the path of a key file whose
 * bytes (all of them, taken as they are) serve as the passphrase. A
 * passphrase is normalised to Unicode NFC and encoded as UTF-8, so the same
 * passphrase typed on different systems gives the same bytes.
 */
export type RepositorySecret = { passphrase: string } | { keyFile: string };

/** scrypt cost parameters (RFC 7914). */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/** The parameters new keys get: 128 MiB of memory, a few hundred milliseconds on a small server. */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

const base64 = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/)
    .refine((value) => Buffer.from(value, 'base64').byteLength === bytes, `must encode ${bytes} bytes`);

/**
 * A key object, stored as UTF-8 JSON under `keys/<sha256 of its bytes>`. It
 * holds the repository master key wrapped (AES-256-GCM) by a key derived with
 * scrypt from a passphrase or key file. The cost bounds keep a hostile key
 * object from demanding unbounded memory or time.
 */
export const keyObjectSchema = z.strictObject({
  format: z.literal('holdfast-backup-key'),
  version: z.literal(1),
  repositoryId: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: z.iso.datetime({ offset: true }),
  kdf: z.strictObject({
    algorithm: z.literal('scrypt'),
    N: z
      .int()
      .min(2 ** 10)
      .max(2 ** 22)
      .refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
    r: z.int().min(1).max(32),
    p: z.int().min(1).max(16),
    salt: base64(32),
  }),
  wrappedKey: z.strictObject({
    algorithm: z.literal('aes-256-gcm'),
    nonce: base64(12),
    ciphertext: base64(32),
    tag: base64(16),
  }),
});

/** The parsed content of a key object. */
export type KeyObjectContent = z.infer<typeof keyObjectSchema>;

/** Reads the secret's bytes: the normalised passphrase, or the whole key file. */
export async function secretBytes(secret: RepositorySecret): Promise<Buffer> {
  if ('passphrase' in secret) {
    if (secret.passphrase.length === 0) throw new AppError('invalid_request', 'the passphrase is empty');
    return Buffer.from(secret.passphrase.normalize('NFC'), 'utf8');
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(secret.keyFile);
  } catch (error) {
    throw new AppError('invalid_request', `cannot read key file ${secret.keyFile}: ${(error as Error).message}`);
  }
  if (bytes.byteLength === 0) throw new AppError('invalid_request', `key file ${secret.keyFile} is empty`);
  return bytes;
}

function deriveWrappingKey(secret: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // scrypt needs about 128·N·r bytes; allow twice that so valid parameters never hit the limit.
  const maxmem = 256 * params.N * params.r + 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function wrapAad(repositoryId: string): Buffer {
  return Buffer.from(`holdfast-backup key v1 ${repositoryId}`, 'utf8');
}

/** Wraps `masterKey` under `secret` and returns the key object's bytes. */
export async function createKeyObject(
  repositoryId: string,
  masterKey: Buffer,
  secret: Buffer,
  params: ScryptParams,
  now: Date,
): Promise<Uint8Array> {
  const salt = randomBytes(32);
  const wrappingKey = await deriveWrappingKey(secret, salt, params);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey, nonce);
  cipher.setAAD(wrapAad(repositoryId));
  const ciphertext = Buffer.concat([cipher.update(masterKey), cipher.final()]);
  const content: KeyObjectContent = keyObjectSchema.parse({
    format: 'holdfast-backup-key',
    version: 1,
    repositoryId,
    createdAt: now.toISOString(),
    kdf: { algorithm: 'scrypt', ...params, salt: salt.toString('base64') },
    wrappedKey: {
      algorithm: 'aes-256-gcm',
      nonce: nonce.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    },
  });
  return Buffer.from(JSON.stringify(content), 'utf8');
}

/**
 * Unwraps the master key with `secret`; null when the secret is not the one
 * this key object was made with (GCM authentication fails, so a wrong secret
 * can never yield a wrong key).
 */
export async function unwrapMasterKey(content: KeyObjectContent, secret: Buffer): Promise<Buffer | null> {
  const { kdf, wrappedKey } = content;
  const wrappingKey = await deriveWrappingKey(secret, Buffer.from(kdf.salt, 'base64'), kdf);
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrappingKey, Buffer.from(wrappedKey.nonce, 'base64'));
    decipher.setAAD(wrapAad(content.repositoryId));
    decipher.setAuthTag(Buffer.from(wrappedKey.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(wrappedKey.ciphertext, 'base64')), decipher.final()]);
  } catch {
    // Authentication failure is the expected outcome for a wrong secret.
    return null;
  }
}

/** The AES-256-GCM key for objects: HKDF-SHA256(master key, salt = repository id, info = label). */
export function objectKey(masterKey: Buffer, repositoryId: string): KeyObject {
  const derived = hkdfSync('sha256', masterKey, Buffer.from(repositoryId, 'utf8'), 'holdfast-backup v1 objects', 32);
  return createSecretKey(Buffer.from(derived));
}

/** Lower-case hex SHA-256. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
