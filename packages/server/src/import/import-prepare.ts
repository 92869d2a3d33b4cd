import { once } from 'node:events';
import type { WriteStream } from 'node:fs';
import { AppError } from '@holdfast/protocol';
import { type BlobInfo, normalizeContent, readPhotoMeta } from '../content/index.js';
import type { Context } from '../context.js';
import { createSlicer } from '../slices.js';
import { readBlobHead, userBlobSizes } from '../store/blob-index.js';
import { missingAttachments } from '../sync/message-attachments.js';
import type { ImportReportItem, PreparedItem } from './import-report.js';
import type { ImportCandidate, ImportProblem } from './import-source.js';

const SPOOL_WRITE = 64 * 1024;

/**
 * Phase one of an import: validates and normalises every candidate exactly
 * as a push would and spools the result to `spool` (one JSON line per item),
 * so the write transaction that follows does no parsing. Returns what was
 * rejected (with its position in the input) and the position of each
 * spooled item.
 */
export async function prepareCandidates(
  ctx: Pick<Context, 'db' | 'blobs'>,
  userId: string,
  source: AsyncIterable<ImportCandidate | ImportProblem>,
  spool: WriteStream,
): Promise<{ problems: { order: number; item: ImportReportItem }[]; orders: number[] }> {
  const problems: { order: number; item: ImportReportItem }[] = [];
  const orders: number[] = [];
  let order = 0;
  // Lines are written some 64 KiB at a time: a write per line cost a trip to the file system each.
  let pending = '';
  const flush = async () => {
    const text = pending;
    pending = '';
    if (text.length > 0 && !spool.write(text)) await once(spool, 'drain');
  };
  try {
    // Reading and normalising a large file takes a while: other requests get turns (slices.ts).
    const pause = createSlicer();
    for await (const part of source) {
      await pause();
      order++;
      if (part.kind === 'problem') {
        const status = part.skipped ? 'skipped' : 'rejected';
        problems.push({ order, item: { source: part.source, status, reason: part.reason } });
        continue;
      }
      let line: string;
      try {
        line = JSON.stringify(await prepare(ctx, userId, part));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        problems.push({
          order,
          item: { source: part.source, status: 'rejected', type: part.type, reason: error.message },
        });
        continue;
      }
      orders.push(order);
      pending += `${line}\n`;
      if (pending.length >= SPOOL_WRITE) await flush();
    }
    await flush();
  } finally {
    spool.end();
    await once(spool, 'close');
  }
  return { problems, orders };
}

async function prepare(
  ctx: Pick<Context, 'db' | 'blobs'>,
  userId: string,
  part: ImportCandidate,
): Promise<PreparedItem> {
  let blobInfo: BlobInfo | undefined;
  if (part.blob) {
    const size = (await userBlobSizes(ctx.db.kysely, userId, [part.blob.sha256])).get(part.blob.sha256);
    if (size === undefined) throw new AppError('not_found', `blob ${part.blob.sha256} is not stored`);
    blobInfo = { size, photoMeta: await readPhotoMeta(await readBlobHead(ctx.blobs, part.blob.sha256), size) };
  }
  if (part.type === 'messages') {
    const missing = await missingAttachments(ctx.db.kysely, userId, part.content);
    if (missing.length > 0) throw new AppError('not_found', `attachments not in the bundle: ${missing.join(', ')}`);
  }
  const normalized = normalizeContent(part.type, part.content, part.blob, blobInfo);
  return {
    source: part.source,
    type: part.type,
    ...(part.itemId ? { itemId: part.itemId } : {}),
    ...(part.collection ? { collection: part.collection } : {}),
    contentType: normalized.contentType,
    text: normalized.text,
    meta: normalized.meta,
    hash: normalized.hash,
    size: normalized.size,
    ...(part.blob ? { blob: part.blob } : {}),
    ...(part.encoding && part.encoding !== 'utf-8' ? { encoding: part.encoding } : {}),
  };
}
