import type { ChangesResponse, SummaryResponse } from '@holdfast/protocol';
import type { ClientEvents } from '../client-events.js';
import type { Emitter } from '../events.js';
import type { Transport } from '../http/transport.js';
import type { ReplicaStore } from '../replica/store.js';
import type { SyncResult } from './sync-result.js';

/** The mass-change guard's threshold: a sync may delete or blank at most max(minItems, ceil(ratio × live items)). */
export interface MassChangeLimit {
  ratio: number;
  minItems: number;
}

/** Tunables of the sync loop, all with defaults (see `createClient`). */
export interface SyncSettings {
  pushBatchSize: number;
  pullPageSize: number;
  /** Pull pages are checked by the mass-change guard in chunks of at most this many revisions. */
  pullChunkRevisions: number;
  massChange: MassChangeLimit;
  recoveryDirectory: string;
  blobConcurrency: number;
}

/** Everything one sync needs, passed down explicitly. */
export interface SyncContext {
  store: ReplicaStore;
  transport: Transport;
  events: Emitter<ClientEvents>;
  settings: SyncSettings;
  now: () => number;
  newId: () => string;
  signal: AbortSignal | undefined;
  /** Totals the running sync accumulates. */
  result: SyncResult;
  /** Live items on the server, when a restore fetched the summary first (for progress). */
  itemsTotal: number | null;
  /**
   * Requests sent ahead, alongside the lineage check, when there is nothing
   * to push: the first change-feed page from `cursor`, and the summary. Each
   * is used at most once, by the step that would otherwise send it.
   */
  prefetch?: Prefetch | undefined;
}

/** See `SyncContext.prefetch`. */
export interface Prefetch {
  cursor: string | null;
  changes: Promise<ChangesResponse> | null;
  summary: Promise<SummaryResponse> | null;
}
