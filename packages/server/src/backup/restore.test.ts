import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, listVerifications } from '@holdfast/backup';
import type { TestServer } from '@holdfast/test-support/harness';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { describe, expect, it } from 'vitest';
import { createLocalBlobStore } from '../blobs/local-blob-store.js';
import { type Db, openDatabase } from '../store/database.js';
import { readGeneration } from '../store/meta.js';
import { migrateToLatest } from '../store/migrate.js';
import { readHead } from '../store/revision-log.js';
import {
  addUser,
  cleanupAfterEach,
  createCollection,
  createDirectoryRepositories,
  openTestRepository,
  pushNotes,
  pushPhoto,
  shipOnce,
  startBackedUpServer,
  updateNotes,
} from '../test-support/backups.js';
import { runDrill } from './drill.js';
import { restoreRepository } from './restore.js';
import { connect, disconnect, shipJournal, snapshotNow } from './target-runtime.js';

const defer = cleanupAfterEach();
const openRepo = (dir: string) => openTestRepository(dir, defer);

async function snapshot(server: TestServer, dir: string) {
  const { config, db, blobs } = server.ctx;
  const deps = { config, db, blobs, now: Date.now };
  const runtime = { location: dir, target: new DirectoryTarget(dir), connection: null };
  const connection = await connect(deps, runtime);
  try {
    await shipJournal(deps, connection);
    return await snapshotNow(deps, connection);
  } finally {
    await disconnect(connection);
    await runtime.target.close();
  }
}

/** Collections as the server summarises them, and every revision up to `seq`. */
async function state(db: Db, seq = Number.MAX_SAFE_INTEGER) {
  const collections = await db.kysely
    .selectFrom('collections')
    .select(['user_id', 'id', 'type', 'name', 'deleted', 'item_count', 'digest'])
    .orderBy('user_id')
    .orderBy('id')
    .execute();
  const items = await db.kysely
    .selectFrom('items')
    .select(['user_id', 'id', 'collection_id', 'head_seq', 'deleted', 'content_hash', 'size'])
    .where('deleted', '=', 0)
    .orderBy('user_id')
    .orderBy('id')
    .execute();
  const heads = await db.kysely
    .selectFrom('revisions')
    .selectAll()
    .where('seq', 'in', items.length ? items.map((i) => i.head_seq) : [-1])
    .where('seq', '<=', seq)
    .orderBy('seq')
    .execute();
  return { collections, items, heads };
}

async function loadServer() {
  const setup = await startBackedUpServer('sqlite', 1);
  defer(setup.close);
  const { server } = setup;
  const alice = await addUser(server, 'alice');
  const bob = await addUser(server, 'bob');
  const notes = await pushNotes(server, alice, 600);
  await pushNotes(server, bob, 40);
  const photos = await createCollection(server, alice, 'photos');
  const shas = [];
  for (let i = 0; i < 5; i++) shas.push(await pushPhoto(server, alice, photos, `p${i}`, i + 3));
  return { ...setup, alice, bob, notes, photos, shas };
}

describe('snapshots, restore drills and restores', () => {
  it('takes incremental snapshots that reuse unchanged data objects and match the server summaries', async () => {
    const { server, dirs, alice, notes } = await loadServer();
    // Connecting takes the base snapshot; a second one with nothing changed writes no data at all.
    const first = await snapshot(server, dirs[0] as string);
    expect(first.newObjects).toBe(0);
    expect(first.reusedObjects).toBeGreaterThan(0);
    const before = first.snapshot.manifest.data;
    await pushNotes(server, alice, 3, { collectionId: notes, prefix: 'changed' });
    await updateNotes(server, alice, notes, ['n1', 'n300', 'n599']);
    const second = await snapshot(server, dirs[0] as string);
    // Scattered changes rewrite only the changed records: the old objects are referenced again, minus those positions.
    expect(second.newObjects).toBe(1);
    expect(second.reusedObjects).toBe(before.length);
    expect(second.snapshot.manifest.data.slice(0, before.length).map((entry) => entry.object)).toEqual(
      before.map((entry) => entry.object),
    );
    expect(second.snapshot.manifest.data.flatMap((entry) => entry.drop ?? [])).toHaveLength(3);
    expect(second.snapshot.manifest.data.at(-1)?.records).toBe(6);
    // Once most of an object is superseded it is not referenced again: its remaining records are rewritten.
    const many = Array.from({ length: 400 }, (_, i) => `n${i + 2}`).filter((id) => id !== 'n300');
    await updateNotes(server, alice, notes, many);
    const third = await snapshot(server, dirs[0] as string);
    const objects = third.snapshot.manifest.data.map((entry) => entry.object);
    expect(objects).not.toContain(before[0]?.object);
    expect(objects).toContain(second.snapshot.manifest.data.at(-1)?.object);
    expect(third.snapshot.manifest.records).toBe(second.snapshot.manifest.records);
    const summaries = await state(server.ctx.db);
    for (const row of summaries.collections) {
      expect(third.snapshot.manifest.digests[row.user_id]?.[row.id]).toEqual({
        count: row.item_count,
        hash: row.digest,
      });
    }
    const drill = await runDrill(await openRepo(dirs[0] as string));
    expect(drill.verification.record.errors).toEqual([]);
    expect(drill.verification.record.ok).toBe(true);
  });

  it('verifies by restoring: a passing drill is recorded; corrupted, missing and truncated objects fail it by name', async () => {
    const { server, dirs, alice, notes } = await loadServer();
    const dir = dirs[0] as string;
    await snapshot(server, dir);
    await pushNotes(server, alice, 10, { collectionId: notes, prefix: 'tail' });
    await shipOnce(server);
    const repo = await openRepo(dir);
    const passed = await runDrill(repo);
    expect(passed.verification.record.errors).toEqual([]);
    expect(passed.verification.record.ok).toBe(true);
    expect(passed.verification.record.checks.map((c) => c.name)).toEqual([
      'restore',
      'blobs',
      'accounts',
      'sqlite integrity',
      'summaries match manifest',
      'log digests match manifest',
      'journal chain',
    ]);
    const manifest = passed.snapshot.manifest;
    const blob = Object.values(manifest.blobs)[0] as string;
    const data = manifest.data[0]?.object as string;
    const segments = (await repo.target.listObjects('journal/')).filter(Boolean);

    const original = await readFile(join(dir, blob));
    const flipped = Buffer.from(original);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 0xff;
    await writeFile(join(dir, blob), flipped);
    const corrupted = await runDrill(repo);
    expect(corrupted.verification.record.ok).toBe(false);
    expect(corrupted.verification.record.errors.join('\n')).toContain(blob);
    await writeFile(join(dir, blob), original);

    const dataBytes = await readFile(join(dir, data));
    await unlink(join(dir, data));
    const missing = await runDrill(repo);
    expect(missing.verification.record.ok).toBe(false);
    expect(missing.verification.record.errors.join('\n')).toContain(data);
    await writeFile(join(dir, data), dataBytes);

    for (const segment of segments) {
      const bytes = await readFile(join(dir, segment));
      await truncate(join(dir, segment), Math.floor(bytes.length / 2));
      const truncated = await runDrill(repo);
      await writeFile(join(dir, segment), bytes);
      expect(truncated.verification.record.ok).toBe(false);
      expect(truncated.verification.record.errors.join('\n')).toMatch(/shorter than its header/);
      expect(truncated.verification.record.errors.join('\n')).toContain(segment);
    }
    expect(segments.length).toBeGreaterThan(0);
    const records = await listVerifications(repo);
    expect(records.map((r) => r.record.ok)).toEqual([true, false, false, ...segments.map(() => false)]);
  });

  it('restores into a new SQLite database and blob store: every revision, summary and blob, in a new generation', async () => {
    const { server, dirs, alice, notes, shas } = await loadServer();
    const dir = dirs[0] as string;
    await snapshot(server, dir);
    await pushNotes(server, alice, 20, { collectionId: notes, prefix: 'after' });
    await shipOnce(server);
    const head = await readHead(server.ctx.db.kysely);
    const repo = await openRepo(dir);
    const scratch = await mkdtemp(join(tmpdir(), 'holdfast-restore-'));
    defer(() => rm(scratch, { recursive: true, force: true }));
    const db = openDatabase(join(scratch, 'holdfast.db'));
    defer(() => db.close());
    await migrateToLatest(db);
    const store = await createLocalBlobStore(join(scratch, 'blobs'));
    defer(() => store.close());
    const result = await restoreRepository(repo, db, { blobs: { mode: 'store', store } });
    expect(result.seq).toBe(head);
    expect(result.journalRevisions).toBe(20);
    expect(await state(db)).toEqual(await state(server.ctx.db));
    expect(await readHead(db.kysely)).toBe(head);
    expect(await readGeneration(db.kysely)).not.toBe(await readGeneration(server.ctx.db.kysely));
    for (const sha of shas) expect(await store.stat(sha)).not.toBeNull();
    await expect(restoreRepository(repo, db, { blobs: { mode: 'hash' } })).rejects.toThrow(/not empty/);
  });

  it('restores to a point in time: a seq in the journal, never past it', async () => {
    const { server, dirs, alice, notes } = await loadServer();
    const dir = dirs[0] as string;
    await snapshot(server, dir);
    const before = await readHead(server.ctx.db.kysely);
    await pushNotes(server, alice, 10, { collectionId: notes, prefix: 'late' });
    await shipOnce(server);
    const repo = await openRepo(dir);
    const scratch = await mkdtemp(join(tmpdir(), 'holdfast-pit-'));
    defer(() => rm(scratch, { recursive: true, force: true }));
    const db = openDatabase(join(scratch, 'holdfast.db'));
    defer(() => db.close());
    await migrateToLatest(db);
    const result = await restoreRepository(repo, db, { point: { seq: before + 4 }, blobs: { mode: 'hash' } });
    expect(result.seq).toBe(before + 4);
    expect(await readHead(db.kysely)).toBe(before + 4);
    const late = await db.kysely.selectFrom('items').select('id').where('id', 'like', 'late%').orderBy('id').execute();
    expect(late.map((row) => row.id)).toEqual(['late0', 'late1', 'late2', 'late3']);
  });

  it('moves a SQLite deployment to PostgreSQL and back through a backup', async () => {
    const { server, dirs } = await loadServer();
    await snapshot(server, dirs[0] as string);
    const repo = await openRepo(dirs[0] as string);
    const pg = await createTestDatabase();
    defer(pg.drop);
    const postgres = openDatabase(pg.url);
    defer(() => postgres.close());
    await migrateToLatest(postgres);
    await restoreRepository(repo, postgres, { blobs: { mode: 'hash' } });
    expect(await state(postgres)).toEqual(await state(server.ctx.db));
    expect(await readHead(postgres.kysely)).toBe(await readHead(server.ctx.db.kysely));

    // And back: back the PostgreSQL deployment up to a new repository, restore that into SQLite.
    const { dirs: back } = await createDirectoryRepositories(1);
    const backDir = back[0] as string;
    const { config, blobs } = server.ctx;
    const deps = { config, db: postgres, blobs, now: Date.now };
    const runtime = { location: backDir, target: new DirectoryTarget(backDir), connection: null };
    const connection = await connect(deps, runtime);
    await shipJournal(deps, connection);
    await disconnect(connection);
    await runtime.target.close();
    const scratch = await mkdtemp(join(tmpdir(), 'holdfast-back-'));
    defer(() => rm(scratch, { recursive: true, force: true }));
    const sqlite = openDatabase(join(scratch, 'holdfast.db'));
    defer(() => sqlite.close());
    await migrateToLatest(sqlite);
    await restoreRepository(await openRepo(backDir), sqlite, { blobs: { mode: 'hash' } });
    expect(await state(sqlite)).toEqual(await state(server.ctx.db));
  });
});
