/**
 * `@holdfast/client`: the Holdfast device SDK. A device keeps a full, durable
 * replica of the account, edits it offline, and syncs with a server; when the
 * server has lost data, the device refills it instead of emptying itself.
 */

export { contentHash, itemDigest } from '@holdfast/protocol';
export type { BackoffOptions } from './backoff.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export { createClient, HoldfastClient } from './client.js';
export type { ClientEvents, MassChangeEvent, ProgressEvent, ReseedEvent } from './client-events.js';
export type { ClientOptions, ClientStatus, SyncOptions } from './client-options.js';
export type { ClientErrorCode, HoldfastErrorCode } from './errors.js';
export { HoldfastError } from './errors.js';
export type { Listener } from './events.js';
export type { BlobCache, BlobSource } from './replica/blob-cache.js';
export { createFileBlobCache, createMemoryBlobCache } from './replica/blob-cache.js';
export { prepareContent } from './replica/content-hash.js';
export { replicaSummaries } from './replica/digest.js';
export type { NewCollection } from './replica/local-edits.js';
export { createMemoryStore } from './replica/memory-store.js';
export type { SqliteStoreOptions } from './replica/sqlite-store.js';
export { openSqliteStore } from './replica/sqlite-store.js';
export type {
  CollectionFields,
  CollectionOutboxEntry,
  CollectionRecord,
  ConflictRecord,
  ItemOutboxEntry,
  ItemQuery,
  ItemRecord,
  ItemTally,
  NewOutboxEntry,
  OutboxEntry,
  PendingMassChange,
  ReplicaState,
  ReplicaStore,
  ReplicaTx,
  ReseedProgress,
  TransactionOptions,
} from './replica/store.js';
export { EMPTY_STATE } from './replica/store.js';
export { DEFAULT_MASS_CHANGE_LIMIT, isBlanking, massChangeLimit } from './sync/mass-change.js';
export type { MassChangeLimit } from './sync/sync-context.js';
export type { ReseedReport, SyncResult } from './sync/sync-result.js';
export type { Watcher, WatchOptions } from './watch.js';
