import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
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
 */
export async function restoreToNewDeployment(
  repo: Repository,
  destination: RestoreDestination,
  point: RestorePoint = {},
  now: () => number = Date.now,
): Promise<RestoreResult & { generation: string; database: string }> {
  await mkdir(destination.dataDir, { recursive: true });
  const existing = await readdir(destination.dataDir);
  if (existing.length > 0) {
    throw new AppError('conflict', `${destination.dataDir} is not empty; restore into a new data directory`);
  }
  const location = destination.database ?? join(destination.dataDir, 'holdfast.db');
  // A new database: the upgrade gate exempts it, so opening creates it with the current schema.
  const config = loadConfig({ flags: { data: destination.dataDir, database: location }, env: {} });
  const { db } = await openContext(config, {
    migrate: 'gated',
    databaseOnly: true,
    log: createLogger({ logLevel: 'silent' }),
  });
  try {
    const before = await readSchemaState(db);
    if (before.applied.length === 0) throw new AppError('internal', 'the new database has no schema');
    const blobs = await openBlobStore('', destination.dataDir);
    let result: RestoreResult;
    try {
      result = await restoreRepository(repo, db, { point, blobs: { mode: 'store', store: blobs } });
    } finally {
      await blobs.close();
    }
    const generation = await readGeneration(db.kysely);
    await insertMeta(
      db.kysely,
      'restored_from',
      JSON.stringify({ repository: repo.id, snapshot: result.snapshot.object, seq: result.seq }),
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
          generation,
          previousGeneration: result.snapshot.manifest.generation,
          accounts: result.accounts?.object ?? null,
          users: result.users,
        },
      },
      now(),
    );
    return { ...result, generation, database: db.describe };
  } finally {
    await db.close();
  }
}
