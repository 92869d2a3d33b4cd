import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, link, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AppError } from '@holdfast/protocol';
import { readJsonLines } from '../bundle/json-lines.js';
import type { Context } from '../context.js';
import { appendLedgerEntry } from '../ledger/ledger.js';
import { recordImport } from '../store/imports.js';
import { readUsage } from '../store/usage.js';
import { checkWritten } from '../sync/quota.js';
import { noteAccountsChanged, type WriteReceipt } from '../sync/write-receipt.js';
import type { Append } from '../sync/write-transaction.js';
import { writeTransaction } from '../sync/write-transaction.js';
import { archiveCandidates } from './archive-import.js';
import { bundleCandidates } from './bundle-import.js';
import { importIncident } from './import-ledger.js';
import { prepareCandidates } from './import-prepare.js';
import { countStatuses, type ImportReport, type ImportReportItem, type PreparedItem } from './import-report.js';
import { calendarCandidates, detectFormat, type ImportFormat, isLoneFile, vcardCandidates } from './import-source.js';
import { writePrepared } from './import-write.js';
import { hasMarkdown, isMarkdownZip, markdownCandidates } from './markdown-notes.js';
import { smsBackupCandidates } from './sms-backup.js';

export interface ImportOptions {
  /** Put every item into this collection (vCard and iCalendar files only). */
  collectionId?: string;
  /** The file's name as the user knows it (an upload's temporary path says nothing). */
  name?: string;
  /** The imported file itself, kept as a blob of the user's (a WebDAV Inbox drop), recorded with the import. */
  original?: { sha256: string; size: number };
}

export interface ImportOwner {
  userId: string;
  /** The device that uploaded it; null for the command line. */
  deviceId: string | null;
  /** The uploading request's write receipt (sync/write-receipt.ts); none for the command line. */
  receipt?: WriteReceipt | undefined;
}

/**
 * Imports a .vcf, .ics or Holdfast export bundle into a user's account.
 *
 * Two phases. First every item is read (streamed; a calendar file is split by
 * UID in memory, bounded by MAX_CALENDAR_FILE_BYTES), validated and
 * normalised exactly as a push would, outside any transaction, into a spool
 * file. Then one write transaction matches and writes them all: an import is
 * one contiguous range of revisions, recorded in `imports`, all or nothing,
 * and can be undone as a unit. Importing the same file again writes nothing.
 * A rejected item is reported with its reason and nothing of it is stored.
 */
export async function importFile(
  ctx: Context,
  owner: ImportOwner,
  path: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const name = options.name ?? basename(path);
  // A lone Markdown note or photo is read as a folder holding just it, by the same code as a folder of them.
  const lone = isLoneFile(name) && !(await stat(path)).isDirectory() ? await folderOfOne(path, name) : null;
  try {
    return await importFrom(ctx, owner, lone ?? path, name, options);
  } finally {
    if (lone) await rm(lone, { recursive: true, force: true });
  }
}

/** A temporary folder holding the file at `path` under `name` (linked, not copied, where the filesystem allows). */
async function folderOfOne(path: string, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-import-file-'));
  const inside = join(dir, basename(name));
  await link(path, inside).catch(() => copyFile(path, inside));
  return dir;
}

async function importFrom(
  ctx: Context,
  owner: ImportOwner,
  path: string,
  name: string,
  options: ImportOptions,
): Promise<ImportReport> {
  const format = await formatOf(ctx, path, name);
  if (!format) {
    throw new AppError(
      'invalid_content',
      `${name} is not a file Holdfast imports: a vCard (.vcf), iCalendar (.ics), Holdfast export (.zip), SMS Backup & Restore (.xml), Markdown note (.md, or a folder or .zip of them), photo, or a folder or .zip of files from another service (Google Takeout)`,
    );
  }
  if (format === 'holdfast-export' && options.collectionId !== undefined) {
    throw new AppError(
      'invalid_request',
      'A Holdfast export brings back its own collections; import it without a collection.',
    );
  }
  const importId = randomUUID();
  const spoolDir = await mkdtemp(join(tmpdir(), 'holdfast-import-'));
  try {
    const spoolPath = join(spoolDir, 'items.jsonl');
    const spool = createWriteStream(spoolPath);
    const phase1 = await prepareCandidates(ctx, owner.userId, candidates(ctx, owner, format, path), spool);
    const now = ctx.now();
    let first: number | null = null;
    let last: number | null = null;
    const written = await writeTransaction(ctx, owner, async (trx, append) => {
      const before = await readUsage(trx, owner.userId);
      const tracked: Append = async (revisions) => {
        const seqs = await append(revisions);
        if (seqs.length > 0) {
          first ??= seqs[0] as number;
          last = seqs[seqs.length - 1] as number;
        }
        return seqs;
      };
      const result = await writePrepared(
        trx,
        tracked,
        owner,
        importId,
        now,
        readSpool(spoolPath),
        options.collectionId,
      );
      // Past a quota, the whole import is refused and rolled back.
      await checkWritten(ctx, trx, owner.userId, before);
      const items = mergeInOrder(phase1.problems, result.items, phase1.orders);
      const counts = countStatuses(items);
      noteAccountsChanged(owner.receipt);
      await recordImport(trx, {
        user_id: owner.userId,
        id: importId,
        source: name,
        format,
        device_id: owner.deviceId,
        first_seq: first,
        last_seq: last,
        ...counts,
        report: JSON.stringify({
          collectionsCreated: result.created,
          rejected: items.filter((i) => i.status === 'rejected').slice(0, 1000),
          ...(options.original ? { original: options.original } : {}),
        }),
        undone_by: null,
        created_at: now,
      });
      const summary = { importId, source: name, format, firstRevision: first, lastRevision: last, counts };
      await appendLedgerEntry(
        trx,
        importIncident(owner.userId, owner.deviceId, { ...summary, collectionsCreated: result.created }, items),
        now,
      );
      return { items, counts, created: result.created };
    });
    return {
      importId,
      source: name,
      format,
      firstRevision: first,
      lastRevision: last,
      counts: written.counts,
      collectionsCreated: written.created,
      items: written.items,
    };
  } finally {
    await rm(spoolDir, { recursive: true, force: true });
  }
}

function archiveLimits(ctx: Context) {
  return {
    maxManifestBytes: ctx.config.maxImportManifestBytes,
    maxEntryBytes: ctx.config.maxImportEntryBytes,
    maxArchiveBytes: ctx.config.maxImportArchiveBytes,
  };
}

/**
 * A folder, or a ZIP without a manifest: Markdown notes when it holds Markdown, else files from another service
 * (photos, Takeout); otherwise what detectFormat reads.
 */
async function formatOf(ctx: Context, path: string, name: string): Promise<ImportFormat | null> {
  if ((await stat(path)).isDirectory()) return (await hasMarkdown(path)) ? 'markdown-notes' : 'archive';
  const format = await detectFormat(path, name);
  if (format === 'archive' && (await isMarkdownZip(path, archiveLimits(ctx)))) return 'markdown-notes';
  return format;
}

function candidates(ctx: Context, owner: ImportOwner, format: ImportFormat, path: string) {
  if (format === 'vcard') return vcardCandidates(path);
  if (format === 'icalendar') return calendarCandidates(path);
  if (format === 'markdown-notes') return markdownCandidates(path, archiveLimits(ctx));
  const sink = { ...ctx, userId: owner.userId, maxBlobBytes: ctx.config.maxBlobBytes };
  if (format === 'sms-backup') return smsBackupCandidates(sink, path);
  if (format === 'archive') return archiveCandidates(sink, path, archiveLimits(ctx));
  return bundleCandidates(sink, path, archiveLimits(ctx));
}

async function* readSpool(path: string): AsyncGenerator<PreparedItem> {
  for await (const line of readJsonLines(path)) yield JSON.parse(line) as PreparedItem;
}

/** Problems (found reading) and written items back in the order the input had them. */
function mergeInOrder(
  problems: { order: number; item: ImportReportItem }[],
  written: ImportReportItem[],
  writtenOrders: number[],
): ImportReportItem[] {
  const out: ImportReportItem[] = [];
  let p = 0;
  written.forEach((item, i) => {
    const order = writtenOrders[i] ?? Number.POSITIVE_INFINITY;
    while (p < problems.length && (problems[p]?.order ?? 0) < order)
      out.push((problems[p++] as { item: ImportReportItem }).item);
    out.push(item);
  });
  while (p < problems.length) out.push((problems[p++] as { item: ImportReportItem }).item);
  return out;
}
