import { AppError, type ChangesResponse, decodeCursor, encodeCursor } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { readGeneration } from '../store/meta.js';
import { readHead, readUserRevisions } from '../store/revision-log.js';
import { toWireRevision } from './wire.js';

/**
 * A page of the caller's revisions after the cursor. The cursor is checked
 * against this database's generation and head first: a cursor from another
 * lineage, or one past the head, means the server lost or replaced data, and
 * answering with an empty page would tell the device "nothing changed".
 */
export async function readChanges(
  ctx: Context,
  caller: Caller,
  cursor: string | undefined,
  limit: number,
): Promise<ChangesResponse> {
  const generation = await readGeneration(ctx.db);
  // Read the head before the rows: every revision at or below it is committed.
  const head = await readHead(ctx.db);
  const after = cursor ? checkCursor(cursor, generation, head) : 0;
  const rows = await readUserRevisions(ctx.db, caller.userId, after, head, limit);
  const hasMore = rows.length === limit;
  const last = hasMore ? (rows[rows.length - 1]?.seq ?? after) : head;
  return {
    changes: rows.map(toWireRevision),
    cursor: encodeCursor({ generation, seq: last }),
    hasMore,
    generation,
  };
}

export function checkCursor(cursor: string, generation: string, head: number): number {
  const position = decodeCursor(cursor);
  if (position.generation !== generation) {
    throw new AppError('generation_changed', 'This server was restored or replaced since the cursor was issued.', {
      generation,
      cursorGeneration: position.generation,
      head,
    });
  }
  if (position.seq > head) {
    throw new AppError('cursor_ahead', 'The cursor is ahead of the server: the server has lost changes.', {
      generation,
      head,
      cursorSeq: position.seq,
    });
  }
  return position.seq;
}

/** The cursor for "now", returned after pushes so a device need not re-pull its own writes blindly. */
export async function currentCursor(ctx: Context): Promise<{ cursor: string; generation: string; head: number }> {
  const generation = await readGeneration(ctx.db);
  const head = await readHead(ctx.db);
  return { cursor: encodeCursor({ generation, seq: head }), generation, head };
}
