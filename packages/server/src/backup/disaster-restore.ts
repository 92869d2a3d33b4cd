import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Repository } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import { openBlobStore } from '../blobs/index.js';
import { loadConfig } from '../config.js';
import { recordIncident } from '../ledger/ledger.js';
import { createLogger, openContext } from '../open-context.js';
import { insertMeta, readGeneration } from '../store/meta.js';
import { readSchemaState } from '../store/migrate.js';
import { type RestorePoint, type RestoreResult, restoreRepository } from './restore.js';

/** Where a disaster restore writes: always somewhere new. */
export interface RestoreDestination {
  /** A data directory that does not exist yet or is empty. */
  dataDir: string;
  /** A PostgreSQL URL of an empty database; default a new SQLite file in `dataDir`. */
  database?: string;
}

/**
 * Restores a repository into a new data directory (and optionally a new,
 * empty PostgreSQL database), never in place. The restored database is a
 * new generation, so every device notices and re-seeds what it holds; the
 * restore is recorded in the new database's incident ledger with per-user
 * counts.
 *
 * The data directory is built in a hidden directory beside the destination
 * (same filesystem) and renamed into place only once complete, so a failed
 * or interrupted restore leaves nothing at the destination. A PostgreSQL
 * destination is checked empty, and every object is read before it is
 * written; the log is written in one transaction.
 */
export async function restoreToNewDeployment(
  repo: Repository,
  destination: RestoreDestination,
  point: RestorePoint = {},
  now: () => number = Date.now,
  options: { generation?: string } = {},
): Promise<RestoreResult & { generation: string; database: string }> {
  const dataDir = resolve(destination.dataDir);
  const existing = await readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (existing.length > 0) {
    throw new AppError('conflict', `${destination.dataDir} is not empty; restore into a new data directory`);
  }
  await mkdir(dirname(dataDir), { recursive: true });
  // mkdtemp creates it owner-only, like every data directory.
  const work = await mkdtemp(join(dirname(dataDir), `.${basename(dataDir)}.restoring-`));
  try {
    const result = await restoreInto(repo, work, destination.database, point, now, options.generation);
    // Renaming onto an empty directory replaces it; a directory someone filled meanwhile is refused.
    await rename(work, dataDir).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOTEMPTY' || error.code === 'EEXIST'
        ? new AppError('conflict', `${destination.dataDir} is not empty; restore into a new data directory`)
        : error;
    });
    return destination.database ? result : { ...result, database: `sqlite:${join(dataDir, 'holdfast.db')}` };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

async function restoreInto(
  repo: Repository,
  dataDir: string,
  database: string | undefined,
  point: RestorePoint,
  now: () => number,
  generation: string | undefined,
): Promise<RestoreResult & { generation: string; database: string }> {
  const location = database ?? join(dataDir, 'holdfast.db');
  // A new database: the upgrade gate exempts it, so opening creates it with the current schema.
  const config = loadConfig({ flags: { data: dataDir, database: location }, env: {} });
  const { db } = await openContext(config, {
    migrate: 'gated',
    databaseOnly: true,
    log: createLogger({ logLevel: 'silent' }),
  });
  try {
    const before = await readSchemaState(db);
    if (before.applied.length === 0) throw new AppError('internal', 'the new database has no schema');
    const blobs = await openBlobStore('', dataDir);
    let result: RestoreResult;
    try {
      result = await restoreRepository(repo, db, {
        point,
        blobs: { mode: 'store', store: blobs },
        ...(generation !== undefined ? { generation } : {}),
      });
    } finally {
      await blobs.close();
    }
    const newGeneration = await readGeneration(db.kysely);
    const previousGeneration = result.snapshot.manifest.generation;
    await insertMeta(
      db.kysely,
      'restored_from',
      JSON.stringify({
        repository: repo.id,
        snapshot: result.snapshot.object,
        seq: result.seq,
        generation: previousGeneration,
      }),
    );
    await recordIncident(
      db,
      {
        kind: 'restore',
        userId: null,
        summary: `Restored from backup repository ${repo.id} up to revision ${result.seq} (snapshot at ${result.snapshot.manifest.seq} plus ${result.journalRevisions} journal revisions) as a new generation.`,
        details: {
          repository: repo.id,
          target: repo.target.description,
          snapshot: result.snapshot.object,
          seq: result.seq,
          generation: newGeneration,
          previousGeneration,
          accounts: result.accounts?.object ?? null,
          users: result.users,
          otherHistories: result.history?.others ?? [],
        },
      },
      now(),
    );
    return { ...result, generation: newGeneration, database: db.describe };
  } finally {
    await db.close();
  }
}
