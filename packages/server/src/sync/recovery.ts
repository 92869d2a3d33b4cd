import type { Transaction } from 'kysely';
import { appendLedgerEntry } from '../ledger/ledger.js';
import type { Db } from '../store/database.js';
import {
  endRecoveryHolds,
  holdAllAccounts,
  listRecoveryHolds,
  type RecoveryHoldRow,
  readRecoveryHold,
  setPendingDevices,
} from '../store/recovery-holds.js';
import { lockLogHead } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transactions.js';

export type { RecoveryHoldRow };

/**
 * After the server lost revisions, CardDAV/CalDAV clients would read every
 * item missing from a listing as deleted and delete their own copy (a
 * sync-token client told its token is invalid lists from scratch and does the
 * same). Holdfast devices re-seed instead; DAV clients are held off (answered
 * 503, dav/recovery-hold.ts) until what was lost is back: every device of the
 * account has re-seeded, or an operator accepts the loss. A restore from
 * backup brings the history back and holds nothing.
 *
 * Called inside the transaction that starts the new generation.
 */
export async function holdAfterLoss(
  trx: Transaction<Database>,
  loss: { reason: string; generation: string; now: number },
): Promise<string[]> {
  return holdAllAccounts(trx, { reason: loss.reason, generation: loss.generation, since: loss.now });
}

export async function recoveryHoldOf(db: Db, userId: string): Promise<RecoveryHoldRow | undefined> {
  return readRecoveryHold(db, userId);
}

export async function listHolds(db: Db): Promise<RecoveryHoldRow[]> {
  return listRecoveryHolds(db);
}

/**
 * A device finished re-seeding: the hold ends once every device it waited on
 * has (a device revoked since no longer counts). Runs in the re-seed's write
 * transaction. Returns whether the hold ended now.
 */
export async function noteReseeded(
  trx: Transaction<Database>,
  userId: string,
  deviceId: string,
  liveDevices: string[],
): Promise<boolean> {
  const hold = await readRecoveryHold(trx, userId);
  if (!hold) return false;
  const pending = (JSON.parse(hold.pending_devices) as string[]).filter(
    (id) => id !== deviceId && liveDevices.includes(id),
  );
  if (pending.length > 0) {
    await setPendingDevices(trx, userId, pending);
    return false;
  }
  await endRecoveryHolds(trx, userId);
  return true;
}

/**
 * An operator accepts the loss for one account or all: DAV clients are served
 * again and will delete what the server no longer has. Recorded on the ledger
 * (one `loss_accepted` entry per account) with who accepted it.
 */
export async function acceptLoss(db: Db, who: { userId?: string; operator: string }, now: number): Promise<string[]> {
  return inTransaction(db, async (trx) => {
    await lockLogHead(trx, db.engine);
    const ended = await endRecoveryHolds(trx, who.userId);
    for (const userId of ended) {
      await appendLedgerEntry(
        trx,
        {
          kind: 'loss_accepted',
          userId,
          summary: `${who.operator} accepted the loss of the revisions the server could not get back; CardDAV/CalDAV clients are served again and will drop what the server no longer lists.`,
          details: { operator: who.operator },
        },
        now,
      );
    }
    return ended;
  });
}
