import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { appendLedgerEntry } from '../ledger/ledger.js';
import type { Db } from '../store/database.js';
import { listLedgerEntries } from '../store/ledger-entries.js';
import {
  type ClaimRow,
  finishClaim,
  insertClaims,
  listDueClaims,
  readLedgerEntry,
  readNotifyCursor,
  takeClaim,
  writeNotifyCursor,
} from '../store/notifications.js';
import { lockLogHead } from '../store/revision-log.js';
import { inTransaction } from '../store/transactions.js';
import { findUserById } from '../store/users.js';
import { createMailer, type Mailer } from './mailer.js';
import { mailText, tellingFor } from './telling.js';
import { namesFor, peopleTouched, shareOf, TELLING_KINDS } from './touched.js';

/**
 * Follows the ledger and mails each person an entry touched, once. Where it
 * got to is kept in the database (`notify_cursor`), so entries recorded
 * while no server ran are still told after a restart; each (entry, person)
 * pair is a claim row that only one process can take at a time, so servers
 * sharing a PostgreSQL database send one mail between them. Every attempt's
 * outcome is itself a `notification` entry on the ledger.
 */
export interface NotifierDeps {
  config: Config;
  db: Db;
  log: Logger;
  now: () => number;
}

export interface Notifier {
  /** One pass: claim people for new entries, then send what is due. Never throws. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

const PAGE = 200;
const SEND_BATCH = 50;

export function startNotifier(deps: NotifierDeps, options: { mailer?: Mailer; loop?: boolean } = {}): Notifier {
  const mailer = options.mailer ?? createMailer(deps.config);
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const pass = async () => {
    try {
      await followLedger(deps);
      await deliverDue(deps, mailer, () => stopped);
    } catch (error) {
      // A database outage must not end the service: the next pass tries again.
      deps.log.warn({ err: (error as Error).message }, 'notifier pass failed; retrying at the next interval');
    }
  };
  const runOnce = () => {
    running = running.then(pass);
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().then(schedule), deps.config.notifyPollMs);
    timer.unref();
  };
  if (options.loop !== false) void runOnce().then(schedule);
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      mailer.close();
    },
  };
}

/** Gives every person each new entry touched a claim, then moves the cursor past the entries. */
async function followLedger(deps: NotifierDeps): Promise<void> {
  const { db, config } = deps;
  for (;;) {
    const cursor = (await readNotifyCursor(db)) ?? 0;
    const rows = await listLedgerEntries(db, { after: cursor, limit: PAGE });
    const last = rows[rows.length - 1];
    if (!last) return;
    const now = deps.now();
    const claims: { seq: number; userId: string; status: 'pending' }[] = [];
    for (const row of rows) {
      // Entries from long ago (mail just turned on, an upgrade) stay on the ledger and in the portal only.
      if (!TELLING_KINDS.includes(row.kind) || Number(row.at) < now - config.notifyMaxAgeMs) continue;
      for (const person of await peopleTouched(db, row))
        claims.push({ seq: row.seq, userId: person.userId, status: 'pending' });
    }
    await inTransaction(db, async (trx) => {
      await insertClaims(trx, claims, now);
      // Another server may have moved it further meanwhile; never move it back.
      if (((await readNotifyCursor(trx)) ?? 0) < last.seq) await writeNotifyCursor(trx, last.seq);
    });
    if (rows.length < PAGE) return;
  }
}

/** Sends what is due, batch after batch, until nothing is (or the notifier is stopping). */
async function deliverDue(deps: NotifierDeps, mailer: Mailer, stopping: () => boolean): Promise<void> {
  for (;;) {
    const now = deps.now();
    const lease = now + deps.config.smtpTimeoutMs * 5;
    const due = await listDueClaims(deps.db, now, SEND_BATCH);
    for (const claim of due) {
      if (stopping()) return;
      if (await takeClaim(deps.db, claim, now, lease)) await deliver(deps, mailer, claim);
    }
    if (due.length < SEND_BATCH) return;
  }
}

async function deliver(deps: NotifierDeps, mailer: Mailer, claim: ClaimRow): Promise<void> {
  const { db, config, log } = deps;
  const seq = Number(claim.ledger_seq);
  const entry = await readLedgerEntry(db, seq);
  const user = await findUserById(db.kysely, claim.user_id);
  if (!entry || !user) {
    // Cannot happen while entries and users are never deleted; never leave a row to be retried for ever.
    await inTransaction(db, (trx) =>
      finishClaim(
        trx,
        { seq, userId: claim.user_id },
        { status: 'gave_up', attempts: claim.attempts, nextAttemptAt: 0 },
      ),
    );
    return;
  }
  // A claim left 'sending' by a process that stopped counts as an attempt whose outcome is unknown.
  const attempts = claim.attempts + 1;
  let status: 'sent' | 'failed' | 'no_address';
  let error: string | undefined;
  if (!user.email) {
    status = 'no_address';
  } else {
    const telling = tellingFor(entry, shareOf(entry, user.id), await namesFor(db, user.id));
    try {
      await mailer.send({
        to: user.email,
        subject: `Holdfast: ${telling.headline}`,
        text: mailText(telling, { username: user.username, seq, portalUrl: config.portalUrl }),
        messageId: `<notice-${seq}-${user.id}@${/@([^>\s]+)/.exec(config.mailFrom)?.[1] ?? 'holdfast'}>`,
      });
      status = 'sent';
    } catch (err) {
      status = 'failed';
      const e = err as NodeJS.ErrnoException;
      error = e.code ?? 'error';
      log.warn({ seq, userId: user.id, attempts, err: e.message }, 'notification mail not delivered');
    }
  }
  const final = status !== 'failed' || attempts >= config.notifyMaxAttempts;
  const retryAt = deps.now() + config.notifyRetryMs * 2 ** Math.max(0, attempts - 1);
  await inTransaction(db, async (trx) => {
    await lockLogHead(trx, db.engine);
    await appendLedgerEntry(
      trx,
      {
        kind: 'notification',
        userId: user.id,
        summary: notificationSummary(entry.kind, seq, status, attempts, final),
        details: {
          relatesTo: seq,
          relatesToKind: entry.kind,
          channel: 'email',
          status,
          attempts: status === 'no_address' ? 0 : attempts,
          ...(error ? { error, final } : {}),
        },
      },
      deps.now(),
    );
    await finishClaim(
      trx,
      { seq, userId: user.id },
      {
        status: status === 'failed' && final ? 'gave_up' : status,
        attempts: status === 'no_address' ? claim.attempts : attempts,
        nextAttemptAt: status === 'failed' && !final ? retryAt : 0,
      },
    );
  });
}

function notificationSummary(kind: string, seq: number, status: string, attempts: number, final: boolean): string {
  if (status === 'sent') return `Told by e-mail about entry ${seq} (${kind}).`;
  if (status === 'no_address') return `Not told by e-mail about entry ${seq} (${kind}): no e-mail address is set.`;
  return final
    ? `The e-mail about entry ${seq} (${kind}) could not be delivered after ${attempts} attempts; no more are made.`
    : `The e-mail about entry ${seq} (${kind}) could not be delivered (attempt ${attempts}); it will be tried again.`;
}
