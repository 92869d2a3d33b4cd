import type { BlobRef, CollectionType, MergeConflict } from '@holdfast/protocol';
import type { BlobCache } from './blob-cache.js';

/**
 * A collection as the replica holds it. `revision` is the server revision of
 * the collection's last known put (null until the server has acknowledged it).
 */
export interface CollectionRecord {
  id: string;
  type: CollectionType;
  name: string;
  description: string;
  color: string | null;
  revision: number | null;
  deleted: boolean;
  /** Milliseconds since the epoch of the last local or remote change. */
  updatedAt: number;
}

/**
 * One item of the replica.
 *
 * `content` is exactly what the wire carries (vCard/iCalendar text, or the
 * JSON object for notes, messages and photos). `hash` is the content hash of
 * `content` as the server defines it (see `contentHashOf`).
 *
 * `baseRevision`/`baseHash` name the server revision this copy derives from:
 * the last revision the device has seen for it, or pushed itself. They are
 * what a push sends as `baseRevision` and what a three-way merge uses as
 * base. `baseHash` is null when the base is a tombstone or there is none.
 *
 * `dirty` is true while the item has changes in the outbox the server has
 * not acknowledged; a pull never overwrites a dirty item.
 */
export interface ItemRecord {
  id: string;
  collectionId: string;
  content: unknown;
  contentType: string | null;
  blob: BlobRef | null;
  meta: Record<string, unknown> | null;
  hash: string | null;
  baseRevision: number | null;
  baseHash: string | null;
  dirty: boolean;
  deleted: boolean;
  /** Milliseconds since the epoch of the last change: the local edit, or the server's revision time. */
  updatedAt: number;
}

/** Fields of a collection as the device sends them when it creates or edits one. */
export interface CollectionFields {
  type: CollectionType;
  name: string;
  description: string;
  color: string | null;
}

/**
 * One local change waiting for the server. Entries are pushed in `seq` order
 * and removed only when the server acknowledges them (applied, or a conflict
 * the device resolved); a rejected entry stays, with the reason, until the
 * user retries or discards it.
 *
 * `attempts` counts how often the entry was sent. An entry never sent may be
 * replaced by a newer edit of the same item (coalescing); one that was sent
 * keeps its `clientChangeId` and payload forever, so a retry is idempotent.
 */
export type OutboxEntry = ItemOutboxEntry | CollectionOutboxEntry;

interface OutboxEntryBase {
  seq: number;
  clientChangeId: string;
  collectionId: string;
  attempts: number;
  status: 'pending' | 'rejected';
  error: { code: string; message: string } | null;
  createdAt: number;
}

/** A put or delete of one item. */
export interface ItemOutboxEntry extends OutboxEntryBase {
  entity: 'item';
  op: 'put' | 'delete';
  itemId: string;
  content: unknown;
  blob: BlobRef | null;
}

/** Creating, editing or deleting a collection. */
export interface CollectionOutboxEntry extends OutboxEntryBase {
  entity: 'collection';
  op: 'create' | 'update' | 'delete';
  itemId: null;
  fields: CollectionFields;
}

/** An outbox entry before the store numbers it. */
export type NewOutboxEntry = Omit<ItemOutboxEntry, 'seq'> | Omit<CollectionOutboxEntry, 'seq'>;

/**
 * A value a merge did not keep, stored so the user can see and restore it.
 * - `fields`: a field-level merge (contacts, events, tasks); `fields` lists
 *   every value that lost.
 * - `last_writer_wins`: notes, messages and photos; `losingContent` is the
 *   whole copy that lost.
 * - `edit_over_delete`: one side deleted the item while the other edited it;
 *   the edit won and the item was restored.
 * - `merge_failed`: the two copies could not be merged field by field (the
 *   text could not be read); the later write won whole and the other is kept.
 */
export interface ConflictRecord {
  id: string;
  itemId: string;
  collectionId: string;
  kind: 'fields' | 'last_writer_wins' | 'edit_over_delete' | 'merge_failed';
  winner: 'local' | 'remote';
  /** The whole losing copy, where one side lost entirely (null if a delete lost). */
  losingContent: unknown;
  fields: MergeConflict[];
  /** The server revision the local copy was merged against. */
  remoteRevision: number | null;
  createdAt: number;
}

/** What a device is doing to refill a server that lost data; persisted so a crash resumes it. */
export interface ReseedProgress {
  reason: 'generation_changed' | 'cursor_ahead' | 'cursor_diverged' | 'summary_mismatch';
  previousGeneration: string | null;
  startedAt: number;
  /** The local recovery copy taken before anything else, once written. */
  snapshotPath: string | null;
  /**
   * Items whose server revision was above the backup watermark when the loss
   * was found: acknowledged, but maybe never on a backup target, so they are
   * re-uploaded whatever the timestamps say. Absent in progress saved by older versions.
   */
  unsafeItems?: string[];
}

/**
 * A sync that stopped because it would delete or blank too much: of the
 * replica (a pull, `direction` absent or 'pull'), or of a collection on the
 * server (a push the server refused, 'push', naming the collection).
 */
export interface PendingMassChange {
  deletes: number;
  blanks: number;
  liveItems: number;
  limit: number;
  detectedAt: number;
  direction?: 'pull' | 'push';
  collectionId?: string;
}

/** The replica's own settings and sync position. */
export interface ReplicaState {
  serverUrl: string | null;
  token: string | null;
  /** The account this replica belongs to; a login as anyone else is refused. */
  username: string | null;
  userId: string | null;
  deviceId: string | null;
  /** The opaque change-feed cursor; null means "from the beginning". */
  cursor: string | null;
  /** The server lineage the cursor and base revisions belong to. */
  generation: string | null;
  lastSyncAt: number | null;
  pendingMassChange: PendingMassChange | null;
  reseed: ReseedProgress | null;
  /**
   * The highest revision the server last said is on its backup targets
   * (`backupWatermark` of the change feed), or null when it has none or never said.
   */
  backupWatermark: number | null;
}

/** The state of a replica nobody has logged into. */
export const EMPTY_STATE: Readonly<ReplicaState> = Object.freeze({
  serverUrl: null,
  token: null,
  username: null,
  userId: null,
  deviceId: null,
  cursor: null,
  generation: null,
  lastSyncAt: null,
  pendingMassChange: null,
  reseed: null,
  backupWatermark: null,
});

/** One collection's tallies (see `ReplicaTx.itemTallies`). */
export interface ItemTally {
  /** Items not deleted. */
  live: number;
  /** Items with a base hash (the server acknowledged a copy of them). */
  acked: number;
  /** XOR over those of `itemDigest(id, baseHash)`, 32 hex digits. */
  digest: string;
}

/** Which items `listItems`/`countItems` return, in id order. */
export interface ItemQuery {
  collectionId?: string;
  includeDeleted?: boolean;
  /** Only items whose id sorts after this one (for paging). */
  afterId?: string;
  limit?: number;
}

/**
 * Reads and writes inside one transaction. Every read sees the writes made
 * earlier in the same transaction. Records passed in and returned are copies:
 * changing them changes nothing until written back.
 */
export interface ReplicaTx {
  getState(): ReplicaState;
  setState(patch: Partial<ReplicaState>): void;

  getCollection(id: string): CollectionRecord | null;
  /** All collections, deleted ones included, in id order. */
  listCollections(): CollectionRecord[];
  putCollection(collection: CollectionRecord): void;

  getItem(id: string): ItemRecord | null;
  listItems(query?: ItemQuery): ItemRecord[];
  countItems(query?: Omit<ItemQuery, 'afterId' | 'limit'>): number;
  putItem(item: ItemRecord): void;
  /**
   * Optional. Per collection that has items: how many are live (not
   * deleted), and the count and digest of those with a base hash, as
   * `replicaSummaries` defines them. A store that keeps these up to date as
   * items are written offers them so a sync need not read every item; without
   * it they are computed from the items.
   */
  itemTallies?(): Map<string, ItemTally>;
  /** Forgets every item's base revision (kept: base hashes): used when the server's lineage changes. */
  clearBaseRevisions(): void;

  /** Appends an entry and returns it with its `seq` (strictly increasing, never reused). */
  appendOutbox(entry: NewOutboxEntry): OutboxEntry;
  /** Rewrites an existing entry (same `seq`). */
  updateOutbox(entry: OutboxEntry): void;
  removeOutbox(seq: number): void;
  /** Entries in `seq` order; `itemId`/`collectionId` narrow to one item or collection. */
  listOutbox(query?: {
    afterSeq?: number;
    limit?: number;
    itemId?: string;
    collectionId?: string;
    status?: 'pending' | 'rejected';
  }): OutboxEntry[];
  countOutbox(status?: 'pending' | 'rejected'): number;

  addConflict(conflict: ConflictRecord): void;
  /** Conflict records, oldest first. */
  listConflicts(itemId?: string): ConflictRecord[];
  removeConflict(id: string): void;
}

/** Options of one `ReplicaStore.transaction`. */
export interface TransactionOptions {
  /** False: the commit need not be durable when the call returns (default true). */
  durable?: boolean;
}

/**
 * Where a device keeps its replica. Implementations: `openSqliteStore`
 * (durable, for real devices) and `createMemoryStore` (tests and ephemeral
 * use). Both pass one contract suite (`store-contract.ts`).
 *
 * Contract:
 * - `transaction(fn)` runs `fn` atomically: all of its writes commit
 *   together, or none do if it throws. `fn` must be synchronous (no await
 *   inside; returning a promise is an error), which is what makes it
 *   isolated: no other transaction runs in between.
 * - Transactions do not nest; calling `transaction` inside one throws.
 * - Once `transaction` returns, its writes are durable (the SQLite backend
 *   commits with synchronous=FULL), so a crash right after loses nothing.
 *   `{ durable: false }` relaxes that for bookkeeping a crash may lose (such
 *   as the time of the last sync): such a commit is kept in order with the
 *   others and becomes durable with the next durable one.
 * - `blobs` is the content-addressed blob cache that goes with the replica.
 */
export interface ReplicaStore {
  readonly kind: 'sqlite' | 'memory';
  readonly blobs: BlobCache;
  /** Where recovery snapshots go unless the client is told otherwise (null: no natural place). */
  readonly recoveryDirectory: string | null;
  transaction<T>(fn: (tx: ReplicaTx) => T, options?: TransactionOptions): T;
  /**
   * Writes a consistent copy of the whole replica into `directory` and
   * returns the file's path (SQLite: a database file; memory: JSON).
   */
  snapshot(directory: string): Promise<string>;
  close(): void;
}
