import type { BlobRef, CollectionType } from '@holdfast/protocol';
import type { CreatedCollection } from './import-destinations.js';
import type { CollectionSpec, ImportFormat } from './import-source.js';

export type ImportStatus = 'created' | 'updated' | 'skipped' | 'rejected';

/** What happened to one item (or one unreadable part) of the input. */
export interface ImportReportItem {
  /** Where in the input: `card 3 (line 40)`, `event at line 12 (UID …)`, `contacts/Friends.vcf: item …`. */
  source: string;
  status: ImportStatus;
  type?: CollectionType;
  itemId?: string;
  collectionId?: string;
  uid?: string | null;
  /** Why it was rejected or skipped, or what the update replaced. */
  reason?: string;
  /** The charset its bytes were read in, when not plain UTF-8. */
  encoding?: string;
}

export interface ImportReport {
  /** Names the import in the `imports` table, on its revisions (`import:<id>`) and for undo. */
  importId: string;
  source: string;
  format: ImportFormat;
  /** The revisions written, a contiguous range (null when nothing was written). */
  firstRevision: number | null;
  lastRevision: number | null;
  counts: Record<ImportStatus, number>;
  collectionsCreated: CreatedCollection[];
  items: ImportReportItem[];
}

/** An item ready to be written: validated and normalised, with what the input said about where it goes. */
export interface PreparedItem {
  source: string;
  type: CollectionType;
  itemId?: string;
  collection?: CollectionSpec;
  contentType: string;
  text: string | null;
  meta: Record<string, unknown> | null;
  hash: string;
  size: number;
  blob?: BlobRef;
  encoding?: string;
}

export function countStatuses(items: ImportReportItem[]): Record<ImportStatus, number> {
  const counts: Record<ImportStatus, number> = { created: 0, updated: 0, skipped: 0, rejected: 0 };
  for (const item of items) counts[item.status]++;
  return counts;
}

/** The report as lines for a terminal: counts, then every item that was not simply created. */
export function formatImportReport(report: ImportReport): string[] {
  const { created, updated, skipped, rejected } = report.counts;
  const lines = [
    `Import ${report.importId} (${report.format}, ${report.source}): ${created} created, ${updated} updated, ${skipped} skipped, ${rejected} rejected.`,
  ];
  if (report.firstRevision !== null) lines.push(`Revisions ${report.firstRevision}-${report.lastRevision}.`);
  for (const c of report.collectionsCreated) lines.push(`New ${c.type} collection "${c.name}" (${c.id}).`);
  for (const item of report.items) {
    if (item.status === 'created') continue;
    const what = item.itemId ? ` → ${item.itemId}` : '';
    lines.push(`  ${item.status.padEnd(8)} ${item.source}${what}${item.reason ? `: ${item.reason}` : ''}`);
  }
  return lines;
}
