import type { Selectable, Transaction } from 'kysely';
import type { LedgerRow } from './ledger-entries.js';
import { executor, type Queryable } from './queryable.js';
import type { Database, NotificationClaimsTable } from './schema.js';

export type ClaimRow = Selectable<NotificationClaimsTable>;

const CURSOR = 'notify_cursor';

/** The last ledger entry whose people have all been given a claim; undefined before the first pass. */
export async function readNotifyCursor(on: Queryable): Promise<number | undefined> {
  const row = await executor(on).selectFrom('meta').select('value').where('key', '=', CURSOR).executeTakeFirst();
  return row ? Number(row.value) : undefined;
}

export async function writeNotifyCursor(trx: Transaction<Database>, seq: number): Promise<void> {
  await trx
    .insertInto('meta')
    .values({ key: CURSOR, value: String(seq) })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(seq) }))
    .execute();
}

/** Claims for (entry, person) pairs; a pair another process already claimed is left as it is. */
export async function insertClaims(
  trx: Transaction<Database>,
  claims: { seq: number; userId: string; status: 'pending' | 'no_address' }[],
  now: number,
): Promise<void> {
  // In chunks: a rollback on a large deployment claims every account, and SQLite limits bound parameters.
  for (let start = 0; start < claims.length; start += CLAIM_CHUNK) {
    await insertClaimChunk(trx, claims.slice(start, start + CLAIM_CHUNK), now);
  }
}

const CLAIM_CHUNK = 500;

async function insertClaimChunk(
  trx: Transaction<Database>,
  claims: { seq: number; userId: string; status: 'pending' | 'no_address' }[],
  now: number,
): Promise<void> {
  await trx
    .insertInto('notification_claims')
    .values(
      claims.map((c) => ({
        ledger_seq: c.seq,
        user_id: c.userId,
        status: c.status,
        attempts: 0,
        next_attempt_at: now,
        lease_until: null,
        created_at: now,
      })),
    )
    .onConflict((oc) => oc.columns(['ledger_seq', 'user_id']).doNothing())
    .execute();
}

/** Claims waiting to be sent or retried, and ones whose sender stopped before recording the outcome. */
export async function listDueClaims(on: Queryable, now: number, limit: number): Promise<ClaimRow[]> {
  return executor(on)
    .selectFrom('notification_claims')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb('status', 'in', ['pending', 'failed']), eb('next_attempt_at', '<=', now)]),
        eb.and([eb('status', '=', 'sending'), eb('lease_until', '<', now)]),
      ]),
    )
    .orderBy('ledger_seq')
    .limit(limit)
    .execute();
}

/**
 * Takes a due claim for this process until `leaseUntil`. Exactly one of
 * several processes racing for the same row sees its update count: the
 * others find the status already changed and leave the mail alone.
 */
export async function takeClaim(on: Queryable, claim: ClaimRow, now: number, leaseUntil: number): Promise<boolean> {
  const result = await executor(on)
    .updateTable('notification_claims')
    .set({ status: 'sending', lease_until: leaseUntil })
    .where('ledger_seq', '=', claim.ledger_seq)
    .where('user_id', '=', claim.user_id)
    .where('status', '=', claim.status)
    .where((eb) =>
      claim.status === 'sending'
        ? eb('lease_until', '<', now)
        : eb.and([eb('next_attempt_at', '<=', now), eb('attempts', '=', claim.attempts)]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Records how a claim's attempt ended (in the transaction that records it on the ledger). */
export async function finishClaim(
  trx: Transaction<Database>,
  key: { seq: number; userId: string },
  outcome: { status: string; attempts: number; nextAttemptAt: number },
): Promise<void> {
  await trx
    .updateTable('notification_claims')
    .set({
      status: outcome.status,
      attempts: outcome.attempts,
      next_attempt_at: outcome.nextAttemptAt,
      lease_until: null,
    })
    .where('ledger_seq', '=', key.seq)
    .where('user_id', '=', key.userId)
    .execute();
}

export async function readClaim(on: Queryable, seq: number, userId: string): Promise<ClaimRow | undefined> {
  return executor(on)
    .selectFrom('notification_claims')
    .selectAll()
    .where('ledger_seq', '=', seq)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

export async function readLedgerEntry(on: Queryable, seq: number): Promise<LedgerRow | undefined> {
  return executor(on).selectFrom('ledger_entries').selectAll().where('seq', '=', seq).executeTakeFirst();
}

/** Accounts that existed at `at` (a deployment-wide entry touched them), with their addresses. */
export async function listAccountsAt(on: Queryable, at: number): Promise<{ id: string; email: string | null }[]> {
  return executor(on).selectFrom('users').select(['id', 'email']).where('created_at', '<=', at).orderBy('id').execute();
}

export async function listAccounts(on: Queryable, ids: string[]): Promise<{ id: string; email: string | null }[]> {
  if (ids.length === 0) return [];
  return executor(on).selectFrom('users').select(['id', 'email']).where('id', 'in', ids).orderBy('id').execute();
}

/**
 * Entries of `kinds` a person may be told about, newest first: their own
 * and deployment-wide ones since `since`, leaving out the ones dismissed.
 */
export async function listNoticeEntries(
  on: Queryable,
  userId: string,
  options: { kinds: string[]; since: number; limit: number },
): Promise<LedgerRow[]> {
  return executor(on)
    .selectFrom('ledger_entries')
    .selectAll()
    .where('kind', 'in', options.kinds)
    .where('at', '>=', options.since)
    .where((eb) => eb.or([eb('user_id', '=', userId), eb('user_id', 'is', null)]))
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('notice_dismissals')
            .select('notice_dismissals.ledger_seq')
            .whereRef('notice_dismissals.ledger_seq', '=', 'ledger_entries.seq')
            .where('notice_dismissals.user_id', '=', userId),
        ),
      ),
    )
    .orderBy('seq', 'desc')
    .limit(options.limit)
    .execute();
}

export async function insertDismissal(on: Queryable, userId: string, seq: number, now: number): Promise<void> {
  await executor(on)
    .insertInto('notice_dismissals')
    .values({ user_id: userId, ledger_seq: seq, dismissed_at: now })
    .onConflict((oc) => oc.columns(['user_id', 'ledger_seq']).doNothing())
    .execute();
}
