import { Readable } from 'node:stream';
import { AppError, BLOB_BATCH_TYPE, blobBatchQuerySchema, sha256Schema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { THUMBNAIL_SIZES, THUMBNAIL_TYPE, type ThumbnailSize, thumbnail } from '../../content/thumbnails.js';
import type { Context } from '../../context.js';
import { userBlobSizes } from '../../store/blob-index.js';
import { recordUpload } from '../../sync/blob-upload.js';
import { checkAddition } from '../../sync/quota.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const params = z.object({ sha256: sha256Schema });
const thumbnailQuery = z
  .object({
    size: z.coerce
      .number()
      .int()
      .refine((n) => (THUMBNAIL_SIZES as readonly number[]).includes(n), `size is one of ${THUMBNAIL_SIZES.join(', ')}`)
      .default(256),
  })
  .strict();

/**
 * The bytes of several stored blobs, one after another, each checked against
 * its recorded size. A blob that went missing from storage or changed size
 * after the manifest was sent cannot be reported in band any more: the
 * response is cut short instead, which the client sees as a failed download.
 */
async function* concatenated(
  open: (sha256: string) => Promise<Readable | null>,
  blobs: readonly { sha256: string; size: number }[],
  onError: (sha256: string, message: string) => void,
): AsyncGenerator<Uint8Array> {
  for (const { sha256, size } of blobs) {
    const stream = await open(sha256);
    if (!stream) {
      onError(sha256, 'blob recorded but missing from the blob store');
      throw new AppError('internal', `Blob ${sha256} is recorded but missing from storage.`);
    }
    let sent = 0;
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      sent += chunk.length;
      if (sent > size) break;
      yield chunk;
    }
    if (sent !== size) {
      stream.destroy();
      onError(sha256, `blob is ${sent} bytes in storage, ${size} recorded`);
      throw new AppError('internal', `Blob ${sha256} does not match its recorded size.`);
    }
  }
}

export function blobRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    // Blob bodies are streamed straight to the store, never buffered or parsed.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    app.put('/v1/blobs/:sha256', async (request, reply) => {
      const caller = callerOf(request);
      const { sha256 } = parseInput(params, request.params, 'path');
      const declared = Number(request.headers['content-length'] ?? Number.NaN);
      if (declared > ctx.config.maxBlobBytes) {
        throw new AppError('payload_too_large', `Blobs are limited to ${ctx.config.maxBlobBytes} bytes.`);
      }
      // 200 only when this caller already held the blob: whether someone else stored the same bytes stays hidden.
      const held = (await userBlobSizes(ctx.db, caller.userId, [sha256])).has(sha256);
      if (!held) await checkAddition(ctx, caller.userId, { items: 0, bytes: Number.isFinite(declared) ? declared : 1 });
      const stored = await ctx.blobs.put(sha256, request.raw, { maxBytes: ctx.config.maxBlobBytes }).catch((error) => {
        // Ours to report (hash mismatch, too large), and a client that hung up, pass as they are; anything else is
        // storage failing, which a retry may cure.
        if (error instanceof AppError || request.raw.aborted || request.socket.destroyed) throw error;
        request.log.error({ err: (error as Error).message, store: ctx.blobs.kind }, 'blob store failed a put');
        throw new AppError('unavailable', 'The blob store is unavailable; try again later.');
      });
      await recordUpload(ctx, caller, { sha256, size: stored.size });
      return reply.code(held ? 200 : 201).send({ sha256, size: stored.size });
    });

    const found = async (userId: string, sha256: string): Promise<number> => {
      const size = (await userBlobSizes(ctx.db, userId, [sha256])).get(sha256);
      if (size === undefined) throw new AppError('not_found', `No blob ${sha256}.`);
      return size;
    };

    app.head('/v1/blobs/:sha256', async (request, reply) => {
      const { sha256 } = parseInput(params, request.params, 'path');
      const size = await found(callerOf(request).userId, sha256);
      return reply.header('content-length', String(size)).header('etag', `"${sha256}"`).send();
    });

    // Many blobs in one response, for devices restoring many small blobs (photos): one request instead of one
    // each. Blobs this user may not read are left out of the manifest, exactly as if they did not exist.
    app.get('/v1/blobs', async (request, reply) => {
      const { sha256: wanted } = parseInput(blobBatchQuerySchema, request.query, 'query');
      const unique = [...new Set(wanted)];
      const sizes = await userBlobSizes(ctx.db, callerOf(request).userId, unique);
      const blobs = unique.flatMap((sha256) => {
        const size = sizes.get(sha256);
        return size === undefined ? [] : [{ sha256, size }];
      });
      const manifest = Buffer.from(`${JSON.stringify({ blobs })}\n`);
      const total = blobs.reduce((sum, blob) => sum + blob.size, manifest.length);
      const body = Readable.from(
        (async function* () {
          yield manifest;
          yield* concatenated(
            (sha256) => ctx.blobs.get(sha256),
            blobs,
            (sha256, message) => request.log.error({ sha256 }, message),
          );
        })(),
        { objectMode: false },
      );
      return reply
        .type(BLOB_BATCH_TYPE)
        .header('content-length', String(total))
        .header('cache-control', 'private, no-cache')
        .send(body);
    });

    // Same isolation as the blob itself: 404 unless the caller holds it. The cache is shared by content hash,
    // which reveals nothing: only a holder of the bytes is ever answered.
    app.get('/v1/blobs/:sha256/thumbnail', async (request, reply) => {
      const { sha256 } = parseInput(params, request.params, 'path');
      const { size } = parseInput(thumbnailQuery, request.query, 'query');
      await found(callerOf(request).userId, sha256);
      const bytes = await thumbnail(ctx, sha256, size as ThumbnailSize);
      return reply
        .type(THUMBNAIL_TYPE)
        .header('content-length', String(bytes.length))
        .header('etag', `"${sha256}-${size}"`)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(bytes);
    });

    app.get('/v1/blobs/:sha256', async (request, reply) => {
      const { sha256 } = parseInput(params, request.params, 'path');
      const size = await found(callerOf(request).userId, sha256);
      const stream = await ctx.blobs.get(sha256);
      if (!stream) {
        request.log.error({ sha256 }, 'blob recorded but missing from the blob store');
        throw new AppError('internal', `Blob ${sha256} is recorded but missing from storage.`);
      }
      return reply
        .type('application/octet-stream')
        .header('content-length', String(size))
        .header('etag', `"${sha256}"`)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(stream);
    });
  };
}
