import { createHash } from 'node:crypto';

/**
 * The one definition of the text an item's content hash (its ETag) is the
 * SHA-256 of. Server and devices both hash it, so a device can predict the
 * ETag of an edit the server has not seen yet.
 */

/** JSON with object keys sorted, so equal content always gives equal text and hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, item]) => [key, sortKeys(item)]));
}

/**
 * The UTF-8 text whose SHA-256 is the item's hash. The JSON array is an
 * unambiguous encoding of the three fields (no separator can be forged by the
 * text), and the version tag lets the encoding change later without colliding
 * with old hashes.
 */
export function contentHashInput(contentType: string, text: string | null, blobSha256: string | null): string {
  return JSON.stringify(['holdfast-content-v1', contentType, text, blobSha256]);
}

/** The item hash (ETag): SHA-256 of `contentHashInput`, as hex. */
export function contentHash(contentType: string, text: string | null, blobSha256: string | null): string {
  return createHash('sha256')
    .update(contentHashInput(contentType, text, blobSha256), 'utf8')
    .digest('hex');
}
