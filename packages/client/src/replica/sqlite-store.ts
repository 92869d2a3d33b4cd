import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SqliteDatabase } from '@holdfast/node-io';
import { EMPTY_DIGEST } from '@holdfast/protocol';
import type BetterSqlite3 from 'better-sqlite3';
import { type BlobCache, createFileBlobCache } from './blob-cache.js';
import { itemDigestBytes, migrateReplica, xorInto } from './sqlite-schema.js';
import {
  type CollectionRecord,
  type ConflictRecord,
  EMPTY_STATE,
  type ItemQuery,
  type ItemRecord,
  type ItemTally,
  type NewOutboxEntry,
  type OutboxEntry,
  type ReplicaState,
  type ReplicaStore,
  type ReplicaTx,
  type TransactionOptions,
} from './store.js';
import { outboxMatches, runSynchronously } from './transaction-rules.js';

type Row = Record<string, unknown>;

/** Options for `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Where blobs are kept; defaults to `<path>.blobs` beside the database. */
  blobDirectory?: string;
  /**
   * SQLite's page cache for the replica, in KiB (default 2048, SQLite's own
   * default; better-sqlite3 raises it to 16 MiB, which a device keeps in
   * memory for good once a restore has filled it).
   */
  cacheKiB?: number;
}

/**
 * Opens (creating if needed) a durable replica in one SQLite file, with WAL
 * and synchronous=FULL: once a transaction returns, it survives a crash or a
 * power cut. Blobs live in a content-addressed directory beside it.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): ReplicaStore {
  mkdirSync(dirname(path), { recursive: true });
  const db = new SqliteDatabase(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  db.pragma(`cache_size = ${-Math.max(64, Math.floor(options.cacheKiB ?? 2048))}`);
  migrateReplica(db);
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const tallies = tallyKeeper(prepare);
  const tx = sqliteTx(prepare, tallies);
  let active = false;
  const blobs: BlobCache = createFileBlobCache(options.blobDirectory ?? `${path}.blobs`);

  return {
    kind: 'sqlite',
    blobs,
    recoveryDirectory: `${path}.recovery`,
    transaction<T>(fn: (tx: ReplicaTx) => T, options: TransactionOptions = {}): T {
      if (active) throw new Error('Replica transactions do not nest.');
      active = true;
      // In WAL mode, NORMAL writes the commit to the log without waiting for the disk; the next FULL commit
      // syncs the log up to and including it, so commits stay in order.
      const relaxed = options.durable === false;
      if (relaxed) db.pragma('synchronous = NORMAL');
      try {
        // IMMEDIATE takes the write lock up front, so a transaction never fails halfway on a busy database.
        return db
          .transaction(() => {
            const result = runSynchronously(fn, tx);
            tallies.flush();
            return result;
          })
          .immediate();
      } finally {
        tallies.discard();
        if (relaxed) db.pragma('synchronous = FULL');
        active = false;
      }
    },
    async snapshot(directory) {
      await mkdir(directory, { recursive: true });
      const target = join(directory, `replica-${Date.now()}-${randomBytes(4).toString('hex')}.db`);
      const partial = `${target}.partial`;
      // VACUUM INTO writes one consistent copy of the database as of a single read transaction.
      db.prepare('VACUUM INTO ?').run(partial);
      const copy = new SqliteDatabase(partial);
      try {
        // A recovery copy is for the data; it should not carry a live device token.
        copy.prepare(`UPDATE state SET value = 'null' WHERE key = 'token'`).run();
      } finally {
        copy.close();
      }
      // Only a complete, synced copy gets the final name: a crash leaves at most a `.partial` file.
      const file = await open(partial, 'r+');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(partial, target);
      return target;
    },
    close() {
      if (db.open) db.close();
    },
  };
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: unknown): T => (text === null || text === undefined ? null : JSON.parse(text as string)) as T;

function toCollection(row: Row): CollectionRecord {
  return {
    id: row.id as string,
    type: row.type as CollectionRecord['type'],
    name: row.name as string,
    description: row.description as string,
    color: (row.color as string | null) ?? null,
    revision: (row.revision as number | null) ?? null,
    deleted: row.deleted === 1,
    updatedAt: row.updated_at as number,
  };
}

function toItem(row: Row): ItemRecord {
  return {
    id: row.id as string,
    collectionId: row.collection_id as string,
    content: parse(row.content),
    contentType: (row.content_type as string | null) ?? null,
    blob: parse(row.blob),
    meta: parse(row.meta),
    hash: (row.hash as string | null) ?? null,
    baseRevision: (row.base_revision as number | null) ?? null,
    baseHash: (row.base_hash as string | null) ?? null,
    dirty: row.dirty === 1,
    deleted: row.deleted === 1,
    updatedAt: row.updated_at as number,
  };
}

function toOutbox(row: Row): OutboxEntry {
  const payload = parse<Record<string, unknown>>(row.payload);
  const base = {
    seq: row.seq as number,
    clientChangeId: row.client_change_id as string,
    collectionId: row.collection_id as string,
    attempts: row.attempts as number,
    status: row.status as OutboxEntry['status'],
    error: parse<OutboxEntry['error']>(row.error),
    createdAt: row.created_at as number,
  };
  if (row.entity === 'collection') {
    return { ...base, entity: 'collection', op: row.op as 'create', itemId: null, fields: payload.fields as never };
  }
  return {
    ...base,
    entity: 'item',
    op: row.op as 'put' | 'delete',
    itemId: row.item_id as string,
    content: payload.content ?? null,
    blob: (payload.blob as ItemRecord['blob']) ?? null,
  };
}

function outboxRow(entry: NewOutboxEntry) {
  const payload =
    entry.entity === 'collection' ? { fields: entry.fields } : { content: entry.content, blob: entry.blob };
  return {
    client_change_id: entry.clientChangeId,
    entity: entry.entity,
    op: entry.op,
    collection_id: entry.collectionId,
    item_id: entry.itemId,
    payload: JSON.stringify(payload),
    attempts: entry.attempts,
    status: entry.status,
    error: json(entry.error),
    created_at: entry.createdAt,
  };
}

function itemFilter(query: ItemQuery): { where: string; params: Record<string, unknown> } {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (query.collectionId !== undefined) {
    clauses.push('collection_id = @collectionId');
    params.collectionId = query.collectionId;
  }
  if (!query.includeDeleted) clauses.push('deleted = 0');
  if (query.afterId !== undefined) {
    clauses.push('id > @afterId');
    params.afterId = query.afterId;
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

interface TallyDelta {
  live: number;
  acked: number;
  digest: Buffer;
}

/**
 * Keeps `item_stats` in step with the items: each item write notes how it
 * changes its collection's tallies, and the changes are written once per
 * transaction, before it commits (or dropped with it).
 */
function tallyKeeper(prepare: (sql: string) => BetterSqlite3.Statement) {
  const pending = new Map<string, TallyDelta>();
  const deltaOf = (collectionId: string): TallyDelta => {
    let delta = pending.get(collectionId);
    if (!delta) {
      delta = { live: 0, acked: 0, digest: Buffer.alloc(16) };
      pending.set(collectionId, delta);
    }
    return delta;
  };
  const add = (collectionId: string, itemId: string, deleted: boolean, baseHash: string | null, sign: 1 | -1) => {
    const delta = deltaOf(collectionId);
    if (!deleted) delta.live += sign;
    if (baseHash !== null) {
      delta.acked += sign;
      xorInto(delta.digest, itemDigestBytes(itemId, baseHash));
    }
  };
  return {
    /** Notes that an item row changed from `before` (null: it did not exist) to `after`. */
    change(
      itemId: string,
      before: { collectionId: string; deleted: boolean; baseHash: string | null } | null,
      after: { collectionId: string; deleted: boolean; baseHash: string | null },
    ) {
      if (before && before.collectionId === after.collectionId && before.baseHash === after.baseHash) {
        // The usual case (an edit, a delete): the digest is unchanged, only liveness may move.
        if (before.deleted !== after.deleted) deltaOf(after.collectionId).live += after.deleted ? -1 : 1;
        return;
      }
      if (before) add(before.collectionId, itemId, before.deleted, before.baseHash, -1);
      add(after.collectionId, itemId, after.deleted, after.baseHash, 1);
    },
    flush() {
      if (pending.size === 0) return;
      const read = prepare('SELECT live, acked, digest FROM item_stats WHERE collection_id = ?');
      const write = prepare(
        'INSERT OR REPLACE INTO item_stats (collection_id, live, acked, digest) VALUES (?, ?, ?, ?)',
      );
      const remove = prepare('DELETE FROM item_stats WHERE collection_id = ?');
      for (const [collectionId, delta] of pending) {
        const row = read.get(collectionId) as { live: number; acked: number; digest: Buffer } | undefined;
        const digest = Buffer.from(row?.digest ?? Buffer.alloc(16));
        xorInto(digest, delta.digest);
        const live = (row?.live ?? 0) + delta.live;
        const acked = (row?.acked ?? 0) + delta.acked;
        if (live === 0 && acked === 0) remove.run(collectionId);
        else write.run(collectionId, live, acked, digest);
      }
      pending.clear();
    },
    discard() {
      pending.clear();
    },
    /** Every collection's tallies, this transaction's writes included. */
    read(): Map<string, ItemTally> {
      this.flush();
      const out = new Map<string, ItemTally>();
      for (const row of prepare('SELECT collection_id, live, acked, digest FROM item_stats').all() as Row[]) {
        const digest = (row.digest as Buffer).toString('hex');
        out.set(row.collection_id as string, {
          live: row.live as number,
          acked: row.acked as number,
          digest: digest === '' ? EMPTY_DIGEST : digest,
        });
      }
      return out;
    },
  };
}

function sqliteTx(
  prepare: (sql: string) => BetterSqlite3.Statement,
  tallies: ReturnType<typeof tallyKeeper>,
): ReplicaTx {
  const readState = (): ReplicaState => {
    const state: Record<string, unknown> = { ...EMPTY_STATE };
    for (const row of prepare('SELECT key, value FROM state').all() as Row[]) {
      if (Object.hasOwn(EMPTY_STATE, row.key as string)) state[row.key as string] = JSON.parse(row.value as string);
    }
    return state as unknown as ReplicaState;
  };
  return {
    getState: readState,
    setState(patch) {
      const upsert = prepare(
        'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      );
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined) upsert.run(key, JSON.stringify(value));
      }
    },

    getCollection(id) {
      const row = prepare('SELECT * FROM collections WHERE id = ?').get(id) as Row | undefined;
      return row ? toCollection(row) : null;
    },
    listCollections: () => (prepare('SELECT * FROM collections ORDER BY id').all() as Row[]).map(toCollection),
    putCollection(c) {
      prepare(
        `INSERT OR REPLACE INTO collections (id, type, name, description, color, revision, deleted, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(c.id, c.type, c.name, c.description, c.color, c.revision, c.deleted ? 1 : 0, c.updatedAt);
    },

    getItem(id) {
      const row = prepare('SELECT * FROM items WHERE id = ?').get(id) as Row | undefined;
      return row ? toItem(row) : null;
    },
    listItems(query = {}) {
      const { where, params } = itemFilter(query);
      const limit = query.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(query.limit))}`;
      return (prepare(`SELECT * FROM items ${where} ORDER BY id${limit}`).all(params) as Row[]).map(toItem);
    },
    countItems(query = {}) {
      if (query.includeDeleted !== true) {
        // Live items, all or of one collection: from the tallies rather than a scan of every item.
        const all = tallies.read();
        if (query.collectionId !== undefined) return all.get(query.collectionId)?.live ?? 0;
        let live = 0;
        for (const tally of all.values()) live += tally.live;
        return live;
      }
      const { where, params } = itemFilter(query);
      return (prepare(`SELECT count(*) AS n FROM items ${where}`).get(params) as { n: number }).n;
    },
    itemTallies: () => tallies.read(),
    putItem(item) {
      const before = prepare('SELECT collection_id, deleted, base_hash FROM items WHERE id = ?').get(item.id) as
        | Row
        | undefined;
      prepare(
        `INSERT OR REPLACE INTO items (id, collection_id, content, content_type, blob, meta, hash,
           base_revision, base_hash, dirty, deleted, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        item.id,
        item.collectionId,
        json(item.content),
        item.contentType,
        json(item.blob),
        json(item.meta),
        item.hash,
        item.baseRevision,
        item.baseHash,
        item.dirty ? 1 : 0,
        item.deleted ? 1 : 0,
        item.updatedAt,
      );
      tallies.change(
        item.id,
        before
          ? {
              collectionId: before.collection_id as string,
              deleted: before.deleted === 1,
              baseHash: (before.base_hash as string | null) ?? null,
            }
          : null,
        { collectionId: item.collectionId, deleted: item.deleted, baseHash: item.baseHash },
      );
    },
    clearBaseRevisions() {
      prepare('UPDATE items SET base_revision = NULL WHERE base_revision IS NOT NULL').run();
    },

    appendOutbox(entry) {
      const row = outboxRow(entry);
      const result = prepare(
        `INSERT INTO outbox (client_change_id, entity, op, collection_id, item_id, payload, attempts, status, error, created_at)
         VALUES (@client_change_id, @entity, @op, @collection_id, @item_id, @payload, @attempts, @status, @error, @created_at)`,
      ).run(row);
      return { ...structuredClone(entry), seq: Number(result.lastInsertRowid) } as OutboxEntry;
    },
    updateOutbox(entry) {
      const result = prepare(
        `UPDATE outbox SET client_change_id = @client_change_id, entity = @entity, op = @op,
           collection_id = @collection_id, item_id = @item_id, payload = @payload, attempts = @attempts,
           status = @status, error = @error, created_at = @created_at
         WHERE seq = @seq`,
      ).run({ ...outboxRow(entry), seq: entry.seq });
      if (result.changes === 0) throw new Error(`No outbox entry ${entry.seq}.`);
    },
    removeOutbox(seq) {
      prepare('DELETE FROM outbox WHERE seq = ?').run(seq);
    },
    listOutbox(query = {}) {
      const clauses: string[] = ['seq > @afterSeq'];
      const params: Record<string, unknown> = { afterSeq: query.afterSeq ?? 0 };
      for (const [key, column] of [
        ['itemId', 'item_id'],
        ['collectionId', 'collection_id'],
        ['status', 'status'],
      ] as const) {
        if (query[key] !== undefined) {
          clauses.push(`${column} = @${key}`);
          params[key] = query[key];
        }
      }
      const limit = query.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(query.limit))}`;
      const rows = prepare(`SELECT * FROM outbox WHERE ${clauses.join(' AND ')} ORDER BY seq${limit}`).all(params);
      return (rows as Row[]).map(toOutbox).filter((entry) => outboxMatches(entry, query));
    },
    countOutbox(status) {
      const row =
        status === undefined
          ? prepare('SELECT count(*) AS n FROM outbox').get()
          : prepare('SELECT count(*) AS n FROM outbox WHERE status = ?').get(status);
      return (row as { n: number }).n;
    },

    addConflict(conflict: ConflictRecord) {
      prepare('INSERT OR REPLACE INTO conflicts (id, item_id, created_at, record) VALUES (?, ?, ?, ?)').run(
        conflict.id,
        conflict.itemId,
        conflict.createdAt,
        JSON.stringify(conflict),
      );
    },
    listConflicts(itemId) {
      const rows =
        itemId === undefined
          ? prepare('SELECT record FROM conflicts ORDER BY created_at, rowid').all()
          : prepare('SELECT record FROM conflicts WHERE item_id = ? ORDER BY created_at, rowid').all(itemId);
      return (rows as Row[]).map((row) => JSON.parse(row.record as string) as ConflictRecord);
    },
    removeConflict(id) {
      prepare('DELETE FROM conflicts WHERE id = ?').run(id);
    },
  };
}
