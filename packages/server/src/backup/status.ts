import { openRepository } from '@holdfast/backup';
import type { Config } from '../config.js';
import type { Db } from '../store/database.js';
import { readGeneration } from '../store/meta.js';
import { readFirstRevisionTimeAfter, readHead } from '../store/revision-log.js';
import { type RepositoryCoverage, readCoverage } from './coverage.js';
import type { HistorySummary } from './histories.js';
import { backupSecret, backupTargetLocations, openBackupTarget } from './targets.js';

/** "Could I restore from this target right now, and how much would I lose?" */
export interface TargetStatus {
  index: number;
  location: string;
  reachable: boolean;
  error: string | null;
  newestSnapshot: { object: string; seq: number; createdAt: string; generation: string } | null;
  newestVerified: { object: string; seq: number; verifiedAt: string; generation: string } | null;
  /** The database's generation, when it could be read. */
  generation: string | null;
  /** Newest seq restorable for the database's generation (snapshot or journal), or null. */
  restorableSeq: number | null;
  /** The database head, when the database could be read. */
  headSeq: number | null;
  /** Revisions a restore right now would not bring back. */
  lagRevisions: number | null;
  /** Seconds since the oldest revision a restore would not bring back was committed. */
  lagSeconds: number | null;
  freeBytes: number | null;
  /**
   * The journal head: of the database's generation when a database is given
   * and has a chain on the target, else of the history a restore would use.
   */
  journalHead: { generation: string; seq: number; createdAt: string } | null;
  /** Snapshots, histories and what a restore would bring back (null when unreachable). */
  coverage: RepositoryCoverage | null;
}

/** Reads the state of every configured target (and, if given, compares it with the database). */
export async function readBackupStatus(config: Config, db: Db | null, now = Date.now()): Promise<TargetStatus[]> {
  const head = db ? await readHead(db.kysely).catch(() => null) : null;
  const generation = db ? await readGeneration(db.kysely).catch(() => null) : null;
  const out: TargetStatus[] = [];
  for (const [index, location] of backupTargetLocations(config).entries()) {
    const status: TargetStatus = {
      index,
      location: location.replace(/\/\/[^@/]*@/, '//'),
      reachable: false,
      error: null,
      newestSnapshot: null,
      newestVerified: null,
      restorableSeq: null,
      headSeq: head,
      generation,
      lagRevisions: null,
      lagSeconds: null,
      freeBytes: null,
      journalHead: null,
      coverage: null,
    };
    const target = openBackupTarget(location, config);
    try {
      const repo = await openRepository(target, backupSecret(config));
      status.reachable = true;
      status.freeBytes = await target.freeSpace();
      const coverage = await readCoverage(repo);
      status.coverage = coverage;
      const newest = coverage.snapshots.at(-1);
      if (newest) {
        const { object, seq, createdAt, generation: g } = newest;
        status.newestSnapshot = { object, seq, createdAt, generation: g };
      }
      // Snapshots are ordered by seq, then time: the last one a drill passed on is the newest verified.
      const verified = coverage.snapshots.filter((entry) => entry.verifiedAt !== null).at(-1);
      if (verified) {
        const { object, seq, generation: g } = verified;
        status.newestVerified = { object, seq, verifiedAt: verified.verifiedAt as string, generation: g };
      }
      const own = generation === null ? undefined : coverage.histories.find((h) => h.generation === generation);
      if (generation !== null) status.restorableSeq = own ? own.toSeq : null;
      const shown: HistorySummary | undefined = own?.journalHead
        ? own
        : coverage.histories.find((h) => h.generation === coverage.restore?.generation);
      if (shown?.journalHead) {
        const { seq, createdAt } = shown.journalHead;
        status.journalHead = { generation: shown.generation, seq, createdAt };
      }
      if (head !== null && db) {
        const covered = status.restorableSeq ?? 0;
        status.lagRevisions = Math.max(0, head - covered);
        const oldest = await readFirstRevisionTimeAfter(db.kysely, covered);
        status.lagSeconds = oldest !== undefined ? Math.max(0, (now - oldest) / 1000) : 0;
      }
    } catch (error) {
      status.error = error instanceof Error ? error.message : String(error);
    } finally {
      await target.close();
    }
    out.push(status);
  }
  return out;
}
