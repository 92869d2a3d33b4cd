import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { appendLedgerEntry } from '../ledger/ledger.js';
import type { Db } from '../store/database.js';
import { readGeneration, readMeta, replaceGeneration } from '../store/meta.js';
import { lockLogHead, readHead } from '../store/revision-log.js';
import { inTransaction } from '../store/transactions.js';
import { holdAfterLoss } from './recovery.js';

/**
 * The highest sequence this server has seen committed, kept in a file beside
 * (not inside) the database. If the database comes back with a lower head in
 * the same generation, it was rolled back to an older copy: the generation
 * changes so every device notices and re-seeds what was lost, instead of
 * mistaking new writes at reused sequence numbers for the ones it has.
 */
export interface HighWaterMark {
  note(seq: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface MarkFile {
  generation: string;
  seq: number;
  at: string;
}

const FILE = 'lineage.json';
const FLUSH_MS = 1000;

export interface LineageCheck {
  generation: string;
  rolledBack: boolean;
  replaced: boolean;
}

/** Compares the database with the last high-water mark; bumps the generation after a rollback. */
export async function checkLineage(db: Db, dataDir: string, log: Logger, now = Date.now()): Promise<LineageCheck> {
  const mark = await readMark(join(dataDir, FILE));
  const generation = await readGeneration(db);
  const head = await readHead(db);
  if (!mark) return { generation, rolledBack: false, replaced: false };
  if (mark.generation === generation && head < mark.seq) {
    const next = await startNewGeneration(db, generation, {
      summary: `The database came back at revision ${head} after revision ${mark.seq} had been committed: revisions ${head + 1}-${mark.seq} are missing. Devices will re-upload what they hold.`,
      details: { head, lostFrom: head + 1, lostTo: mark.seq },
      now,
    });
    log.error(
      { previousGeneration: generation, generation: next, head, highWaterMark: mark.seq },
      'database rollback detected',
    );
    return { generation: next, rolledBack: true, replaced: false };
  }
  if (mark.generation !== generation) {
    // Another server on the same database may already have handled this lineage change.
    const handled = (await readMeta(db, `generation_replaced:${mark.generation}`)) !== undefined;
    if (!handled) {
      await inTransaction(db, async (trx) => {
        await lockLogHead(trx, db.engine);
        await appendLedgerEntry(
          trx,
          {
            kind: 'database_replaced',
            userId: null,
            summary: `This server last saw database lineage ${mark.generation} at revision ${mark.seq}; it now runs on lineage ${generation} at revision ${head}.`,
            details: { previousGeneration: mark.generation, previousHead: mark.seq, generation, head },
          },
          now,
        );
        // A database restored from backup came back with its history: only an unexplained replacement is a loss.
        if ((await readMeta(trx, 'restored_from')) === undefined) {
          await holdAfterLoss(trx, { reason: 'database_replaced', generation, now });
        }
      });
      log.warn({ previousGeneration: mark.generation, generation }, 'database lineage changed since last start');
    }
    return { generation, rolledBack: false, replaced: !handled };
  }
  return { generation, rolledBack: false, replaced: false };
}

/**
 * Gives the database a new generation and records `rollback_detected` on the
 * ledger, in one transaction holding the log lock: every cursor and sync
 * token issued before is refused from then on, so devices re-seed what the
 * rollback lost instead of trusting sequence numbers that now name other
 * revisions. DAV clients are held off until the loss is made good.
 */
export async function startNewGeneration(
  db: Db,
  generation: string,
  entry: { summary: string; details: Record<string, unknown>; now: number },
): Promise<string> {
  const next = randomBytes(16).toString('base64url');
  await inTransaction(db, async (trx) => {
    await lockLogHead(trx, db.engine);
    await replaceGeneration(trx, generation, next);
    await appendLedgerEntry(
      trx,
      {
        kind: 'rollback_detected',
        userId: null,
        summary: entry.summary,
        details: { previousGeneration: generation, generation: next, ...entry.details },
      },
      entry.now,
    );
    await holdAfterLoss(trx, { reason: 'rollback_detected', generation: next, now: entry.now });
  });
  return next;
}

async function readMark(path: string): Promise<MarkFile | null> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as MarkFile;
    return typeof data.generation === 'string' && typeof data.seq === 'number' ? data : null;
  } catch {
    return null;
  }
}

async function writeMark(path: string, mark: MarkFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // A name of its own per write: two writers of one data directory (a server and a command run beside it) must
  // not rename each other's half-written file away.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  // Owner-only like everything in the data directory, whatever the umask.
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.chmod(0o600);
    await file.writeFile(JSON.stringify(mark));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

/**
 * Keeps the mark current: noted sequences are flushed every second (a mark a
 * second behind still catches any rollback to a copy older than that).
 */
export async function createHighWaterMark(dataDir: string, generation: string, head: number): Promise<HighWaterMark> {
  const path = join(dataDir, FILE);
  let seq = head;
  let written = -1;
  const flush = async () => {
    if (seq === written) return;
    const target = seq;
    await writeMark(path, { generation, seq: target, at: new Date().toISOString() });
    written = target;
  };
  await flush();
  let flushing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    flushing = flushing.then(flush).catch(() => {});
  }, FLUSH_MS);
  timer.unref();
  return {
    note(next) {
      if (next > seq) seq = next;
    },
    flush: () => {
      flushing = flushing.then(flush);
      return flushing;
    },
    async close() {
      clearInterval(timer);
      await flushing.catch(() => {});
      await flush();
    },
  };
}
