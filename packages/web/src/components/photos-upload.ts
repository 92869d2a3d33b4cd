import { apiResponse } from '../api/http';
import type { BlobRef } from './collection-items';

/** The lower-case hex SHA-256 of a file, the name the server stores its bytes under. */
export async function sha256Hex(file: Blob): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Uploads a file as a blob (`PUT /v1/blobs/:sha256`); the server checks the bytes against the name, so a
 * damaged upload is refused rather than stored. Answers the reference an item carries.
 */
export async function uploadBlob(file: File): Promise<BlobRef> {
  const sha256 = await sha256Hex(file);
  await apiResponse(`/v1/blobs/${sha256}`, {
    method: 'PUT',
    body: file,
    headers: { 'content-type': 'application/octet-stream' },
  });
  return { sha256, contentType: file.type || 'application/octet-stream' };
}

/** A server-made thumbnail of a blob the caller holds. */
export function thumbnailUrl(sha256: string, size: 128 | 256 | 512 = 256): string {
  return `/v1/blobs/${sha256}/thumbnail?size=${size}`;
}

/** The original bytes. */
export function originalUrl(sha256: string): string {
  return `/v1/blobs/${sha256}`;
}
