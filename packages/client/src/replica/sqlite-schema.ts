import type SqliteDatabase from 'better-sqlite3';

/**
 * The replica's tables, by schema version (PRAGMA user_version). Versions
 * only move forward; each step runs in one transaction.
 */
const MIGRATIONS: readonly string[] = [
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
];

/** Brings a replica database to the current schema; refuses one written by a newer SDK. */
export function migrateReplica(db: SqliteDatabase.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`This replica has schema version ${version}; this SDK knows up to ${MIGRATIONS.length}.`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
