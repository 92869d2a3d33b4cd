import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackoffOptions } from './backoff.js';
import type { PendingMassChange, ReplicaStore } from './replica/store.js';
import { DEFAULT_MASS_CHANGE_LIMIT } from './sync/mass-change.js';
import type { MassChangeLimit, SyncSettings } from './sync/sync-context.js';

/** Options for `createClient`. Only `store` is required. */
export interface ClientOptions {
  /** Where the replica lives (`openSqliteStore` on devices, `createMemoryStore` in tests). */
  store: ReplicaStore;
  /** The server, e.g. `https://holdfast.example.org`. Needed for the first login; then kept in the replica. */
  serverUrl?: string;
  /** The fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** Mass-change guard threshold (default: 10 % of live items or 50 items, whichever is larger). */
  massChange?: Partial<MassChangeLimit>;
  /** Changes per push request (default 200, at most 1000). */
  pushBatchSize?: number;
  /** Revisions per change-feed page (default 500). */
  pullPageSize?: number;
  /** Revisions the mass-change guard checks (and the pull applies) at a time (default 1000). */
  pullChunkRevisions?: number;
  /** Where recovery copies of the replica go before a re-seed (default: beside the replica file, or the temp dir). */
  recoveryDirectory?: string;
  /** Parallel blob transfers (default 4). */
  blobConcurrency?: number;
  /** Retries of one request after network errors, 5xx and rate limiting (default 4 attempts, 250 ms to 10 s). */
  retry?: { attempts?: number; baseMs?: number; maxMs?: number };
  /** Delays between watch reconnects (default 500 ms doubling to 60 s, full jitter). */
  backoff?: BackoffOptions;
  /** Clock in ms since the epoch (default `Date.now`). */
  now?: () => number;
}

/** Options for one `sync()`. */
export interface SyncOptions {
  /** Aborts the sync; whatever was committed stays consistent, the rest is redone next time. */
  signal?: AbortSignal;
  /** Apply a pull even if it deletes or blanks more than the mass-change limit. */
  confirmMassChange?: boolean;
}

/** The replica's account and sync status. */
export interface ClientStatus {
  loggedIn: boolean;
  serverUrl: string | null;
  userId: string | null;
  deviceId: string | null;
  generation: string | null;
  lastSyncAt: number | null;
  /** Changes waiting for the server. */
  pendingChanges: number;
  /** Changes the server refused (kept with the reason). */
  rejectedChanges: number;
  pendingMassChange: PendingMassChange | null;
  /** True while a re-seed is under way (it resumes on the next sync after a crash). */
  reseeding: boolean;
}

/** The sync settings a client runs with: its options over the defaults. */
export function resolveSettings(options: ClientOptions): SyncSettings {
  return {
    pushBatchSize: options.pushBatchSize ?? 200,
    pullPageSize: options.pullPageSize ?? 500,
    pullChunkRevisions: options.pullChunkRevisions ?? 1000,
    massChange: { ...DEFAULT_MASS_CHANGE_LIMIT, ...options.massChange },
    recoveryDirectory:
      options.recoveryDirectory ?? options.store.recoveryDirectory ?? join(tmpdir(), 'holdfast-recovery'),
    blobConcurrency: options.blobConcurrency ?? 4,
  };
}
