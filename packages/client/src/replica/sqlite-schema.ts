import * as crypto from 'node:crypto';
import type SqliteDatabase from 'better-sqlite3';

type Migration = string | ((db: SqliteDatabase.Database) => void);

/**
 * The replica's tables, by schema version (PRAGMA user_version). Versions
 * only move forward; each step runs in one transaction.
 */
const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE collections (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    color TEXT,
    revision INTEGER,
    deleted INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE items (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL,
    content TEXT,
    content_type TEXT,
    blob TEXT,
    meta TEXT,
    hash TEXT,
    base_revision INTEGER,
    base_hash TEXT,
    dirty INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX items_by_collection ON items (collection_id, deleted, id);
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_change_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    op TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    item_id TEXT,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX outbox_by_item ON outbox (item_id, seq);
  CREATE TABLE conflicts (
    id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX conflicts_by_item ON conflicts (item_id, created_at);
  `,
  // Per-collection tallies kept up to date by every item write, so that counting the replica and comparing it
  // with the server's summary (after every sync) reads one row per collection instead of every item.
  (db) => {
    db.exec(`
      CREATE TABLE item_stats (
        collection_id TEXT PRIMARY KEY,
        live INTEGER NOT NULL,
        acked INTEGER NOT NULL,
        digest BLOB NOT NULL
      ) WITHOUT ROWID;
    `);
    const tallies = new Map<string, { live: number; acked: number; digest: Buffer }>();
    const rows = db.prepare('SELECT id, collection_id, deleted, base_hash FROM items').iterate() as Iterable<{
      id: string;
      collection_id: string;
      deleted: number;
      base_hash: string | null;
    }>;
    for (const row of rows) {
      let tally = tallies.get(row.collection_id);
      if (!tally) {
        tally = { live: 0, acked: 0, digest: Buffer.alloc(16) };
        tallies.set(row.collection_id, tally);
      }
      if (row.deleted === 0) tally.live++;
      if (row.base_hash !== null) {
        tally.acked++;
        xorInto(tally.digest, itemDigestBytes(row.id, row.base_hash));
      }
    }
    const insert = db.prepare('INSERT INTO item_stats (collection_id, live, acked, digest) VALUES (?, ?, ?, ?)');
    for (const [id, tally] of tallies) insert.run(id, tally.live, tally.acked, tally.digest);
  },
];

/** The first 16 bytes of SHA-256(`${itemId}\n${hash}`): one item's share of its collection's digest. */
export function itemDigestBytes(itemId: string, hash: string): Buffer {
  return sha256(`${itemId}\n${hash}`).subarray(0, 16);
}

// One-shot hashing (Node 20.12+) costs about half of a Hash object; older runtimes use the object.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;
const sha256 = (text: string): Buffer =>
  oneShot ? oneShot('sha256', text, 'buffer') : crypto.createHash('sha256').update(text, 'utf8').digest();

/** `target ^= bytes`, 16 bytes. */
export function xorInto(target: Buffer, bytes: Uint8Array): void {
  for (let i = 0; i < 16; i++) target[i] = (target[i] as number) ^ (bytes[i] as number);
}

/** Brings a replica database to the current schema; refuses one written by a newer SDK. */
export function migrateReplica(db: SqliteDatabase.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`This replica has schema version ${version}; this SDK knows up to ${MIGRATIONS.length}.`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    const migration = MIGRATIONS[v] as Migration;
    db.transaction(() => {
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
