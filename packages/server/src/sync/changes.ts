import { AppError, type ChangesResponse, decodeCursor, encodeCursor } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { readGenerationAndHead } from '../store/meta.js';
import type { Queryable } from '../store/queryable.js';
import { chainPrefix } from '../store/revision-chain.js';
import { type LogHead, type RevisionRow, readChainAt, readUserRevisions } from '../store/revision-log.js';
import { toWireRevision } from './wire.js';

/**
 * A page of the caller's revisions after the cursor. The cursor is checked
 * against this database's generation, head and revision chain first: a
 * cursor from another lineage, one past the head, or one whose sequence
 * number now holds other revisions means the server lost or replaced data,
 * and answering with a page would tell the device "nothing else changed".
 */
export async function readChanges(
  ctx: Context,
  caller: Caller,
  cursor: string | undefined,
  limit: number,
): Promise<ChangesResponse> {
  const page = await readPage(ctx, caller, cursor, limit);
  return {
    changes: page.rows.map(toWireRevision),
    cursor: page.cursor,
    hasMore: page.hasMore,
    generation: page.generation,
  };
}

/**
 * The page `readChanges` gives, with `backupWatermark()` (read after the page), as the JSON text of the answer.
 * Content and meta are stored as JSON text and go out as they are, instead of being parsed only to be written
 * out again: work that grew with every byte of the page.
 */
export async function readChangesJson(
  ctx: Context,
  caller: Caller,
  cursor: string | undefined,
  limit: number,
  backupWatermark: () => number | null,
): Promise<string> {
  const page = await readPage(ctx, caller, cursor, limit);
  return (
    `{"changes":[${page.rows.map(wireRevisionJson).join(',')}],"cursor":${JSON.stringify(page.cursor)},` +
    `"hasMore":${page.hasMore},"generation":${JSON.stringify(page.generation)},` +
    `"backupWatermark":${JSON.stringify(backupWatermark())}}`
  );
}

async function readPage(ctx: Context, caller: Caller, cursor: string | undefined, limit: number) {
  // Read the head before the rows: every revision at or below it is committed.
  const { generation, head } = await readGenerationAndHead(ctx.db);
  const after = cursor ? await checkCursor(ctx.db, cursor, generation, head) : 0;
  const rows = await readUserRevisions(ctx.db, caller.userId, after, head.seq, limit);
  const hasMore = rows.length === limit;
  const lastRow = rows[rows.length - 1];
  const last: LogHead = hasMore && lastRow ? { seq: lastRow.seq, chain: lastRow.chain } : head;
  return { rows, cursor: cursorAt(generation, last), hasMore, generation };
}

const json = JSON.stringify;

/** `toWireRevision(row)` as JSON text, with the stored JSON of content and meta spliced in unparsed. */
export function wireRevisionJson(row: RevisionRow): string {
  const text = row.content_type === 'text/vcard' || row.content_type === 'text/calendar';
  const content = row.content === null ? 'null' : text ? json(row.content) : row.content;
  const blob = row.blob_sha256
    ? `{"sha256":${json(row.blob_sha256)},"contentType":${json(row.blob_content_type ?? 'application/octet-stream')}}`
    : 'null';
  return (
    `{"revision":${row.seq},"entity":${json(row.entity)},"op":${json(row.op)},` +
    `"collectionId":${json(row.collection_id)},"itemId":${json(row.item_id)},"deviceId":${json(row.device_id)},` +
    `"origin":${json(row.origin)},"contentType":${json(row.content_type)},"content":${content},"blob":${blob},` +
    `"meta":${row.meta ? row.meta : 'null'},"hash":${json(row.content_hash)},"size":${row.size},` +
    `"at":${json(new Date(row.created_at).toISOString())}}`
  );
}

/** The cursor for a position in the log, in the current format. */
export function cursorAt(generation: string, at: LogHead): string {
  return encodeCursor({ generation, seq: at.seq, chain: chainPrefix(at.chain) });
}

/**
 * The sequence number a cursor stands for, after checking it still names a position in this log. `at` is the head
 * just read with `generation`.
 */
export async function checkCursor(on: Queryable, cursor: string, generation: string, at: LogHead): Promise<number> {
  const head = at.seq;
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
  if (position.chain !== undefined && !(await chainMatches(on, position.seq, position.chain, at))) {
    throw new AppError(
      'cursor_diverged',
      'The server holds other revisions at this cursor than when it was issued: it was rolled back and has been written to since.',
      { generation, head, cursorSeq: position.seq },
    );
  }
  return position.seq;
}

/** True when the log's chain value at `seq` starts with `prefix`; `head`, if the caller just read it. */
export async function chainMatches(on: Queryable, seq: number, prefix: string, head?: LogHead): Promise<boolean> {
  const chain = await readChainAt(on, seq, head);
  // A log migrated from before the chain has a value everywhere; a missing one means a gap, which a cursor never names.
  return chain !== undefined && chainPrefix(chain) === prefix;
}

/** The cursor for "now", returned after pushes so a device need not re-pull its own writes blindly. */
export async function currentCursor(ctx: Context): Promise<{ cursor: string; generation: string; head: number }> {
  const { generation, head } = await readGenerationAndHead(ctx.db);
  return { cursor: cursorAt(generation, head), generation, head: head.seq };
}
