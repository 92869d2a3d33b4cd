import type { LedgerInput } from '../ledger/ledger.js';
import type { ImportReport, ImportStatus } from './import-report.js';

/**
 * The incident-ledger entry for an import: who, from what file, and per
 * collection how many items were created, updated, skipped and rejected.
 * Written in the import's own transaction, so an import is on the ledger
 * exactly when its items are in the account.
 */
export function importIncident(
  userId: string,
  deviceId: string | null,
  report: Omit<ImportReport, 'items'>,
  items: ImportReport['items'],
): LedgerInput {
  const byCollection = new Map<string, Record<ImportStatus, number>>();
  for (const item of items) {
    // A part rejected before it had a place (unreadable, wrong kind) counts under no collection.
    const key = item.collectionId ?? '';
    const counts = byCollection.get(key) ?? { created: 0, updated: 0, skipped: 0, rejected: 0 };
    counts[item.status]++;
    byCollection.set(key, counts);
  }
  const collections = [...byCollection]
    .filter(([id]) => id !== '')
    .map(([collectionId, counts]) => ({ collectionId, ...counts }));
  const { created, updated, skipped, rejected } = report.counts;
  return {
    kind: 'import',
    userId,
    summary: `Imported ${report.source} (${report.format}): ${created} created, ${updated} updated, ${skipped} skipped, ${rejected} rejected, in ${collections.length} collection(s).`,
    details: {
      importId: report.importId,
      source: report.source,
      format: report.format,
      deviceId,
      counts: report.counts,
      collections,
      collectionsCreated: report.collectionsCreated.map((c) => c.id),
      firstRevision: report.firstRevision,
      lastRevision: report.lastRevision,
    },
  };
}

/** What an undo did, for its ledger entry. */
export interface UndoImpact {
  importId: string;
  undoId: string;
  source: string;
  /** Per collection: items deleted (the import created them), restored (it updated them) and kept (changed since). */
  collections: Map<string, { deleted: number; restored: number; kept: number }>;
  firstRevision: number | null;
  lastRevision: number | null;
}

/** The incident-ledger entry for an import undo, written in the undo's own transaction. */
export function importUndoIncident(userId: string, deviceId: string | null, impact: UndoImpact): LedgerInput {
  const collections = [...impact.collections].map(([collectionId, counts]) => ({ collectionId, ...counts }));
  const total = (key: 'deleted' | 'restored' | 'kept') => collections.reduce((sum, c) => sum + c[key], 0);
  const counts = { deleted: total('deleted'), restored: total('restored'), kept: total('kept') };
  return {
    kind: 'import_undo',
    userId,
    summary: `Undid import ${impact.importId} (${impact.source}): ${counts.deleted} items deleted, ${counts.restored} restored, ${counts.kept} kept because they changed since, in ${collections.length} collection(s).`,
    details: {
      importId: impact.importId,
      undoId: impact.undoId,
      source: impact.source,
      deviceId,
      counts,
      collections,
      firstRevision: impact.firstRevision,
      lastRevision: impact.lastRevision,
    },
  };
}
