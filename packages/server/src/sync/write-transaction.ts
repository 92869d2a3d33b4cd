import type { Transaction } from 'kysely';
import type { Context } from '../context.js';
import {
  advanceLogHead,
  appendRevisions,
  lockLogHead,
  type NewRevision,
  type RevisionRow,
} from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import {
  beginSavepoint,
  inTransaction,
  notifyOnCommit,
  releaseSavepoint,
  rollbackToSavepoint,
} from '../store/transactions.js';
import { NOTIFY_CHANNEL } from './change-notifier.js';
import { noteCommitted, type WriteReceipt, type Writer } from './write-receipt.js';

export type Append = (revisions: NewRevision[]) => Promise<number[]>;
type Work = (trx: Transaction<Database>, append: Append) => Promise<unknown>;

interface Waiting {
  userId: string;
  work: Work;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** The request's receipt: what it committed decides what its acknowledgement waits for. */
  receipt: WriteReceipt | undefined;
}

interface Outcome {
  ok: boolean;
  value: unknown;
  /** The last seq this write appended, or 0 if it appended nothing. */
  last: number;
}

/** Writes that share one transaction and one fsync, at most. */
const MAX_GROUP = 64;

/**
 * One queue per database (it lives in the context): a commit costs an fsync,
 * so writes that arrive while one is being prepared or committed wait and
 * then commit together.
 */
export interface CommitQueue {
  waiting: Waiting[];
  busy: boolean;
  /** Given the rows of every commit, in seq order, before its writers are answered (backup shipping takes them). */
  onCommitted: ((rows: readonly RevisionRow[]) => void) | null;
}

export function createCommitQueue(): CommitQueue {
  return { waiting: [], busy: false, onCommitted: null };
}

/**
 * The one way to change a user's data: a transaction that holds the log's
 * write lock, appends revisions and updates the materialised heads together.
 * When it resolves, the commit is durable (SQLite synchronous=FULL; PostgreSQL
 * synchronous_commit) on this server; the seq it appended is noted in the
 * writer's receipt (the request's), and the HTTP layer acknowledges once that
 * seq is also on the backup targets (backup/ack-gate.ts, `backupAck`).
 *
 * Group commit: concurrent calls run one after another inside one database
 * transaction, each in its own savepoint, so a failing write rolls back alone
 * and later writes see earlier ones exactly as with separate transactions.
 * Every caller is answered only after the shared commit has returned, so no
 * write is acknowledged before it is durable; if the commit fails, all fail.
 */
export function writeTransaction<T>(
  ctx: Context,
  writer: Writer,
  work: (trx: Transaction<Database>, append: Append) => Promise<T>,
): Promise<T> {
  const target = ctx.commits;
  const { userId, receipt } = writer;
  return new Promise<T>((resolve, reject) => {
    target.waiting.push({ userId, work, resolve: resolve as (value: unknown) => void, reject, receipt });
    schedule(ctx, target);
  });
}

function schedule(ctx: Context, queue: CommitQueue): void {
  if (queue.busy || queue.waiting.length === 0) return;
  queue.busy = true;
  // One turn of the event loop lets requests that arrived together join the group.
  setImmediate(() => {
    const group = queue.waiting.splice(0, MAX_GROUP);
    commitGroup(ctx, group).finally(() => {
      queue.busy = false;
      schedule(ctx, queue);
    });
  });
}

async function commitGroup(ctx: Context, group: Waiting[]): Promise<void> {
  let outcomes: Outcome[];
  let first = 0;
  let last = 0;
  // The rows of the writes that keep theirs (a write rolled back to its savepoint takes its rows back), for
  // shipping; without it they are not kept past their insert.
  const rows: RevisionRow[] | null = ctx.commits.onCommitted ? [] : null;
  try {
    ({ outcomes, first, last } = await inTransaction(ctx.db, async (trx) => {
      const head = await lockLogHead(trx, ctx.db.engine);
      let end = head;
      const append: Append = async (revisions) => {
        const appended = await appendRevisions(trx, end, revisions);
        end = appended.head;
        if (rows) for (const row of appended.rows) rows.push(row);
        return appended.seqs;
      };
      const results: Outcome[] = [];
      for (const waiting of group) {
        const before = end;
        const kept = rows?.length ?? 0;
        if (group.length === 1) {
          results.push({ ok: true, value: await waiting.work(trx, append), last: end.seq > before.seq ? end.seq : 0 });
          continue;
        }
        await beginSavepoint(trx);
        try {
          const value = await waiting.work(trx, append);
          await releaseSavepoint(trx);
          results.push({ ok: true, value, last: end.seq > before.seq ? end.seq : 0 });
        } catch (error) {
          // SQLite ends the whole transaction on some errors (a full disk): with no savepoint left, the
          // writer's own error is what every writer of the group must hear, not the failed rollback's.
          await rollbackToSavepoint(trx).catch(() => {
            throw error;
          });
          end = before;
          if (rows) rows.length = kept;
          results.push({ ok: false, value: error, last: 0 });
        }
      }
      if (end.seq > head.seq) await advanceLogHead(trx, end);
      if (end.seq > head.seq && ctx.db.engine === 'postgres') {
        // Delivered by PostgreSQL only if this transaction commits.
        for (const [userId, userLast] of lastPerUser(group, results)) {
          await notifyOnCommit(trx, NOTIFY_CHANNEL, `${userId} ${userLast}`);
        }
      }
      return { outcomes: results, first: head.seq, last: end.seq };
    }));
  } catch (error) {
    for (const waiting of group) waiting.reject(error);
    return;
  }
  if (last > first) {
    if (rows && rows.length > 0) ctx.commits.onCommitted?.(rows);
    ctx.highWaterMark.note(last);
    ctx.metrics.logHead.set(last);
    for (const [userId, userLast] of lastPerUser(group, outcomes)) ctx.notifier.publishLocal(userId, userLast);
  }
  group.forEach((waiting, i) => {
    const outcome = outcomes[i] as Outcome;
    if (outcome.ok) {
      noteCommitted(waiting.receipt, outcome.last);
      waiting.resolve(outcome.value);
    } else waiting.reject(outcome.value);
  });
}

function lastPerUser(group: Waiting[], outcomes: Outcome[]): Map<string, number> {
  const out = new Map<string, number>();
  group.forEach((waiting, i) => {
    const last = outcomes[i]?.last ?? 0;
    if (last > (out.get(waiting.userId) ?? 0)) out.set(waiting.userId, last);
  });
  return out;
}
