import type { Kysely } from 'kysely';
import { type RevisionRow, readRevisionRange } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';

/**
 * The revisions this process committed last, as its writes handed them over
 * (sync/write-transaction.ts), so a shipping pass need not read back from the
 * database what was just written there. Only a gap-free run of seqs is kept:
 * anything else (a revision another server committed, one appended outside
 * the commit queue, a run that no longer fits) leaves a gap, and a pass that
 * meets a gap reads the revisions from the database as it always could.
 */
export interface RevisionHandoff {
  /** Consecutive rows, oldest first. */
  rows: RevisionRow[];
  /** Sum of their content lengths, which bounds the memory a stalled target keeps. */
  chars: number;
  /** How many ranges were taken from here and how many had to be read (tests and profiling). */
  taken: number;
  read: number;
}

/** Rows kept at most: a pass takes at most one segment's worth at once. */
const MAX_ROWS = 1000;
/** Content characters kept at most (a few large messages must not pin much memory while a target is down). */
const MAX_CHARS = 8 * 1024 * 1024;

export function createHandoff(): RevisionHandoff {
  return { rows: [], chars: 0, taken: 0, read: 0 };
}

/** Adds rows a commit just made durable here; rows that do not continue the run start a new one. */
export function offerRows(handoff: RevisionHandoff, rows: readonly RevisionRow[]): void {
  for (const row of rows) {
    const last = handoff.rows.at(-1);
    if (last && row.seq !== last.seq + 1) dropRows(handoff, handoff.rows.length);
    handoff.rows.push(row);
    handoff.chars += row.content?.length ?? 0;
  }
  // The oldest go first: the newest are the ones a waiting write needs.
  let over = Math.max(0, handoff.rows.length - MAX_ROWS);
  let chars = handoff.chars;
  for (let i = 0; i < handoff.rows.length && chars > MAX_CHARS; i++) {
    chars -= handoff.rows[i]?.content?.length ?? 0;
    over = Math.max(over, i + 1);
  }
  dropRows(handoff, over);
}

function dropRows(handoff: RevisionHandoff, count: number): void {
  if (count <= 0) return;
  for (let i = 0; i < count; i++) handoff.chars -= handoff.rows[i]?.content?.length ?? 0;
  handoff.rows.splice(0, count);
}

/**
 * The committed revisions after `afterSeq` up to `uptoSeq`, at most `limit`,
 * in seq order, as `readRevisionRange` returns them: from the hand-off when it
 * holds all of them, from the database otherwise. Rows taken, and rows up to
 * `afterSeq` (the target holds them), are forgotten: a segment that fails to
 * land is built again from the database.
 */
export async function takeRevisions(
  handoff: RevisionHandoff | undefined,
  db: Kysely<Database>,
  afterSeq: number,
  uptoSeq: number,
  limit: number,
): Promise<RevisionRow[]> {
  if (handoff) {
    const first = handoff.rows[0];
    if (first && first.seq <= afterSeq) dropRows(handoff, Math.min(afterSeq - first.seq + 1, handoff.rows.length));
    const start = handoff.rows[0];
    const end = Math.min(uptoSeq, afterSeq + limit);
    if (start && start.seq === afterSeq + 1 && (handoff.rows.at(-1)?.seq ?? 0) >= end) {
      handoff.taken += 1;
      // Let go of them at once: rows kept past the next collection of the young generation cost a full one.
      const taken = handoff.rows.slice(0, end - afterSeq);
      dropRows(handoff, taken.length);
      return taken;
    }
    handoff.read += 1;
  }
  return readRevisionRange(db, afterSeq, uptoSeq, limit);
}
