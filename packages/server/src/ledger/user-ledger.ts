import {
  type LedgerRow,
  listLaterEntriesOfKinds,
  listUserVisibleLedgerEntries,
  readUserCreatedAt,
} from '../store/ledger-entries.js';
import type { Queryable } from '../store/queryable.js';

/**
 * One user's view of the ledger, computed when read; the chain itself is
 * never rewritten. A deployment-wide entry (no user) is shown to every user
 * whose account existed when it was recorded, with only that user's share of
 * any per-user detail: the entry's `details.users` map is removed and the
 * user's own value, if the entry records one, is shown as `affected`. An
 * incident that lost data also lists what came back for the user afterwards
 * (`recovered`): re-seeds from their devices, restores and imports, up to the
 * next deployment-wide loss.
 */
export interface UserLedgerEntry {
  seq: number;
  at: string;
  kind: string;
  /** The user's id for their own entries; null for a deployment-wide one. */
  userId: string | null;
  scope: 'user' | 'deployment';
  summary: string;
  details: Record<string, unknown>;
  /** The chain entry's hash (of the entry as recorded, before this view). */
  hash: string;
  /** What a deployment-wide incident recorded for this user, when it records that per user. */
  affected?: Record<string, unknown> | null;
  /** For an incident that lost data: what came back for this user afterwards. */
  recovered?: Omit<UserLedgerEntry, 'recovered' | 'hash'>[];
}

/** Deployment-wide incidents after which devices re-seed or an admin restores. */
export const LOSSES = ['rollback_detected', 'database_replaced', 'restore'];
/** Entries that bring a user's data back. */
const RECOVERIES = ['reseed', 'restore', 'import'];

function project(row: LedgerRow, userId: string): Omit<UserLedgerEntry, 'recovered'> {
  const { users, ...details } = JSON.parse(row.details) as Record<string, unknown>;
  const entry: Omit<UserLedgerEntry, 'recovered'> = {
    seq: row.seq,
    at: new Date(Number(row.at)).toISOString(),
    kind: row.kind,
    userId: row.user_id,
    scope: row.user_id === null ? 'deployment' : 'user',
    summary: row.summary,
    details,
    hash: row.hash,
  };
  if (row.user_id === null && users && typeof users === 'object') {
    const own = (users as Record<string, unknown>)[userId];
    // A per-user map without this user means nothing of theirs was there to bring back.
    entry.affected = own && typeof own === 'object' ? (own as Record<string, unknown>) : { items: 0, collections: 0 };
  }
  return entry;
}

/** What came back for `userId` after the loss recorded in `row`: re-seeds, restores and imports, up to the next loss. */
export async function recoveredAfter(db: Queryable, userId: string, row: LedgerRow) {
  const later = await listLaterEntriesOfKinds(db, userId, row.seq, [...new Set([...LOSSES, ...RECOVERIES])], 50);
  const recovered: UserLedgerEntry['recovered'] = [];
  for (const next of later) {
    const loss = next.user_id === null && LOSSES.includes(next.kind);
    // A deployment-wide restore both ends this incident's story and is what came back.
    if (loss && next.kind !== 'restore') break;
    const { hash, ...rest } = project(next, userId);
    recovered.push(rest);
    if (loss) break;
  }
  return recovered;
}

/** A page of one user's ledger view, in chain order. */
export async function listUserLedgerView(
  db: Queryable,
  userId: string,
  options: { after: number; limit: number },
): Promise<UserLedgerEntry[]> {
  const since = (await readUserCreatedAt(db, userId)) ?? Number.MAX_SAFE_INTEGER;
  const rows = await listUserVisibleLedgerEntries(db, userId, { ...options, since });
  const view: UserLedgerEntry[] = [];
  for (const row of rows) {
    const entry: UserLedgerEntry = project(row, userId);
    if (row.user_id === null && LOSSES.includes(row.kind)) entry.recovered = await recoveredAfter(db, userId, row);
    view.push(entry);
  }
  return view;
}
