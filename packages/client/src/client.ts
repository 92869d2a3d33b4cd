import { createHash } from 'node:crypto';
import { type BlobRef, type LoginResponse, orderedId } from '@holdfast/protocol';
import type { ClientEvents } from './client-events.js';
import { type ClientOptions, type ClientStatus, resolveSettings, type SyncOptions } from './client-options.js';
import { asHoldfastError, HoldfastError } from './errors.js';
import { Emitter, type Listener } from './events.js';
import * as api from './http/api.js';
import type { Transport } from './http/transport.js';
import * as edits from './replica/local-edits.js';
import type { CollectionRecord, ConflictRecord, ItemRecord, OutboxEntry, ReplicaStore } from './replica/store.js';
import { runSync } from './sync/run-sync.js';
import type { SyncContext, SyncSettings } from './sync/sync-context.js';
import { emptyResult, type SyncResult } from './sync/sync-result.js';
import { startWatch, type Watcher, type WatchOptions } from './watch.js';

/**
 * A Holdfast device: a durable local replica that the user edits offline,
 * kept in sync with a server. Every device holds a full copy, and a server
 * that lost data is refilled from the devices, never the other way round.
 * Local reads and edits are synchronous and touch only the replica; `sync()`
 * and `watch()` talk to the server.
 */
export class HoldfastClient {
  readonly #store: ReplicaStore;
  readonly #events = new Emitter<ClientEvents>();
  readonly #options: ClientOptions;
  readonly #settings: SyncSettings;
  readonly #transport: Transport;
  readonly #now: () => number;
  #running: Promise<SyncResult> | null = null;
  #online = true;
  /** Aborted when the device goes offline, which stops the sync in flight; replaced when it is back. */
  #connectivity = new AbortController();

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#settings = resolveSettings(options);
    const store = this.#store;
    this.#transport = {
      fetch: options.fetch ?? globalThis.fetch,
      get serverUrl() {
        const url = store.transaction((tx) => tx.getState().serverUrl) ?? options.serverUrl;
        if (!url) throw new HoldfastError('not_logged_in', 'No server URL: pass serverUrl to createClient and log in.');
        return url;
      },
      token: () => store.transaction((tx) => tx.getState().token),
      retry: { attempts: 4, baseMs: 250, maxMs: 10_000, ...options.retry },
    };
  }

  /** Subscribes to an event (see `ClientEvents`); returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  /** The replica store this client works on. */
  get store(): ReplicaStore {
    return this.#store;
  }

  /** Whether the client believes it can reach the network (see `setOnline`). */
  get online(): boolean {
    return this.#online;
  }

  /**
   * Tells the client whether the device is online (from the platform's
   * connectivity API). Going offline stops a sync in flight (it rejects with
   * `offline`; what it committed stays, the rest is redone later); while
   * offline, `sync()` fails fast with `offline` and a watch closes its stream
   * until the device is back online.
   */
  setOnline(online: boolean): void {
    if (online === this.#online) return;
    this.#online = online;
    if (online) this.#connectivity = new AbortController();
    else this.#connectivity.abort();
    this.#events.emit('status', { online });
  }

  /**
   * Logs this device in and stores the device token, user, device and server
   * URL in the replica. A replica belongs to one username: logging in as
   * another is refused (`forbidden`), so two accounts never mix. The same
   * username on a server that lost or replaced its database (a new user id,
   * a new lineage) is let in: the next sync re-seeds that server from here.
   */
  async login(
    username: string,
    password: string,
    deviceName: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<LoginResponse> {
    const serverUrl = this.#options.serverUrl ?? this.#store.transaction((tx) => tx.getState().serverUrl);
    if (!serverUrl) throw new HoldfastError('invalid_request', 'No server URL: pass serverUrl to createClient.');
    const owner = this.#store.transaction((tx) => tx.getState().username);
    if (owner !== null && owner !== username) {
      throw new HoldfastError(
        'forbidden',
        `This replica holds ${owner}'s data; open a separate replica for ${username}.`,
      );
    }
    const transport: Transport = { ...this.#transport, serverUrl, token: () => null };
    const response = await api.login(transport, { username, password, deviceName }, options.signal);
    this.#store.transaction((tx) => {
      const state = tx.getState();
      tx.setState({
        serverUrl,
        token: response.token,
        username,
        userId: response.userId,
        deviceId: response.deviceId,
        generation: state.generation ?? response.generation,
      });
    });
    return response;
  }

  /**
   * Revokes the device token on the server and forgets it locally. The
   * replica's data stays: it is this device's durable copy.
   */
  async logout(options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      await api.logout(this.#transport, options.signal);
    } finally {
      this.#store.transaction((tx) => tx.setState({ token: null }));
    }
  }

  /** The replica's account and sync status. */
  status(): ClientStatus {
    return this.#store.transaction((tx) => {
      const state = tx.getState();
      return {
        loggedIn: state.token !== null,
        serverUrl: state.serverUrl,
        userId: state.userId,
        deviceId: state.deviceId,
        generation: state.generation,
        lastSyncAt: state.lastSyncAt,
        pendingChanges: tx.countOutbox('pending'),
        rejectedChanges: tx.countOutbox('rejected'),
        pendingMassChange: state.pendingMassChange,
        reseeding: state.reseed !== null,
      };
    });
  }

  #edit<T>(fn: (env: edits.EditEnv) => T, items: string[] = [], collections: string[] = []): T {
    const env: edits.EditEnv = { now: this.#now, newId: orderedId };
    const result = fn(env);
    this.#events.emit('changed', { source: 'local', collections, items });
    return result;
  }

  /** Creates a collection locally; it reaches the server on the next sync. */
  createCollection(input: edits.NewCollection): CollectionRecord {
    const env: edits.EditEnv = { now: this.#now, newId: orderedId };
    const record = this.#store.transaction((tx) => edits.createCollection(tx, env, input));
    this.#events.emit('changed', { source: 'local', collections: [record.id], items: [] });
    return record;
  }

  /** Renames, re-describes or recolours a collection. */
  updateCollection(
    id: string,
    patch: { name?: string; description?: string; color?: string | null },
  ): CollectionRecord {
    return this.#edit((env) => this.#store.transaction((tx) => edits.updateCollection(tx, env, id, patch)), [], [id]);
  }

  /** Deletes a collection and its items locally; the server keeps them in its history. */
  deleteCollection(id: string): void {
    this.#edit((env) => this.#store.transaction((tx) => edits.deleteCollection(tx, env, id)), [], [id]);
  }

  /** A collection by id (deleted ones included), or null. */
  getCollection(id: string): CollectionRecord | null {
    return this.#store.transaction((tx) => tx.getCollection(id));
  }

  /** Live collections, in id order. */
  listCollections(options: { includeDeleted?: boolean } = {}): CollectionRecord[] {
    return this.#store.transaction((tx) => tx.listCollections().filter((c) => options.includeDeleted || !c.deleted));
  }

  /**
   * Creates an item in a collection. The edit and its outbox entry are
   * written in one transaction. Content is what the wire carries: vCard text
   * for contacts, iCalendar text for calendars and tasks, `{title, body}` for
   * notes, a message object, or `{filename?, caption?}` plus `blob` for photos.
   */
  createItem(collectionId: string, content: unknown, options: { id?: string; blob?: BlobRef | null } = {}): ItemRecord {
    const itemId = options.id ?? orderedId();
    if (this.getItem(itemId)) throw new HoldfastError('conflict', `Item ${itemId} already exists.`);
    return this.#putItem(collectionId, itemId, content, options.blob);
  }

  /** Replaces an item's content (and, for photos, its blob; omitted keeps the current one). */
  updateItem(itemId: string, content: unknown, options: { blob?: BlobRef | null } = {}): ItemRecord {
    const existing = this.getItem(itemId);
    if (!existing) throw new HoldfastError('not_found', `No item ${itemId}.`);
    return this.#putItem(existing.collectionId, itemId, content, options.blob);
  }

  #putItem(collectionId: string, itemId: string, content: unknown, blob: BlobRef | null | undefined): ItemRecord {
    return this.#edit(
      (env) =>
        this.#store.transaction((tx) =>
          edits.putItem(tx, env, { collectionId, itemId, content, ...(blob === undefined ? {} : { blob }) }),
        ),
      [itemId],
    );
  }

  /** Deletes an item locally (its last content stays in the replica) and queues the delete. */
  deleteItem(itemId: string): void {
    this.#edit((env) => this.#store.transaction((tx) => edits.deleteItem(tx, env, itemId)), [itemId]);
  }

  /** An item by id (deleted ones included, see `deleted`), or null. */
  getItem(itemId: string): ItemRecord | null {
    return this.#store.transaction((tx) => tx.getItem(itemId));
  }

  /** A collection's items in id order (live ones unless `includeDeleted`). */
  listItems(collectionId: string, options: { includeDeleted?: boolean } = {}): ItemRecord[] {
    return this.#store.transaction((tx) =>
      tx.listItems({ collectionId, ...(options.includeDeleted ? { includeDeleted: true } : {}) }),
    );
  }

  /** Stores bytes in the replica's blob cache and returns the reference to put on a photo or attachment. */
  async addBlob(bytes: Uint8Array, contentType: string): Promise<BlobRef> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await this.#store.blobs.write(sha256, bytes);
    return { sha256, contentType };
  }

  /** A blob's bytes from the local cache, or null if this device does not have it (yet). */
  readBlob(sha256: string): Promise<Uint8Array | null> {
    return this.#store.blobs.read(sha256);
  }

  /** Conflict records (values a merge did not keep), oldest first; optionally for one item. */
  conflicts(itemId?: string): ConflictRecord[] {
    return this.#store.transaction((tx) => tx.listConflicts(itemId));
  }

  /** Removes a conflict record once the user has dealt with it. */
  dismissConflict(id: string): void {
    this.#store.transaction((tx) => tx.removeConflict(id));
  }

  /** The outbox: local changes not yet acknowledged by the server, and refused ones with their reasons. */
  outbox(): OutboxEntry[] {
    return this.#store.transaction((tx) => tx.listOutbox());
  }

  /**
   * Sends a refused change again on the next sync, under a new
   * clientChangeId (the server remembers its answer to the old one).
   */
  retryRejected(seq: number): void {
    this.#store.transaction((tx) => {
      const entry = tx.listOutbox({ status: 'rejected' }).find((e) => e.seq === seq);
      if (!entry) throw new HoldfastError('not_found', `No refused change ${seq}.`);
      tx.updateOutbox({ ...entry, status: 'pending', error: null, attempts: 0, clientChangeId: orderedId() });
      if (entry.entity === 'item') {
        const item = tx.getItem(entry.itemId);
        if (item) tx.putItem({ ...item, dirty: true });
      }
    });
  }

  /** Gives up a refused change at the user's request (the only way an entry leaves the outbox unacknowledged). */
  discardRejected(seq: number): void {
    this.#store.transaction((tx) => {
      const entry = tx.listOutbox({ status: 'rejected' }).find((e) => e.seq === seq);
      if (!entry) throw new HoldfastError('not_found', `No refused change ${seq}.`);
      tx.removeOutbox(seq);
    });
  }

  /**
   * Pushes local changes, pulls the server's, merges conflicts, and checks
   * the server against the replica (re-seeding a server that lost data).
   * Single-flight: a call while a sync runs shares that sync's result (a call
   * with `confirmMassChange` waits and runs another). Never reports a failed
   * request as "no changes": failures reject with a `HoldfastError`.
   */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    return this.#singleFlight(options, null);
  }

  /**
   * Downloads the whole account into a new or reset replica (items and
   * blobs), emitting `progress` with totals from the server's summary. An
   * interrupted restore resumes where it stopped: the cursor and every blob
   * already stored are kept.
   */
  async restore(options: SyncOptions = {}): Promise<SyncResult> {
    const summary = await api.summary(this.#transport, options.signal);
    const total = summary.collections.reduce((sum, c) => sum + c.count, 0);
    return this.#singleFlight(options, total);
  }

  async #singleFlight(options: SyncOptions, itemsTotal: number | null): Promise<SyncResult> {
    if (this.#running) {
      if (!options.confirmMassChange) return this.#running;
      await this.#running.catch(() => {});
    }
    const run = this.#syncOnce(options, itemsTotal).finally(() => {
      if (this.#running === run) this.#running = null;
    });
    this.#running = run;
    return run;
  }

  async #syncOnce(options: SyncOptions, itemsTotal: number | null): Promise<SyncResult> {
    const offline = this.#connectivity.signal;
    const signal = options.signal ? AbortSignal.any([options.signal, offline]) : offline;
    const ctx: SyncContext = {
      store: this.#store,
      transport: this.#transport,
      events: this.#events,
      settings: this.#settings,
      now: this.#now,
      newId: orderedId,
      signal,
      result: emptyResult(),
      itemsTotal,
    };
    this.#events.emit('syncStart', { at: this.#now() });
    try {
      if (!this.#online) throw new HoldfastError('offline', 'The device is offline.');
      if (!this.status().loggedIn) throw new HoldfastError('not_logged_in', 'Log in before syncing.');
      await runSync(ctx, options.confirmMassChange ?? false);
    } catch (caught) {
      const wentOffline = offline.aborted && !options.signal?.aborted;
      const error = wentOffline ? new HoldfastError('offline', 'The device went offline during the sync.') : caught;
      const failure = error instanceof HoldfastError || !(error instanceof Error) ? asHoldfastError(error) : null;
      const reported =
        failure ?? new HoldfastError('internal', (error as Error).message, null, undefined, { cause: error });
      if (reported.code === 'unauthorized') this.#events.emit('unauthorized', { error: reported });
      this.#events.emit('syncError', { error: reported });
      throw failure ?? error;
    }
    const result = ctx.result;
    // Bookkeeping, not data: it need not hold up the sync for a disk flush.
    if (!result.massChange) {
      this.#store.transaction((tx) => tx.setState({ lastSyncAt: this.#now() }), { durable: false });
    }
    this.#events.emit('syncEnd', { result });
    if (result.massChange) {
      this.#events.emit('massChange', {
        direction: result.massChange.direction ?? 'pull',
        ...(result.massChange.collectionId ? { collectionId: result.massChange.collectionId } : {}),
        deletes: result.massChange.deletes,
        blanks: result.massChange.blanks,
        liveItems: result.massChange.liveItems,
        limit: result.massChange.limit,
        confirm: () => this.sync({ ...options, confirmMassChange: true }),
      });
    }
    return result;
  }

  /** Keeps the replica current from the server's live event stream (see `Watcher`). */
  watch(options: WatchOptions = {}): Watcher {
    const backoff = options.backoff ?? this.#options.backoff;
    const client = this;
    return startWatch(
      {
        sync: (o) => client.sync(o),
        get online() {
          return client.online;
        },
        events: this.#events,
        transport: this.#transport,
      },
      { ...options, ...(backoff ? { backoff } : {}) },
    );
  }

  /** Closes the replica store. */
  close(): void {
    this.#store.close();
  }
}

/** Creates a client over a replica store (see `ClientOptions`). */
export function createClient(options: ClientOptions): HoldfastClient {
  return new HoldfastClient(options);
}
