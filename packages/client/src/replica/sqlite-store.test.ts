import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '@holdfast/node-io';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replicaSummaries } from './digest.js';
import { openSqliteStore } from './sqlite-store.js';
import type { CollectionRecord } from './store.js';
import { describeReplicaStoreContract } from './store-contract.js';

/** A notes collection as the server last sent it. */
const NOTES: CollectionRecord = {
  id: 'c1',
  type: 'notes',
  name: 'n',
  description: '',
  color: null,
  revision: 1,
  deleted: false,
  updatedAt: 1,
};

describeReplicaStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-replica-'));
  return { store: openSqliteStore(join(dir, 'replica.db')), dispose: () => rm(dir, { recursive: true, force: true }) };
});

describe('SQLite replica', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-replica-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('leaves the database in WAL mode', () => {
    const path = join(dir, 'r.db');
    openSqliteStore(path).close();
    const db = new SqliteDatabase(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('keeps committed data across close and reopen, blobs included', async () => {
    const path = join(dir, 'r.db');
    const first = openSqliteStore(path);
    first.transaction((tx) => {
      tx.setState({ cursor: 'c', generation: 'g' });
      tx.putCollection(NOTES);
    });
    const bytes = new TextEncoder().encode('blob');
    const sha = (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
    await first.blobs.write(sha, bytes);
    first.close();
    const second = openSqliteStore(path);
    expect(second.transaction((tx) => tx.getState())).toMatchObject({ cursor: 'c', generation: 'g' });
    expect(second.transaction((tx) => tx.getCollection('c1'))?.type).toBe('notes');
    expect(await second.blobs.has(sha)).toBe(true);
    second.close();
  });

  it('snapshots to a database file that opens as a replica with the same data', async () => {
    const store = openSqliteStore(join(dir, 'r.db'));
    store.transaction((tx) => {
      tx.setState({ token: 't0ken', cursor: 'cur' });
      for (let i = 0; i < 50; i++) {
        tx.putItem({
          id: `i${i}`,
          collectionId: 'c1',
          content: { title: `${i}`, body: '' },
          contentType: 'text/markdown',
          blob: null,
          meta: null,
          hash: `h${i}`,
          baseRevision: i,
          baseHash: `h${i}`,
          dirty: false,
          deleted: false,
          updatedAt: i,
        });
      }
    });
    const path = await store.snapshot(join(dir, 'recovery'));
    store.close();
    expect(await readdir(join(dir, 'recovery'))).toHaveLength(1);
    const copy = openSqliteStore(path, { blobDirectory: join(dir, 'copy-blobs') });
    expect(copy.transaction((tx) => tx.countItems())).toBe(50);
    expect(copy.transaction((tx) => tx.getState())).toMatchObject({ token: null, cursor: 'cur' });
    copy.close();
  });

  it('works out the kept counts and summaries when it upgrades a replica from before them', () => {
    const path = join(dir, 'old.db');
    const store = openSqliteStore(path);
    store.transaction((tx) => {
      tx.putCollection(NOTES);
      for (let i = 0; i < 30; i++) {
        tx.putItem({
          id: `i${i}`,
          collectionId: i % 3 === 0 ? 'c2' : 'c1',
          content: { title: `${i}`, body: '' },
          contentType: 'text/markdown',
          blob: null,
          meta: null,
          hash: `h${i}`,
          baseRevision: i % 5 === 0 ? null : i,
          baseHash: i % 5 === 0 ? null : `h${i}`,
          dirty: i % 5 === 0,
          deleted: i % 7 === 0,
          updatedAt: i,
        });
      }
    });
    const expected = store.transaction((tx) => ({ tallies: tx.itemTallies?.(), summaries: replicaSummaries(tx) }));
    store.close();
    // What the first schema version left: no tallies table.
    const db = new SqliteDatabase(path);
    db.exec('DROP TABLE item_stats');
    db.pragma('user_version = 1');
    db.close();
    const upgraded = openSqliteStore(path);
    expect(upgraded.transaction((tx) => ({ tallies: tx.itemTallies?.(), summaries: replicaSummaries(tx) }))).toEqual(
      expected,
    );
    expect(upgraded.transaction((tx) => tx.countItems())).toBe(25);
    upgraded.close();
  });

  it('refuses a replica written by a newer schema', () => {
    const path = join(dir, 'future.db');
    const db = new SqliteDatabase(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => openSqliteStore(path)).toThrow(/schema version 99/);
  });
});
