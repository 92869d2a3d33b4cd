import type { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';

/**
 * What a successful put stored. `created` is false when the blob was already
 * there; of concurrent puts of one new blob through the same store, exactly
 * one reports true.
 */
export interface BlobPutResult {
  sha256: string;
  size: number;
  created: boolean;
}

/**
 * Content-addressed blob storage. Contract (enforced by blob-store-contract.ts
 * for every implementation):
 * - A blob id is its SHA-256 as 64 lowercase hex digits; any other id makes
 *   every method throw AppError('invalid_request').
 * - `put` streams the body, hashing as it goes; it keeps the blob only if the
 *   SHA-256 of the bytes equals `sha256`, else throws AppError('hash_mismatch')
 *   and leaves nothing behind. A body over `maxBytes` throws
 *   AppError('payload_too_large') as soon as it is exceeded (the body is not
 *   read further) and leaves nothing behind. An error from the body itself is
 *   rethrown as is, again leaving nothing behind.
 * - When `put` resolves, the bytes are durable (fsynced / acknowledged by the
 *   object store).
 * - Putting an existing blob stores nothing, but still reads and verifies the
 *   whole body: knowing a hash must not be enough to claim the blob.
 * - Blobs are never overwritten; nothing here deletes.
 * - Derived files (thumbnails) live apart from blobs, under keys of the form
 *   `<sha256 of the blob they come from>-<variant>` (variant: lowercase
 *   letters, digits, dots and dashes, at most 40). They are a cache: made
 *   again when missing, so a write need not be durable, but a reader never
 *   sees a partly written one. A write replaces what the key held (the same
 *   bytes, made again). Any other key throws AppError('invalid_request').
 */
export interface BlobStore {
  readonly kind: 'local' | 's3';
  put(
    sha256: string,
    body: Readable | AsyncIterable<Uint8Array>,
    options?: { maxBytes?: number },
  ): Promise<BlobPutResult>;
  /** A stream of the blob's bytes, or null if it is not stored. */
  get(sha256: string): Promise<Readable | null>;
  /**
   * Up to the first `limit` bytes of the blob, or null if it is not stored. Optional: a store without it is
   * read through `get`. A push of a photo reads its head, so a store that can do it in one step should.
   */
  readHead?(sha256: string, limit: number): Promise<Buffer | null>;
  /** The blob's size, or null if it is not stored. */
  stat(sha256: string): Promise<{ size: number } | null>;
  /** A derived file's bytes, or null if none is stored under `key`. */
  readDerived(key: string): Promise<Buffer | null>;
  /** Stores a derived file under `key`, whole or not at all. */
  writeDerived(key: string, bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

const DERIVED_KEY = /^[0-9a-f]{64}-[a-z0-9][a-z0-9.-]{0,39}$/;

/** Throws AppError('invalid_request') unless `key` names a derived file (see BlobStore). */
export function assertDerivedKey(key: string): void {
  if (!DERIVED_KEY.test(key)) {
    throw new AppError('invalid_request', 'A derived file key is <sha256>-<variant>.', { key: key.slice(0, 120) });
  }
}
