import { Worker } from 'node:worker_threads';
import { sqliteDriverPath } from '@holdfast/node-io';
import { AppError } from '@holdfast/protocol';
import { sql } from 'kysely';
import type { Db } from './database.js';

/** What SQLite's own checks say about a database file. */
export interface SqliteIntegrity {
  /** `integrity_check`'s lines; exactly `['ok']` for a sound file. */
  integrity: string[];
  foreignKeyViolations: number;
}

/** Runs SQLite's integrity and foreign-key checks (SQLite only). */
export async function checkSqliteIntegrity(db: Db): Promise<SqliteIntegrity> {
  const integrity = await sql<{ integrity_check: string }>`PRAGMA integrity_check`.execute(db.kysely);
  const foreign = await sql<Record<string, unknown>>`PRAGMA foreign_key_check`.execute(db.kysely);
  return { integrity: integrity.rows.map((row) => row.integrity_check), foreignKeyViolations: foreign.rows.length };
}

/**
 * {@link checkSqliteIntegrity} of the SQLite file at `path`, on a read-only
 * connection of its own in a worker thread: the checks read every page and
 * take as long as the rest of a restore drill's reads, which the calling
 * thread does meanwhile. Nothing may write to the file until this settles.
 */
export function checkSqliteFileIntegrity(path: string, cacheKib: number): Promise<SqliteIntegrity> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(INTEGRITY_WORKER, {
      eval: true,
      workerData: { driver: sqliteDriverPath, path, cacheKib },
    });
    let result: SqliteIntegrity | null = null;
    worker.once('message', (message: SqliteIntegrity) => {
      result = message;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new AppError('internal', `the integrity check of ${path} ended without a result (exit ${code})`));
    });
  });
}

/** The worker: opens the file, runs both checks, closes it (before exiting, so no statement outlives the thread). */
const INTEGRITY_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
try {
  db.pragma('cache_size = -' + Number(workerData.cacheKib));
  db.pragma('temp_store = MEMORY');
  const integrity = db.pragma('integrity_check').map((row) => row.integrity_check);
  const foreignKeyViolations = db.pragma('foreign_key_check').length;
  parentPort.postMessage({ integrity, foreignKeyViolations });
} finally {
  db.close();
}
`;
