import { AppError, sha256Schema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { recordBlob, userBlobSizes } from '../../store/blob-index.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const params = z.object({ sha256: sha256Schema });

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
      const stored = await ctx.blobs.put(sha256, request.raw, { maxBytes: ctx.config.maxBlobBytes });
      await recordBlob(ctx.db.kysely, caller.userId, sha256, stored.size, ctx.now());
      return reply.code(stored.created ? 201 : 200).send({ sha256, size: stored.size });
    });

    const found = async (userId: string, sha256: string): Promise<number> => {
      const size = (await userBlobSizes(ctx.db.kysely, userId, [sha256])).get(sha256);
      if (size === undefined) throw new AppError('not_found', `No blob ${sha256}.`);
      return size;
    };

    app.head('/v1/blobs/:sha256', async (request, reply) => {
      const { sha256 } = parseInput(params, request.params, 'path');
      const size = await found(callerOf(request).userId, sha256);
      return reply.header('content-length', String(size)).header('etag', `"${sha256}"`).send();
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
