import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, idSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { listImports } from '../../store/imports.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

const exportQuery = z.object({ vcard: z.enum(['original', '3.0']).optional() }).strict();
const importQuery = z.object({ collection: idSchema.optional(), name: z.string().min(1).max(255).optional() }).strict();
const params = z.object({ id: idSchema });

/**
 * Whole-account export and file import (docs/export-format.md):
 * - GET /v1/export[?vcard=3.0]: the caller's account as a ZIP, streamed as it is written.
 * - POST /v1/import[?collection=ID&name=FILE]: a .vcf, .ics or export ZIP as the raw body.
 * - GET /v1/imports, POST /v1/imports/:id/undo: past imports, and undoing one.
 */
export function exportImportRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    // Upload bodies stream to a temporary file, never into memory.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    app.get('/v1/export', async (request, reply) => {
      const caller = callerOf(request);
      const query = parseInput(exportQuery, request.query, 'query');
      const body = new PassThrough();
      const date = new Date(ctx.now()).toISOString().slice(0, 10);
      // Export and import code (and the ZIP and XML libraries behind it) loads with the first use, not at start.
      const { exportAccount } = await import('../../export/export-run.js');
      exportAccount(ctx, { id: caller.userId, username: caller.username }, body, query).then(
        (manifest) =>
          request.log.info({ items: manifest.collections.reduce((n, c) => n + c.itemCount, 0) }, 'export written'),
        (error: unknown) => {
          // Headers are gone by now: the client sees a cut-off ZIP, which verify-export rejects.
          request.log.error({ err: error }, 'export failed');
          body.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="holdfast-${caller.username}-${date}.zip"`)
        .header('cache-control', 'no-store')
        .send(body);
    });

    app.post('/v1/import', async (request) => {
      const caller = callerOf(request);
      const query = parseInput(importQuery, request.query, 'query');
      const limit = ctx.config.maxBlobBytes;
      const declared = Number(request.headers['content-length'] ?? Number.NaN);
      if (declared > limit) throw new AppError('payload_too_large', `Imports are limited to ${limit} bytes.`);
      const dir = await mkdtemp(join(tmpdir(), 'holdfast-upload-'));
      try {
        const path = join(dir, 'upload');
        await pipeline(request.raw, byteLimit(limit), createWriteStream(path));
        const { importFile } = await import('../../import/import.js');
        const report = await importFile(
          ctx,
          { userId: caller.userId, deviceId: caller.deviceId, receipt: caller.receipt },
          path,
          {
            name: query.name ?? 'upload',
            ...(query.collection ? { collectionId: query.collection } : {}),
          },
        );
        request.log.info({ importId: report.importId, ...report.counts }, 'import written');
        return report;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    app.get('/v1/imports', async (request) => {
      const rows = await listImports(ctx.db, callerOf(request).userId);
      return {
        imports: rows.map((row) => ({
          id: row.id,
          source: row.source,
          format: row.format,
          firstRevision: row.first_seq,
          lastRevision: row.last_seq,
          counts: { created: row.created, updated: row.updated, skipped: row.skipped, rejected: row.rejected },
          undone: row.undone_by !== null,
          at: new Date(row.created_at).toISOString(),
        })),
      };
    });

    app.post('/v1/imports/:id/undo', async (request) => {
      const caller = callerOf(request);
      const { id } = parseInput(params, request.params, 'path');
      const { undoImport } = await import('../../import/import-undo.js');
      return undoImport(ctx, { userId: caller.userId, deviceId: caller.deviceId, receipt: caller.receipt }, id);
    });
  };
}

/** Passes bytes through, failing with payload_too_large past `limit`. */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) callback(new AppError('payload_too_large', `Imports are limited to ${limit} bytes.`));
      else callback(null, chunk);
    },
  });
}
