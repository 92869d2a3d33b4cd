import type { HoldfastError } from './errors.js';
import type { ConflictRecord, OutboxEntry } from './replica/store.js';
import type { SyncResult } from './sync/sync-result.js';

/**
 * A sync stopped before changes that would delete or blank too much: a pull
 * of the replica, or (direction 'push') this device's deletions, which the
 * server refused unconfirmed.
 */
export interface MassChangeEvent {
  direction: 'pull' | 'push';
  /** For a push: the server collection the deletions were for. */
  collectionId?: string;
  /** Live local items the pending changes would delete. */
  deletes: number;
  /** Live local items they would blank (a contact losing every phone, email and address; an emptied note…). */
  blanks: number;
  /** Live items in the replica when the sync started. */
  liveItems: number;
  /** The most deletions plus blankings one sync may apply without confirmation. */
  limit: number;
  /** Applies the changes after all: runs `sync({ confirmMassChange: true })`. */
  confirm(): Promise<SyncResult>;
}

/** Progress of a download (a fresh device's restore, or any pull). */
export interface ProgressEvent {
  phase: 'items' | 'blobs';
  /** Live items in the replica now. */
  items: number;
  /** Live items on the server, from `GET /v1/summary`, when known. */
  itemsTotal: number | null;
  /** Revisions applied so far in this pull. */
  revisions: number;
  /** Bytes received so far in this pull (item content and blobs). */
  bytes: number;
  /** Blobs downloaded so far in this pull. */
  blobs: number;
}

/** One step of refilling a server that lost data, in order. */
export type ReseedEvent =
  | {
      phase: 'started';
      reason: 'generation_changed' | 'cursor_ahead' | 'cursor_diverged' | 'summary_mismatch';
      previousGeneration: string | null;
    }
  | { phase: 'snapshot'; path: string }
  | { phase: 'inventory'; items: number; missing: number; different: number; missingBlobs: number }
  | { phase: 'blobs'; uploaded: number }
  | { phase: 'upload'; uploaded: number; rejected: number }
  | {
      phase: 'complete';
      generation: string;
      collectionsRecreated: number;
      itemsUploaded: number;
      blobsUploaded: number;
    };

/** Every event a client emits, with its payload. */
export interface ClientEvents {
  /** A sync began. */
  syncStart: { at: number };
  /** A sync finished (possibly stopped by a mass change, see `result.massChange`). */
  syncEnd: { result: SyncResult };
  /** A sync failed; nothing half-applied stays behind. */
  syncError: { error: HoldfastError };
  /** The replica changed: `source` says whether by a local edit, a pull, or a merge. */
  changed: { source: 'local' | 'pull' | 'merge'; collections: string[]; items: string[] };
  /** A merge kept a value that lost; the record is in the replica. */
  conflict: { conflict: ConflictRecord };
  /** The server refused a change; the entry stays in the outbox with the reason. */
  rejected: { entry: OutboxEntry };
  /** A pull was stopped: see `MassChangeEvent`. */
  massChange: MassChangeEvent;
  /** The server refused the device token; sync stops until the user logs in again. */
  unauthorized: { error: HoldfastError };
  /** A step of a re-seed. */
  reseed: ReseedEvent;
  /** After a re-seed the replica still disagrees with the server's summary. */
  divergence: { collections: string[] };
  /** Download progress. */
  progress: ProgressEvent;
  /** A blob the server lists could not be downloaded (the server does not have it). */
  blobMissing: { sha256: string; itemId: string };
  /** `setOnline` changed the client's idea of connectivity. */
  status: { online: boolean };
}
