import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Db } from '../store/database.js';
import { insertLedgerEntry, type LedgerRow, listLedgerEntries, readLastLedgerEntry } from '../store/ledger-entries.js';
import type { Queryable } from '../store/queryable.js';
import { lockLogHead } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transactions.js';
import { listUserLedgerView, type UserLedgerEntry } from './user-ledger.js';

export type { LedgerRow, UserLedgerEntry };

/** What kinds of incident are recorded. Each names who was affected and how much. */
export type LedgerKind =
  | 'rollback_detected'
  | 'database_replaced'
  | 'reseed'
  | 'restore'
  | 'backup_failed'
  | 'drill_failed'
  | 'journal_lag'
  | 'backup_ack_degraded'
  | 'prune'
  | 'mass_change_blocked'
  | 'mass_change_confirmed'
  | 'import'
  | 'import_undo'
  | 'quota_warning'
  | 'loss_accepted'
  /** An operator acted through `/v1/admin/*`: on the admin's own ledger, naming them. */
  | 'admin_action'
  /** A user reported a problem (`POST /v1/reports`): on their own ledger, read by operators. */
  | 'user_report';

export interface LedgerInput {
  kind: LedgerKind;
  userId: string | null;
  summary: string;
  details: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The chained hash of one entry: changing, removing or reordering any entry breaks every later hash. */
export function entryHash(prevHash: string, entry: Omit<LedgerRow, 'hash' | 'prev_hash'>): string {
  const canonical = JSON.stringify([entry.seq, entry.at, entry.kind, entry.user_id, entry.summary, entry.details]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

/**
 * Appends an entry inside the caller's write transaction (which holds the log
 * lock, so entries are chained in one order even with several servers).
 */
export async function appendLedgerEntry(
  trx: Transaction<Database>,
  input: LedgerInput,
  at: number,
): Promise<LedgerRow> {
  const last = await readLastLedgerEntry(trx);
  const base = {
    seq: (last?.seq ?? 0) + 1,
    at,
    kind: input.kind,
    user_id: input.userId,
    summary: input.summary,
    details: JSON.stringify(input.details),
  };
  const prevHash = last?.hash ?? GENESIS_HASH;
  const row: LedgerRow = { ...base, prev_hash: prevHash, hash: entryHash(prevHash, base) };
  await insertLedgerEntry(trx, row);
  return row;
}

/** Records an incident in its own transaction. */
export async function recordIncident(db: Db, input: LedgerInput, at = Date.now()): Promise<LedgerRow> {
  return inTransaction(db, async (trx) => {
    await lockLogHead(trx, db.engine);
    return appendLedgerEntry(trx, input, at);
  });
}

export async function listLedger(
  db: Queryable,
  options: { userId?: string; after?: number; limit: number },
): Promise<LedgerRow[]> {
  return listLedgerEntries(db, options);
}

/** A user's own incidents plus the deployment-wide ones that touched them (see user-ledger.ts). */
export async function listUserLedger(
  db: Queryable,
  userId: string,
  options: { after: number; limit: number },
): Promise<UserLedgerEntry[]> {
  return listUserLedgerView(db, userId, options);
}

/** Walks the whole chain; returns the first broken entry, if any. */
export async function verifyLedger(
  db: Queryable,
): Promise<{ ok: boolean; entries: number; brokenAt?: number; reason?: string }> {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let after = 0;
  let entries = 0;
  for (;;) {
    const rows = await listLedger(db, { after, limit: 1000 });
    for (const row of rows) {
      entries++;
      if (row.seq !== expectedSeq)
        return { ok: false, entries, brokenAt: row.seq, reason: `expected entry ${expectedSeq}` };
      if (row.prev_hash !== prev)
        return { ok: false, entries, brokenAt: row.seq, reason: 'previous hash does not match' };
      const { hash, prev_hash, ...rest } = row;
      if (entryHash(prev_hash, rest) !== hash)
        return { ok: false, entries, brokenAt: row.seq, reason: 'entry was altered' };
      prev = hash;
      expectedSeq++;
      after = row.seq;
    }
    if (rows.length < 1000) return { ok: true, entries };
  }
}

/** The wire form of an entry, for a user's own view and the admin API. */
export function toWireLedgerEntry(row: LedgerRow) {
  return {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    kind: row.kind,
    userId: row.user_id,
    summary: row.summary,
    details: JSON.parse(row.details) as Record<string, unknown>,
    hash: row.hash,
  };
}
