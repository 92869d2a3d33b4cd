import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BlobCache, createMemoryBlobCache } from './blob-cache.js';
import {
  type CollectionRecord,
  type ConflictRecord,
  EMPTY_STATE,
  type ItemQuery,
  type ItemRecord,
  type OutboxEntry,
  type ReplicaState,
  type ReplicaStore,
  type ReplicaTx,
} from './store.js';
import { outboxMatches, runSynchronously } from './transaction-rules.js';

interface Data {
  state: ReplicaState;
  collections: Map<string, CollectionRecord>;
  items: Map<string, ItemRecord>;
  outbox: Map<number, OutboxEntry>;
  conflicts: Map<string, ConflictRecord>;
  nextSeq: number;
}

const copy = <T>(value: T): T => structuredClone(value);

/**
 * A replica kept in memory, for tests and throwaway devices. Transactions are
 * atomic through an undo log: every write records how to take itself back,
 * and a transaction that throws replays the log backwards. Records are copied
 * in and out, so callers never alias stored state.
 */
export function createMemoryStore(options: { blobs?: BlobCache } = {}): ReplicaStore {
  const data: Data = {
    state: { ...EMPTY_STATE },
    collections: new Map(),
    items: new Map(),
    outbox: new Map(),
    conflicts: new Map(),
    nextSeq: 1,
  };
  let active = false;
  let closed = false;

  const transaction = <T>(fn: (tx: ReplicaTx) => T): T => {
    if (closed) throw new Error('The replica store is closed.');
    if (active) throw new Error('Replica transactions do not nest.');
    active = true;
    const undo: (() => void)[] = [];
    try {
      const result = runSynchronously(fn, memoryTx(data, undo));
      undo.length = 0;
      return result;
    } catch (error) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
      throw error;
    } finally {
      active = false;
    }
  };

  return {
    kind: 'memory',
    blobs: options.blobs ?? createMemoryBlobCache(),
    recoveryDirectory: null,
    transaction,
    async snapshot(directory) {
      const json = transaction(() =>
        JSON.stringify({
          format: 'holdfast-replica-snapshot',
          version: 1,
          takenAt: new Date().toISOString(),
          state: { ...data.state, token: null },
          collections: [...data.collections.values()],
          items: [...data.items.values()],
          outbox: [...data.outbox.values()],
          conflicts: [...data.conflicts.values()],
        }),
      );
      await mkdir(directory, { recursive: true });
      const path = join(directory, `replica-${Date.now()}-${randomBytes(4).toString('hex')}.json`);
      // Only a complete, synced copy gets the final name: a crash leaves at most a `.partial` file.
      await writeFile(`${path}.partial`, json, { flush: true });
      await rename(`${path}.partial`, path);
      return path;
    },
    close() {
      closed = true;
    },
  };
}

/** Sets `map[key] = value` (or deletes it when value is undefined), recording how to undo it. */
function write<K, V>(map: Map<K, V>, key: K, value: V | undefined, undo: (() => void)[]): void {
  const had = map.has(key);
  const before = map.get(key);
  undo.push(() => {
    if (had) map.set(key, before as V);
    else map.delete(key);
  });
  if (value === undefined) map.delete(key);
  else map.set(key, value);
}

function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function selectItems(data: Data, query: ItemQuery): ItemRecord[] {
  const out: ItemRecord[] = [];
  for (const item of data.items.values()) {
    if (query.collectionId !== undefined && item.collectionId !== query.collectionId) continue;
    if (!query.includeDeleted && item.deleted) continue;
    if (query.afterId !== undefined && item.id <= query.afterId) continue;
    out.push(item);
  }
  out.sort(byId);
  return query.limit === undefined ? out : out.slice(0, query.limit);
}

function memoryTx(data: Data, undo: (() => void)[]): ReplicaTx {
  return {
    getState: () => copy(data.state),
    setState(patch) {
      const before = data.state;
      undo.push(() => {
        data.state = before;
      });
      data.state = { ...before, ...copy(patch) };
    },

    getCollection: (id) => copy(data.collections.get(id) ?? null),
    listCollections: () => [...data.collections.values()].sort(byId).map(copy),
    putCollection: (collection) => write(data.collections, collection.id, copy(collection), undo),

    getItem: (id) => copy(data.items.get(id) ?? null),
    listItems: (query = {}) => selectItems(data, query).map(copy),
    countItems: (query = {}) => selectItems(data, query).length,
    putItem: (item) => write(data.items, item.id, copy(item), undo),
    clearBaseRevisions() {
      for (const item of data.items.values()) {
        if (item.baseRevision !== null) write(data.items, item.id, { ...item, baseRevision: null }, undo);
      }
    },

    appendOutbox(entry) {
      const seq = data.nextSeq;
      undo.push(() => {
        data.nextSeq = seq;
      });
      data.nextSeq = seq + 1;
      const stored = copy({ ...entry, seq }) as OutboxEntry;
      write(data.outbox, seq, stored, undo);
      return copy(stored);
    },
    updateOutbox(entry) {
      if (!data.outbox.has(entry.seq)) throw new Error(`No outbox entry ${entry.seq}.`);
      write(data.outbox, entry.seq, copy(entry), undo);
    },
    removeOutbox: (seq) => write(data.outbox, seq, undefined, undo),
    listOutbox(query = {}) {
      const out: OutboxEntry[] = [];
      // Sorted, because undoing a removal re-inserts at the end of the map.
      for (const entry of [...data.outbox.values()].sort((a, b) => a.seq - b.seq)) {
        if (!outboxMatches(entry, query)) continue;
        out.push(copy(entry));
        if (query.limit !== undefined && out.length >= query.limit) break;
      }
      return out;
    },
    countOutbox(status) {
      let n = 0;
      for (const entry of data.outbox.values()) if (status === undefined || entry.status === status) n++;
      return n;
    },

    addConflict: (conflict) => write(data.conflicts, conflict.id, copy(conflict), undo),
    listConflicts: (itemId) =>
      [...data.conflicts.values()]
        .filter((c) => itemId === undefined || c.itemId === itemId)
        .sort((a, b) => a.createdAt - b.createdAt)
        .map(copy),
    removeConflict: (id) => write(data.conflicts, id, undefined, undo),
  };
}
