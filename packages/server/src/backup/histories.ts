import { type JournalHead, listVerifications, type Repository, type StoredSnapshot } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import { chainFrom, chainHead, loadSegmentCache, type RepositoryView, scanRepository } from './repository-view.js';

/** Where a restore stops. Without either, everything the chosen history holds is restored. */
export interface RestorePoint {
  /** Restore revisions with seq ≤ this. */
  seq?: number;
  /** Restore revisions recorded at or before this time. */
  at?: Date;
}

/**
 * One database lineage's history on a target: its snapshots and the journal
 * chain after them. A repository holds several when a server was restored or
 * rolled back and shipped again (each database lineage is a generation).
 */
export interface History {
  generation: string;
  /** This generation's snapshots, oldest first. */
  snapshots: StoredSnapshot[];
  /** The head of this generation's journal chain when it reaches back to one of its snapshots, else null. */
  head: (JournalHead & { createdAt: string }) | null;
  /** The seq of the oldest snapshot the journal chain reaches back to, or null. */
  journalBase: number | null;
  /** The highest seq a restore of this history brings back. */
  toSeq: number;
  /** Revisions in the journal after the newest snapshot. */
  journalRevisions: number;
  firstAt: string;
  lastAt: string;
  /** Why the journal after the newest snapshot cannot be used, when it cannot. */
  broken: string | null;
}

/** A history as reported to people and to `--json`. */
export interface HistorySummary {
  generation: string;
  /** A restore brings back revisions 1..toSeq; the earliest restore point is the oldest snapshot's seq. */
  oldestSnapshotSeq: number;
  toSeq: number;
  firstAt: string;
  lastAt: string;
  snapshots: number;
  journalHead: { seq: number; createdAt: string; object: string } | null;
  broken: string | null;
}

/** What a restore to a point would do. */
export interface RestorePlan {
  history: History;
  snapshot: StoredSnapshot;
  /** The other histories on the target (non-empty means they diverged). */
  others: History[];
}

/** Every history on the target that can be restored (has a snapshot), best first (see {@link rankHistories}). */
export function listHistories(view: RepositoryView): History[] {
  const generations = new Set<string>(view.snapshots.map((s) => s.manifest.generation));
  const out: History[] = [];
  for (const generation of generations) {
    const snapshots = view.snapshots.filter((s) => s.manifest.generation === generation);
    const newest = snapshots.at(-1) as StoredSnapshot;
    const times = snapshots.map((s) => s.manifest.createdAt);
    for (const info of view.segments.values()) if (info.generation === generation) times.push(info.createdAt);
    times.sort();
    const history: History = {
      generation,
      snapshots,
      head: null,
      journalBase: null,
      toSeq: newest.manifest.seq,
      journalRevisions: 0,
      firstAt: times[0] as string,
      lastAt: times.at(-1) as string,
      broken: null,
    };
    const head = chainHead(view, generation);
    if (head && head.toSeq > newest.manifest.seq) {
      const createdAt = view.segments.get(head.object)?.createdAt ?? newest.manifest.createdAt;
      try {
        history.journalRevisions = journalRevisionsAfter(view, head.object, newest.manifest.seq);
        history.head = { ...head, createdAt };
        history.toSeq = head.toSeq;
      } catch (error) {
        history.broken = error instanceof Error ? error.message : String(error);
      }
    }
    if (head) {
      // The oldest snapshot the chain still reaches back to: a restore may start from it or any newer one.
      history.journalBase =
        snapshots.find((s) => {
          try {
            chainFrom(view, head.object, s.manifest.seq);
            return true;
          } catch {
            return false;
          }
        })?.manifest.seq ?? null;
      if (history.head === null && history.journalBase !== null)
        history.head = { ...head, createdAt: view.segments.get(head.object)?.createdAt ?? newest.manifest.createdAt };
    }
    out.push(history);
  }
  return rankHistories(out);
}

/** Revisions the journal chain ending at `head` holds after `afterSeq` (throws when the chain breaks first). */
export function journalRevisionsAfter(view: RepositoryView, head: string, afterSeq: number): number {
  let count = 0;
  for (const { info } of chainFrom(view, head, afterSeq)) {
    const span = info.toSeq - Math.max(info.fromSeq, afterSeq + 1) + 1;
    // A segment straddling the snapshot: count the seqs after it, never more than the segment holds.
    count += Math.min(span, info.revisions ?? span);
  }
  return count;
}

/** The longest acknowledged history first: the highest seq reached, then the most revisions, then the newest. */
function rankHistories(histories: History[]): History[] {
  const size = (h: History) => (h.snapshots.at(-1)?.manifest.records ?? 0) + h.journalRevisions;
  return histories.sort(
    (a, b) => b.toSeq - a.toSeq || size(b) - size(a) || Date.parse(b.lastAt) - Date.parse(a.lastAt),
  );
}

/** A history as people and `--json` see it. */
export function summarizeHistory(history: History): HistorySummary {
  return {
    generation: history.generation,
    oldestSnapshotSeq: history.snapshots[0]?.manifest.seq ?? 0,
    toSeq: history.toSeq,
    firstAt: history.firstAt,
    lastAt: history.lastAt,
    snapshots: history.snapshots.length,
    journalHead: history.head
      ? { seq: history.head.toSeq, createdAt: history.head.createdAt, object: history.head.object }
      : null,
    broken: history.broken,
  };
}

function usableSnapshots(history: History, point: RestorePoint): StoredSnapshot[] {
  return history.snapshots.filter(
    (s) =>
      (point.seq === undefined || s.manifest.seq <= point.seq) &&
      (point.at === undefined || Date.parse(s.manifest.createdAt) <= point.at.getTime()),
  );
}

/** How far a history gets toward `point` (an estimate for `at`: segment times trail their revisions). */
function reach(history: History, point: RestorePoint): number {
  const base = usableSnapshots(history, point).at(-1)?.manifest.seq ?? -1;
  let end = point.at === undefined ? history.toSeq : Math.max(base, history.snapshots.at(-1)?.manifest.seq ?? -1);
  if (point.at !== undefined && history.head && Date.parse(history.head.createdAt) <= point.at.getTime())
    end = history.toSeq;
  return point.seq === undefined ? end : Math.min(end, point.seq);
}

/** Names a history for a message: generation, seq range and time range. */
export function describeHistory(history: History): string {
  const s = summarizeHistory(history);
  return `generation ${s.generation} (revisions 1..${s.toSeq}, written ${s.firstAt} to ${s.lastAt})`;
}

/**
 * Chooses the history and snapshot a restore to `point` starts from. By
 * default the longest acknowledged history; with `point.seq`, the one
 * history that reaches that seq (several: the caller must name one with
 * `generation`); with `point.at`, the one reaching furthest by then. Within
 * the history, the newest snapshot at or before the point, preferring
 * snapshots that passed a drill.
 */
export function planRestore(
  histories: readonly History[],
  point: RestorePoint,
  verified: ReadonlySet<string>,
  generation?: string,
): RestorePlan {
  let candidates = histories.filter((h) => usableSnapshots(h, point).length > 0);
  if (generation !== undefined) {
    candidates = candidates.filter((h) => h.generation === generation);
    if (candidates.length === 0) {
      const known = histories.map((h) => h.generation).join(', ') || 'none';
      throw new AppError(
        'not_found',
        `generation ${generation} has no snapshot old enough for that restore point (generations: ${known})`,
      );
    }
  }
  if (candidates.length === 0) throw new AppError('not_found', 'no snapshot is old enough for that restore point');
  if (point.seq !== undefined && generation === undefined) {
    const containing = candidates.filter((h) => h.toSeq >= (point.seq as number));
    if (containing.length > 1) {
      throw new AppError(
        'conflict',
        `revision ${point.seq} exists in ${containing.length} diverged histories: ${containing.map(describeHistory).join('; ')}. Choose one with --generation`,
        { generations: containing.map((h) => h.generation) },
      );
    }
    if (containing.length === 1) candidates = containing;
  }
  const ranked = [...candidates].sort((a, b) => reach(b, point) - reach(a, point));
  const history = ranked[0] as History;
  const usable = usableSnapshots(history, point);
  // An older verified snapshot needs the journal after it; without a whole chain, only the newest will do.
  const base = history.journalBase;
  const preferred =
    base === null ? undefined : usable.filter((s) => s.manifest.seq >= base && verified.has(s.object)).at(-1);
  const snapshot = preferred ?? (usable.at(-1) as StoredSnapshot);
  return { history, snapshot, others: histories.filter((h) => h !== history) };
}

/** Scans the repository and plans a restore to `point`. */
export async function planRepositoryRestore(
  repo: Repository,
  point: RestorePoint = {},
  generation?: string,
): Promise<RestorePlan & { histories: History[]; view: RepositoryView }> {
  const view = await scanRepository(repo, await loadSegmentCache(null));
  const histories = listHistories(view);
  const verified = new Set((await listVerifications(repo)).filter((v) => v.record.ok).map((v) => v.record.snapshot));
  return { ...planRestore(histories, point, verified, generation), histories, view };
}
