import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';
import { recordBlob } from '../store/blob-index.js';
import type { BlobSink } from './bundle-import.js';

/**
 * Puts bytes read from an import file into the blob store under their
 * SHA-256 and records them for the user; returns the hash, or why they could
 * not be stored (too large for a blob).
 */
export async function storeBytes(sink: BlobSink, bytes: Uint8Array): Promise<{ sha256: string } | { reason: string }> {
  const sha256 = hash('sha256', bytes);
  try {
    const result = await sink.blobs.put(sha256, Readable.from([bytes]), { maxBytes: sink.maxBlobBytes });
    await recordBlob(sink.db.kysely, sink.userId, sha256, result.size, sink.now());
    return { sha256 };
  } catch (error) {
    if (error instanceof AppError) return { reason: error.message };
    throw error;
  }
}
