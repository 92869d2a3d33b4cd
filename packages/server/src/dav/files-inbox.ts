import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { formatImportReport, type ImportReport, type ImportReportItem, importFile } from '../import/index.js';
import { listImports } from '../store/imports.js';
import { usableName } from './files-store.js';

export const REPORT_SUFFIX = '.import-report.txt';

/** A report file in the Inbox: the text of the latest import of a file of that name. */
export interface InboxReport {
  name: string;
  text: string;
  etag: string;
  createdAt: number;
}

type ImportRow = Awaited<ReturnType<typeof listImports>>[number];

/** The report as `holdfast import` prints it, from what the import recorded (counts, new collections, rejections). */
function reportText(row: ImportRow): string {
  let stored: { collectionsCreated?: ImportReport['collectionsCreated']; rejected?: ImportReportItem[] } = {};
  try {
    stored = JSON.parse(row.report) as typeof stored;
  } catch {
    // An unreadable stored report still gives the counts.
  }
  const report: ImportReport = {
    importId: row.id,
    source: row.source,
    format: row.format as ImportReport['format'],
    firstRevision: row.first_seq === null ? null : Number(row.first_seq),
    lastRevision: row.last_seq === null ? null : Number(row.last_seq),
    counts: {
      created: Number(row.created),
      updated: Number(row.updated),
      skipped: Number(row.skipped),
      rejected: Number(row.rejected),
    },
    collectionsCreated: stored.collectionsCreated ?? [],
    items: stored.rejected ?? [],
  };
  const lines = formatImportReport(report);
  lines.push(
    `At ${new Date(Number(row.created_at)).toISOString()}.${row.undone_by ? ` Undone by ${row.undone_by}.` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** One report per imported file name, from its latest import (the account's last 100 imports). */
export async function listInboxReports(ctx: Context, userId: string): Promise<InboxReport[]> {
  const seen = new Set<string>();
  const out: InboxReport[] = [];
  for (const row of await listImports(ctx.db, userId)) {
    const name = `${row.source}${REPORT_SUFFIX}`;
    if (seen.has(name) || !usableName(name)) continue;
    seen.add(name);
    const text = reportText(row);
    const etag = `"${createHash('sha256').update(text).digest('hex')}"`;
    out.push({ name, text, etag, createdAt: Number(row.created_at) });
  }
  return out;
}

/**
 * A file dropped into the Inbox: spooled (up to the blob limit) and imported
 * as `holdfast import` would, under its own name. Its report is then the
 * Inbox's `<name>.import-report.txt`; the file itself is not kept.
 */
export async function importDropped(
  ctx: Context,
  caller: Caller,
  name: string,
  body: Readable,
  declaredLength: number,
): Promise<string> {
  if (!usableName(name) || name.endsWith(REPORT_SUFFIX)) {
    throw new AppError('forbidden', 'Reports are written by the server; drop the file to import instead.');
  }
  const limit = ctx.config.maxBlobBytes;
  if (declaredLength > limit) throw new AppError('payload_too_large', `Imports are limited to ${limit} bytes.`);
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-inbox-'));
  try {
    const path = join(dir, 'upload');
    let size = 0;
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          if (size > limit) throw new AppError('payload_too_large', `Imports are limited to ${limit} bytes.`);
          yield chunk;
        }
      },
      createWriteStream(path),
    );
    const report = await importFile(ctx, { userId: caller.userId, deviceId: caller.deviceId }, path, { name }).catch(
      (error: unknown) => {
        // An unrecognised file is the client's media type, not bad content of a known one.
        if (error instanceof AppError && error.code === 'invalid_content' && /is not a vCard/.test(error.message)) {
          throw new AppError('unsupported_media_type', error.message);
        }
        throw error;
      },
    );
    return `${formatImportReport(report).join('\n')}\n`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
