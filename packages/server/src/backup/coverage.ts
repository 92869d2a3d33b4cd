import { listVerifications, type Repository } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import {
  describeHistory,
  type HistorySummary,
  journalRevisionsAfter,
  listHistories,
  planRestore,
  summarizeHistory,
} from './histories.js';
import { loadSegmentCache, scanRepository } from './repository-view.js';

/** One snapshot as `backup list` and `backup status` show it. */
export interface SnapshotEntry {
  object: string;
  generation: string;
  seq: number;
  createdAt: string;
  records: number;
  /** The newest drill on it: passed, failed, or never run. */
  drill: 'passed' | 'failed' | null;
  /** When a drill on it last passed, or null. */
  verifiedAt: string | null;
}

/** What a default restore from a target would bring back right now. */
export interface RestoreCoverage {
  generation: string;
  /** Revisions 1..toSeq of the generation. */
  toSeq: number;
  snapshot: { object: string; seq: number; createdAt: string };
  /** Journal revisions applied after the snapshot. */
  journalRevisions: number;
  /** When the newest revision restored reached the target (the journal head's or the snapshot's time). */
  upToAt: string;
  /** Set when histories diverged: how to restore another one instead. */
  alternatives: string[];
}

/** What a repository holds, for people: snapshots, histories and what a restore would bring back. */
export interface RepositoryCoverage {
  repository: string;
  snapshots: SnapshotEntry[];
  /** Every history (database generation) on the target, the one a default restore uses first. */
  histories: HistorySummary[];
  restore: RestoreCoverage | null;
  /** Why no restore is possible, when none is. */
  restoreError: string | null;
}

/** Reads a repository's snapshots and journal chains, and plans a default restore from them. */
export async function readCoverage(repo: Repository): Promise<RepositoryCoverage> {
  const view = await scanRepository(repo, await loadSegmentCache(null));
  const drills = new Map<string, boolean>();
  const passed = new Map<string, string>();
  for (const v of await listVerifications(repo)) {
    drills.set(v.record.snapshot, v.record.ok);
    if (v.record.ok) passed.set(v.record.snapshot, v.record.time);
  }
  const snapshots: SnapshotEntry[] = view.snapshots.map((s) => {
    const drill = drills.get(s.object);
    return {
      object: s.object,
      generation: s.manifest.generation,
      seq: s.manifest.seq,
      createdAt: s.manifest.createdAt,
      records: s.manifest.records,
      drill: drill === undefined ? null : drill ? 'passed' : 'failed',
      verifiedAt: passed.get(s.object) ?? null,
    };
  });
  const histories = listHistories(view);
  const verified = new Set(passed.keys());
  const coverage: RepositoryCoverage = {
    repository: repo.id,
    snapshots,
    histories: histories.map(summarizeHistory),
    restore: null,
    restoreError: null,
  };
  try {
    const plan = planRestore(histories, {}, verified);
    const { history, snapshot } = plan;
    const journalRevisions = history.head ? journalRevisionsAfter(view, history.head.object, snapshot.manifest.seq) : 0;
    coverage.restore = {
      generation: history.generation,
      toSeq: history.toSeq,
      snapshot: { object: snapshot.object, seq: snapshot.manifest.seq, createdAt: snapshot.manifest.createdAt },
      journalRevisions,
      upToAt:
        history.head && history.toSeq > snapshot.manifest.seq ? history.head.createdAt : snapshot.manifest.createdAt,
      alternatives: plan.others.map((h) => `${describeHistory(h)}: --generation ${h.generation}`),
    };
  } catch (error) {
    coverage.restoreError = error instanceof AppError || error instanceof Error ? error.message : String(error);
  }
  return coverage;
}

/** "revisions 1..N of generation G (snapshot S + M journal revisions)". */
export function describeRestore(restore: RestoreCoverage): string {
  return `revisions 1..${restore.toSeq} of generation ${restore.generation} (snapshot at revision ${restore.snapshot.seq} + ${restore.journalRevisions} journal revisions), up to ${restore.upToAt}`;
}
