import { z } from 'zod';
import { sha256Schema } from './ids.js';

/** The most blobs one `GET /v1/blobs?sha256=a,b,…` names (the query stays under 7 KB). */
export const MAX_BLOB_BATCH = 100;

/** The media type of a batch download: a JSON manifest line, then the blobs' bytes back to back. */
export const BLOB_BATCH_TYPE = 'application/vnd.holdfast.blobs';

/** The query of a batch download: up to MAX_BLOB_BATCH hashes, comma-separated. */
export const blobBatchQuerySchema = z
  .object({
    sha256: z
      .string()
      .max(MAX_BLOB_BATCH * 65)
      .transform((list) => list.split(','))
      .pipe(z.array(sha256Schema).min(1).max(MAX_BLOB_BATCH)),
  })
  .strict();

/** The first line of a batch download: the requested blobs the server sends, in the order their bytes follow. */
export const blobBatchManifestSchema = z.object({
  blobs: z.array(z.object({ sha256: sha256Schema, size: z.number().int().nonnegative().safe() })),
});
export type BlobBatchManifest = z.infer<typeof blobBatchManifestSchema>;
