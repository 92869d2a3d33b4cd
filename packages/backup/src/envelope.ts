import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  brotliCompress,
  brotliCompressSync,
  brotliDecompress,
  brotliDecompressSync,
  constants,
  gunzip,
  gunzipSync,
  gzip,
} from 'node:zlib';
import { AppError } from '@holdfast/protocol';

/**
 * The envelope every repository object except `config` and `keys/*` is
 * stored in (docs/backup-format.md, "Envelope"):
 *
 * ```
 * offset  size  field
 *  0      4     magic "HFBK"
 *  4      1     envelope version (1)
 *  5      1     object type (see objectTypes)
 *  6      1     compression (0 none, 1 gzip, 2 brotli)
 *  7      1     reserved, 0
 *  8      8     ciphertext length L, unsigned big-endian
 * 16     12     AES-256-GCM nonce (random per object)
 * 28      L     ciphertext of the (compressed) payload
 * 28+L   16     GCM tag
 * ```
 *
 * Bytes 0..28 are the GCM additional authenticated data, so the version, type
 * and compression cannot be altered without failing authentication.
 */
export const ENVELOPE_MAGIC = Buffer.from('HFBK', 'ascii');
/** The envelope version this code writes and reads. */
export const ENVELOPE_VERSION = 1;
/** Bytes before the ciphertext. */
export const HEADER_LENGTH = 28;
/** Bytes of the GCM tag after the ciphertext. */
export const TAG_LENGTH = 16;
/** Largest payload accepted, before or after compression (1 GiB). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;

/** Object type codes, byte 5 of the envelope. */
export const objectTypes = {
  journal: 1,
  blob: 2,
  'snapshot-data': 3,
  snapshot: 4,
  verification: 5,
  accounts: 6,
} as const;

/** The kind of an enveloped object. */
export type ObjectType = keyof typeof objectTypes;

/** Compression codes, byte 6 of the envelope. */
export const compressionCodes = { none: 0, gzip: 1, brotli: 2 } as const;

/** A compression method for envelope payloads. */
export type Compression = keyof typeof compressionCodes;

/**
 * Why an object could not be read:
 * - `truncated`: fewer bytes than its header declares;
 * - `corrupted`: bytes do not hash to the name, do not parse as an envelope,
 *   or fail authentication;
 * - `invalid`: authentic, but not the expected type, or the content breaks
 *   its schema or a format rule.
 */
export type ObjectFailure = 'truncated' | 'corrupted' | 'invalid';

/** The error for an unreadable object: an `AppError('internal')` with `details.reason` and `details.object`. */
export function objectError(reason: ObjectFailure, object: string, message: string): AppError {
  return new AppError('internal', `object ${object}: ${message}`, { reason, object });
}

/** The {@link ObjectFailure} of an error from reading an object, or null for any other error. */
export function objectFailure(error: unknown): ObjectFailure | null {
  if (!(error instanceof AppError)) return null;
  const reason = error.details?.reason;
  return reason === 'truncated' || reason === 'corrupted' || reason === 'invalid' ? reason : null;
}

/**
 * Compresses (unless `compression` is `none` or compressing does not help),
 * then encrypts `payload` with a fresh random nonce. Compression runs on the
 * thread pool, so several objects compress at once while the caller reads on.
 */
export async function sealEnvelope(
  key: KeyObject,
  type: ObjectType,
  payload: Uint8Array,
  compression: Compression = 'brotli',
): Promise<Uint8Array> {
  checkPayloadSize(payload);
  const compressed = compression === 'none' ? null : await compress(compression, payload, brotliQuality(type));
  return encrypt(key, type, payload, compressed, compression);
}

function checkPayloadSize(payload: Uint8Array): void {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) {
    throw new AppError('payload_too_large', `object payload of ${payload.byteLength} bytes exceeds the 1 GiB limit`);
  }
}

/** Encrypts the compressed body, or the payload itself when compressing did not help. */
function encrypt(
  key: KeyObject,
  type: ObjectType,
  payload: Uint8Array,
  compressed: Uint8Array | null,
  compression: Compression,
): Uint8Array {
  const smaller = compressed !== null && compressed.byteLength < payload.byteLength;
  const method: Compression = smaller ? compression : 'none';
  const body = smaller ? compressed : payload;
  const header = Buffer.alloc(HEADER_LENGTH);
  ENVELOPE_MAGIC.copy(header, 0);
  header[4] = ENVELOPE_VERSION;
  header[5] = objectTypes[type];
  header[6] = compressionCodes[method];
  header[7] = 0;
  header.writeBigUInt64BE(BigInt(body.byteLength), 8);
  randomBytes(12).copy(header, 16);
  const cipher = createCipheriv('aes-256-gcm', key, header.subarray(16, 28));
  cipher.setAAD(header);
  const ciphertext = Buffer.concat([cipher.update(body), cipher.final()]);
  return Buffer.concat([header, ciphertext, cipher.getAuthTag()]);
}

/** What the header of an envelope says, before anything is authenticated. */
export interface EnvelopeHeader {
  version: number;
  type: number;
  compression: number;
  ciphertextLength: number;
}

/** Parses the header; `null` when the bytes are not an envelope at all (too short, wrong magic). */
export function readEnvelopeHeader(stored: Uint8Array): EnvelopeHeader | null {
  if (stored.byteLength < HEADER_LENGTH) return null;
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (!bytes.subarray(0, 4).equals(ENVELOPE_MAGIC)) return null;
  const length = bytes.readBigUInt64BE(8);
  return {
    version: bytes[4] ?? 0,
    type: bytes[5] ?? 0,
    compression: bytes[6] ?? 0,
    ciphertextLength: length > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(length),
  };
}

/**
 * Authenticates, decrypts and decompresses an envelope, checking that it
 * holds an object of `type`. Throws an {@link objectError} naming `object`.
 */
export function openEnvelope(key: KeyObject, type: ObjectType, stored: Uint8Array, object: string): Uint8Array {
  const { method, body } = authenticate(key, type, stored, object);
  try {
    return decompress(method, body);
  } catch (error) {
    throw decompressError(object, error);
  }
}

/**
 * {@link openEnvelope} with the decompression on the thread pool: a reader of
 * many large objects (a restore) decompresses the next ones while it parses
 * this one.
 */
export async function openEnvelopeAsync(
  key: KeyObject,
  type: ObjectType,
  stored: Uint8Array,
  object: string,
): Promise<Uint8Array> {
  const { method, body } = authenticate(key, type, stored, object);
  try {
    return await decompressAsync(method, body);
  } catch (error) {
    throw decompressError(object, error);
  }
}

/** Checks the header, authenticates and decrypts: the body, still compressed with `method`. */
function authenticate(
  key: KeyObject,
  type: ObjectType,
  stored: Uint8Array,
  object: string,
): { method: Compression; body: Buffer } {
  const header = readEnvelopeHeader(stored);
  if (!header) {
    if (stored.byteLength < HEADER_LENGTH && ENVELOPE_MAGIC.subarray(0, stored.byteLength).equals(stored)) {
      throw objectError('truncated', object, `only ${stored.byteLength} bytes, shorter than the envelope header`);
    }
    throw objectError('corrupted', object, 'not an envelope (bad magic)');
  }
  const expected = HEADER_LENGTH + header.ciphertextLength + TAG_LENGTH;
  if (stored.byteLength < expected) {
    throw objectError('truncated', object, `${stored.byteLength} bytes stored, header declares ${expected}`);
  }
  if (stored.byteLength > expected) {
    throw objectError('corrupted', object, `${stored.byteLength} bytes stored, header declares ${expected}`);
  }
  // The version decides the layout, so it is checked before authenticating.
  if (header.version !== ENVELOPE_VERSION) {
    throw objectError('invalid', object, `envelope version ${header.version} is not supported`);
  }
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  let body: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(16, HEADER_LENGTH));
    decipher.setAAD(bytes.subarray(0, HEADER_LENGTH));
    decipher.setAuthTag(bytes.subarray(expected - TAG_LENGTH));
    body = Buffer.concat([decipher.update(bytes.subarray(HEADER_LENGTH, expected - TAG_LENGTH)), decipher.final()]);
  } catch {
    throw objectError('corrupted', object, 'authentication failed (damaged, or written with another key)');
  }
  // Authentic from here on: a mismatch below is a writer bug or a newer format, not damage.
  if (header.type !== objectTypes[type]) {
    throw objectError('invalid', object, `holds object type ${header.type}, expected ${objectTypes[type]} (${type})`);
  }
  const method = compressionName(header.compression);
  if (!method) throw objectError('invalid', object, `unknown compression ${header.compression}`);
  return { method, body };
}

function decompressError(object: string, error: unknown): AppError {
  return objectError('invalid', object, `cannot decompress: ${error instanceof Error ? error.message : String(error)}`);
}

function compressionName(code: number): Compression | null {
  const entry = Object.entries(compressionCodes).find(([, value]) => value === code);
  return entry ? (entry[0] as Compression) : null;
}

/**
 * Brotli quality 3: about three times faster than 5 on vCard and iCalendar
 * text for a few percent more bytes, which keeps a snapshot of a large
 * account from being bound by compression.
 */
const BROTLI_QUALITY = 3;

/**
 * Journal segments use quality 1: acknowledged writes wait for them, and on a
 * segment of 100 contacts it compresses in a third of the time of quality 3
 * for about 7 % more bytes. Snapshots replace them in time, so the bytes are
 * kept for less long. A reader does not need to know the quality.
 */
const JOURNAL_BROTLI_QUALITY = 1;

/** The brotli quality objects of `type` are written with. */
export function brotliQuality(type: ObjectType): number {
  return type === 'journal' ? JOURNAL_BROTLI_QUALITY : BROTLI_QUALITY;
}

/**
 * Payloads up to this size are compressed on the calling thread: under a
 * millisecond of work, less than a round trip through a busy thread pool,
 * which a journal segment that writes are waiting for cannot afford.
 */
const SYNC_COMPRESS_MAX_BYTES = 128 * 1024;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

async function compress(
  method: Exclude<Compression, 'none'>,
  payload: Uint8Array,
  quality: number,
): Promise<Uint8Array> {
  if (method === 'gzip') return gzipAsync(payload, { level: 6 });
  const options = {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: quality,
      [constants.BROTLI_PARAM_SIZE_HINT]: payload.byteLength,
    },
  };
  if (payload.byteLength <= SYNC_COMPRESS_MAX_BYTES) return brotliCompressSync(payload, options);
  return brotliAsync(payload, options);
}

function decompress(method: Compression, body: Uint8Array): Uint8Array {
  if (method === 'none') return body;
  // The limit stops a hostile or broken object from expanding without bound.
  if (method === 'gzip') return gunzipSync(body, { maxOutputLength: MAX_PAYLOAD_BYTES });
  return brotliDecompressSync(body, { maxOutputLength: MAX_PAYLOAD_BYTES });
}

const gunzipAsync = promisify(gunzip);
const brotliDecompressAsync = promisify(brotliDecompress);

/**
 * Output chunk of an asynchronous decompression: each chunk is a callback and
 * a copy on the calling thread, and zlib's 16 KiB default makes a hundred of
 * them for one snapshot data object.
 */
const ASYNC_CHUNK_BYTES = 1024 * 1024;

async function decompressAsync(method: Compression, body: Uint8Array): Promise<Uint8Array> {
  if (method === 'none') return body;
  const options = { maxOutputLength: MAX_PAYLOAD_BYTES, chunkSize: ASYNC_CHUNK_BYTES };
  if (method === 'gzip') return gunzipAsync(body, options);
  return brotliDecompressAsync(body, options);
}

/**
 * Whether compressing looks worthwhile: brotli at its fastest setting on a
 * 64 KiB sample must save at least 5 %. Photos and other already-compressed
 * blobs fail this and are stored as they are.
 */
export function worthCompressing(payload: Uint8Array): boolean {
  const sample = payload.subarray(0, 64 * 1024);
  if (sample.byteLength < 64) return false;
  const compressed = brotliCompressSync(sample, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
  return compressed.byteLength <= sample.byteLength * 0.95;
}
