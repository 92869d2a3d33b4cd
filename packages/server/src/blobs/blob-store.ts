import type { Readable } from 'node:stream';

/** What a successful put stored. `created` is false when the blob was already there. */
export interface BlobPutResult {
  sha256: string;
  size: number;
  created: boolean;
}

/**
 * Content-addressed blob storage. Contract (enforced by blob-store-contract.ts
 * for every implementation):
 * - `put` streams the body, hashing as it goes; it keeps the blob only if the
 *   SHA-256 of the bytes equals `sha256`, else throws AppError('hash_mismatch')
 *   and leaves nothing behind. A body over `maxBytes` throws
 *   AppError('payload_too_large') and leaves nothing behind.
 * - When `put` resolves, the bytes are durable (fsynced / acknowledged by the
 *   object store). Putting an existing blob is a cheap no-op.
 * - Blobs are never overwritten; nothing here deletes.
 */
export interface BlobStore {
  readonly kind: 'local' | 's3';
  put(sha256: string, body: Readable | AsyncIterable<Uint8Array>, options?: { maxBytes?: number }): Promise<BlobPutResult>;
  /** A stream of the blob's bytes, or null if it is not stored. */
  get(sha256: string): Promise<Readable | null>;
  /** The blob's size, or null if it is not stored. */
  stat(sha256: string): Promise<{ size: number } | null>;
  close(): Promise<void>;
}
