import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { recordIncident } from '../ledger/ledger.js';
import { readCollection } from '../store/collections.js';
import { countEntriesOfKind, listEntriesOfKind } from '../store/ledger-entries.js';
import { usernamesById } from '../store/user-directory.js';

/** A user's report of a problem, as operators read it. */
export interface UserReport {
  seq: number;
  at: string;
  username: string;
  text: string;
  collectionId: string | null;
}

/**
 * Files a report from the caller: an entry on their own ledger, so it is on
 * the record beside the incidents it may be about. A collection it names
 * must be the caller's own.
 */
export async function fileReport(
  ctx: Context,
  caller: Caller,
  input: { text: string; collectionId?: string | undefined },
): Promise<{ seq: number }> {
  const collectionId = input.collectionId ?? null;
  if (collectionId !== null && !(await readCollection(ctx.db, caller.userId, collectionId))) {
    throw new AppError('not_found', `No collection ${collectionId}.`);
  }
  const firstLine = input.text.split('\n')[0]?.slice(0, 200) ?? '';
  const row = await recordIncident(
    ctx.db,
    {
      kind: 'user_report',
      userId: caller.userId,
      summary: `${caller.username} reported a problem: ${firstLine}`,
      details: { text: input.text, collectionId },
    },
    ctx.now(),
  );
  return { seq: row.seq };
}

/** Reports, newest first; `before` (a seq) pages back. */
export async function listReports(
  ctx: Pick<Context, 'db'>,
  options: { before?: number | undefined; limit: number },
): Promise<UserReport[]> {
  const rows = await listEntriesOfKind(ctx.db, 'user_report', {
    limit: options.limit,
    ...(options.before !== undefined ? { before: options.before } : {}),
  });
  const names = await usernamesById(
    ctx.db,
    rows.map((r) => r.user_id ?? ''),
  );
  return rows.map((row) => {
    const details = JSON.parse(row.details) as { text?: string; collectionId?: string | null };
    return {
      seq: Number(row.seq),
      at: new Date(Number(row.at)).toISOString(),
      username: names.get(row.user_id ?? '') ?? '(deleted account)',
      text: details.text ?? '',
      collectionId: details.collectionId ?? null,
    };
  });
}

/** Reports on record; there is no closing one yet, so every report counts as open. */
export function countReports(ctx: Pick<Context, 'db'>): Promise<number> {
  return countEntriesOfKind(ctx.db, 'user_report');
}
