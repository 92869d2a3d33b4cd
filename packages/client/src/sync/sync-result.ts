import type { PendingMassChange } from '../replica/store.js';

/** What a re-seed did, as reported to the server's incident ledger. */
export interface ReseedReport {
  reason: 'generation_changed' | 'cursor_ahead' | 'cursor_diverged' | 'summary_mismatch';
  previousGeneration: string | null;
  generation: string;
  /** The local recovery copy taken before anything else. */
  snapshotPath: string;
  collectionsRecreated: number;
  itemsUploaded: number;
  blobsUploaded: number;
  /** Deletes the server had lost, re-sent from this device's tombstones. */
  deletesResent: number;
  /** Items the server refused to take back (they stay in the replica). */
  itemsRejected: number;
}

/** The outcome of one `sync()`. */
export interface SyncResult {
  /** Local changes the server acknowledged (applied, or settled by a merge). */
  pushed: number;
  /** Revisions from the change feed applied to the replica. */
  pulled: number;
  /** Conflict records this sync added. */
  conflicts: number;
  /** Local changes the server refused in this sync (they stay in the outbox). */
  rejected: number;
  /** Set when this sync found that the server had lost data and refilled it. */
  reseeded: ReseedReport | null;
  /** Set when the pull stopped at the mass-change guard; nothing of it was applied. */
  massChange: PendingMassChange | null;
  /** How the replica compared with the server's per-collection summary after the sync. */
  summary: 'match' | 'mismatch' | 'skipped';
}

/** A result with nothing done yet. */
export function emptyResult(): SyncResult {
  return { pushed: 0, pulled: 0, conflicts: 0, rejected: 0, reseeded: null, massChange: null, summary: 'skipped' };
}
