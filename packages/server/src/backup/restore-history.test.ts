import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget } from '@holdfast/backup';
import { startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../store/database.js';
import { readGeneration } from '../store/meta.js';
import { migrateToLatest } from '../store/migrate.js';
import { readHead } from '../store/revision-log.js';
import {
  addUser,
  cleanupAfterEach,
  createCollection,
  openTestRepository,
  pushNotes,
  pushPhoto,
  shipOnce,
  startBackedUpServer,
  TEST_PASSPHRASE,
} from '../test-support/backups.js';
import { readCoverage } from './coverage.js';
import { restoreToNewDeployment } from './disaster-restore.js';
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

async function scratchDb() {
  const scratch = await mkdtemp(join(tmpdir(), 'holdfast-history-'));
  defer(() => rm(scratch, { recursive: true, force: true }));
  const db = openDatabase(join(scratch, 'holdfast.db'));
  defer(() => db.close());
  await migrateToLatest(db);
  return db;
}

/**
 * A history that reached `longHead` in generation `g1`, and a rolled-back
 * copy of its database (taken at `forkAt`) that ran afterwards as generation
 * `g2` and took a snapshot at `forkHead` (newer, and at a higher seq than
 * any snapshot of `g1`).
 */
async function divergedRepository() {
  const setup = await startBackedUpServer('sqlite', 1);
  defer(setup.close);
  const { server } = setup;
  const dir = setup.dirs[0] as string;
  const alice = await addUser(server, 'alice');
  const notes = await pushNotes(server, alice, 20);
  await snapshot(server, dir);
  await pushNotes(server, alice, 5, { collectionId: notes, prefix: 'shared' });
  const forkAt = await readHead(server.ctx.db.kysely);
  const copyDir = await mkdtemp(join(tmpdir(), 'holdfast-rolled-back-'));
  defer(() => rm(copyDir, { recursive: true, force: true }));
  const copy = join(copyDir, 'holdfast.db');
  await sql.raw(`VACUUM INTO '${copy}'`).execute(server.ctx.db.kysely);
  await pushNotes(server, alice, 20, { collectionId: notes, prefix: 'long' });
  await shipOnce(server);
  const longHead = await readHead(server.ctx.db.kysely);
  const g1 = await readGeneration(server.ctx.db.kysely);

  // The rolled-back copy: a new generation (as rollback detection makes it), a few writes, then a snapshot.
  const g2 = 'rolled-back-generation';
  const rolled = openDatabase(copy);
  await rolled.kysely.updateTable('meta').set({ value: g2 }).where('key', '=', 'generation').execute();
  await rolled.close();
  const forked = await startTestServer('sqlite', {
    database: copy,
    'backup-targets': dir,
    'backup-passphrase': TEST_PASSPHRASE,
    'backup-drill-interval': '0',
  });
  defer(forked.close);
  await pushNotes(forked, alice, 3, { collectionId: notes, prefix: 'fork' });
  const forkHead = await readHead(forked.ctx.db.kysely);
  await snapshot(forked, dir);
  expect(forkHead).toBeGreaterThan(forkAt);
  expect(forkHead).toBeLessThan(longHead);
  return { dir, g1, g2, forkAt, forkHead, longHead };
}

describe('restoring when histories diverged', () => {
  it('restores the longest history by default and for a seq only it reaches, and asks which one when both do', async () => {
    const { dir, g1, g2, forkHead, longHead } = await divergedRepository();
    const repo = await openRepo(dir);

    const db = await scratchDb();
    const result = await restoreRepository(repo, db, { blobs: { mode: 'hash' } });
    expect(result.seq).toBe(longHead);
    expect(result.snapshot.manifest.generation).toBe(g1);
    expect(result.history?.chosen).toMatchObject({ generation: g1, toSeq: longHead });
    expect(result.history?.others.map((h) => [h.generation, h.toSeq])).toEqual([[g2, forkHead]]);
    const ids = (await db.kysely.selectFrom('items').select('id').execute()).map((row) => row.id);
    expect(ids.filter((id) => id.startsWith('long'))).toHaveLength(20);
    expect(ids.filter((id) => id.startsWith('fork'))).toHaveLength(0);

    const bySeq = await restoreRepository(repo, await scratchDb(), {
      point: { seq: longHead },
      blobs: { mode: 'hash' },
    });
    expect(bySeq.seq).toBe(longHead);
    expect(bySeq.snapshot.manifest.generation).toBe(g1);

    // Both histories hold a revision forkHead: which one is meant cannot be guessed.
    await expect(
      restoreRepository(repo, await scratchDb(), { point: { seq: forkHead }, blobs: { mode: 'hash' } }),
    ).rejects.toThrow(new RegExp(`${g1}.*${g2}|${g2}.*${g1}`));
    const chosen = await restoreRepository(repo, await scratchDb(), {
      point: { seq: forkHead },
      generation: g2,
      blobs: { mode: 'hash' },
    });
    expect(chosen.seq).toBe(forkHead);
    expect(chosen.snapshot.manifest.generation).toBe(g2);
    const other = await restoreRepository(repo, await scratchDb(), {
      point: { seq: forkHead },
      generation: g1,
      blobs: { mode: 'hash' },
    });
    expect(other.seq).toBe(forkHead);
    expect(other.snapshot.manifest.generation).toBe(g1);

    // A time point keeps working: everything recorded by now is the longest history.
    const atNow = await restoreRepository(repo, await scratchDb(), {
      point: { at: new Date() },
      blobs: { mode: 'hash' },
    });
    expect(atNow.seq).toBe(longHead);

    const coverage = await readCoverage(repo);
    expect(coverage.restore).toMatchObject({ generation: g1, toSeq: longHead });
    expect(coverage.restore?.journalRevisions).toBe(longHead - (coverage.restore?.snapshot.seq ?? 0));
    expect(coverage.restore?.alternatives).toEqual([expect.stringContaining(`--generation ${g2}`)]);
    expect(coverage.histories.map((h) => h.generation)).toEqual([g1, g2]);
    expect(coverage.snapshots.map((s) => s.generation)).toContain(g2);
  });
});

describe('restoring to a new deployment', () => {
  it('leaves nothing at the destination when the restore fails midway', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    defer(setup.close);
    const { server } = setup;
    const dir = setup.dirs[0] as string;
    const alice = await addUser(server, 'alice');
    await pushNotes(server, alice, 50);
    const photos = await createCollection(server, alice, 'photos');
    await pushPhoto(server, alice, photos, 'p0');
    await shipOnce(server);
    // A damaged blob object (the only one): the restore reads it after the database and blob store were set up.
    const blobs = join(dir, 'blobs');
    const objects = (await readdir(blobs, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(objects).toHaveLength(1);
    await writeFile(join(objects[0]?.parentPath as string, objects[0]?.name as string), 'not a blob object');

    const parent = await mkdtemp(join(tmpdir(), 'holdfast-restore-dest-'));
    defer(() => rm(parent, { recursive: true, force: true }));
    const destination = join(parent, 'restored');
    const repo = await openRepo(dir);
    await expect(restoreToNewDeployment(repo, { dataDir: destination })).rejects.toThrow();
    await expect(access(destination)).rejects.toThrow(/ENOENT/);
    expect(await readdir(parent)).toEqual([]);

    // An existing empty destination stays empty.
    await mkdir(destination);
    await expect(restoreToNewDeployment(repo, { dataDir: destination })).rejects.toThrow();
    expect(await readdir(destination)).toEqual([]);
    expect(await readdir(parent)).toEqual(['restored']);
  });

  it('moves a complete restore into place, and the restored server takes over the lock of the generation it came from', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    defer(setup.close);
    const { server } = setup;
    const dir = setup.dirs[0] as string;
    const alice = await addUser(server, 'alice');
    await pushNotes(server, alice, 30);
    await shipOnce(server);
    const parent = await mkdtemp(join(tmpdir(), 'holdfast-restore-dest-'));
    defer(() => rm(parent, { recursive: true, force: true }));
    const destination = join(parent, 'nested', 'restored');
    const result = await restoreToNewDeployment(await openRepo(dir), { dataDir: destination });
    expect(result.seq).toBe(await readHead(server.ctx.db.kysely));
    expect(result.database).toBe(`sqlite:${join(destination, 'holdfast.db')}`);
    expect(await readdir(join(parent, 'nested'))).toEqual(['restored']);
    const db = openDatabase(join(destination, 'holdfast.db'));
    defer(() => db.close());
    const note = await db.kysely
      .selectFrom('meta')
      .select('value')
      .where('key', '=', 'restored_from')
      .executeTakeFirst();
    expect(JSON.parse(note?.value ?? '{}').generation).toBe(await readGeneration(server.ctx.db.kysely));
  });
});
