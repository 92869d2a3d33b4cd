import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import type { ImportReport, ImportReportItem } from '../import/import-report.js';
import { listImports } from '../store/imports.js';
import { usableName } from './files-store.js';
import { withUpload } from './files-upload.js';

export const REPORT_SUFFIX = '.import-report.txt';

/**
 * A file in the Inbox: a dropped file (its bytes are a blob of the user's)
 * or the report of its latest import, whose text is made from the imports table.
 */
export interface InboxEntry {
  name: string;
  size: number;
  etag: string;
  contentType: string;
  createdAt: number;
  /** The report's text; absent for a dropped file. */
  text?: string;
  /** The dropped file's blob; absent for a report. */
  sha256?: string;
}

const DROPPED_TYPES: Record<string, string> = {
  vcf: 'text/vcard',
  vcard: 'text/vcard',
  ics: 'text/calendar',
  ical: 'text/calendar',
  zip: 'application/zip',
};

type ImportRow = Awaited<ReturnType<typeof listImports>>[number];

/** The report as `holdfast import` prints it, from what the import recorded (counts, new collections, rejections). */
interface StoredReport {
  collectionsCreated?: ImportReport['collectionsCreated'];
  rejected?: ImportReportItem[];
  original?: { sha256: string; size: number };
}

function storedReport(row: ImportRow): StoredReport {
  try {
    return JSON.parse(row.report) as StoredReport;
  } catch {
    // An unreadable stored report still gives the counts.
    return {};
  }
}

// The import code (its format detection and the bundle readers behind it) loads with the first Inbox that has
// a report to show or the first file dropped, not when the server starts.
const importReport = () => import('../import/import-report.js');

async function reportText(row: ImportRow, stored: StoredReport): Promise<string> {
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
  const lines = (await importReport()).formatImportReport(report);
  lines.push(
    `At ${new Date(Number(row.created_at)).toISOString()}.${row.undone_by ? ` Undone by ${row.undone_by}.` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The Inbox: for each file name imported (the account's last 100 imports,
 * whatever door they came through), the latest dropped file of that name when
 * it was kept, and the report of its latest import beside it.
 */
export async function listInbox(ctx: Context, userId: string): Promise<InboxEntry[]> {
  const seen = new Set<string>();
  const out: InboxEntry[] = [];
  for (const row of await listImports(ctx.db, userId)) {
    const reportName = `${row.source}${REPORT_SUFFIX}`;
    if (seen.has(row.source) || !usableName(reportName)) continue;
    seen.add(row.source);
    const createdAt = Number(row.created_at);
    const stored = storedReport(row);
    if (stored.original) {
      const extension = /\.([A-Za-z0-9]{1,10})$/.exec(row.source)?.[1]?.toLowerCase() ?? '';
      out.push({
        name: row.source,
        size: stored.original.size,
        etag: `"${stored.original.sha256}"`,
        contentType: DROPPED_TYPES[extension] ?? 'application/octet-stream',
        createdAt,
        sha256: stored.original.sha256,
      });
    }
    const text = await reportText(row, stored);
    out.push({
      name: reportName,
      size: Buffer.byteLength(text),
      etag: `"${createHash('sha256').update(text).digest('hex')}"`,
      contentType: 'text/plain; charset=utf-8',
      createdAt,
      text,
    });
  }
  return out;
}

/**
 * A file dropped into the Inbox: kept as a blob of the user's, then imported
 * as `holdfast import` would, under its own name. The Inbox lists it with the
 * report of its import beside it; the answer is that report.
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
  const readable = async (path: string) => {
    const { detectFormat, isLoneFile } = await import('../import/import-source.js');
    if (!isLoneFile(name) && !(await detectFormat(path, name))) {
      throw new AppError(
        'unsupported_media_type',
        `${name} is not a file Holdfast imports: a vCard (.vcf), iCalendar (.ics), Holdfast export (.zip), SMS Backup & Restore (.xml), Markdown note (.md), photo, or a .zip of notes, photos or a Google Takeout.`,
      );
    }
  };
  return withUpload(
    ctx,
    caller,
    body,
    declaredLength,
    false,
    async (original, path) => {
      const owner = { userId: caller.userId, deviceId: caller.deviceId, receipt: caller.receipt };
      // The import code loads with the first dropped file, not when the server starts.
      const { importFile } = await import('../import/import.js');
      const report = await importFile(ctx, owner, path, { name, original });
      return `${(await importReport()).formatImportReport(report).join('\n')}\n`;
    },
    readable,
  );
}
