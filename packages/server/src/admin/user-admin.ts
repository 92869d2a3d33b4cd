import { type AdminUser, AppError } from '@holdfast/protocol';
import { writeUserDisabled } from '../auth/accounts.js';
import type { Caller, Context } from '../context.js';
import { appendLedgerEntry } from '../ledger/ledger.js';
import { lockLogHead } from '../store/revision-log.js';
import { inTransaction, notifyOnCommit } from '../store/transactions.js';
import { listDirectory } from '../store/user-directory.js';
import { findUserById } from '../store/users.js';
import { NOTIFY_CHANNEL } from '../sync/change-notifier.js';

export async function listAdminUsers(ctx: Context): Promise<AdminUser[]> {
  const entries = await listDirectory(ctx.db);
  // The same limit for every account (sync/quota.ts enforces it).
  const quota = { items: ctx.config.quotaItemsPerUser, bytes: ctx.config.quotaBytesPerUser };
  return entries.map((e) => ({
    id: e.id,
    username: e.username,
    admin: e.admin,
    disabled: e.disabled,
    createdAt: new Date(e.createdAt).toISOString(),
    lastSeenAt: e.lastSeenAt === null ? null : new Date(e.lastSeenAt).toISOString(),
    items: e.items,
    bytes: e.bytes,
    quotaItems: quota.items,
    quotaBytes: quota.bytes,
  }));
}

/**
 * Disables or enables an account on an operator's word, with an
 * `admin_action` entry in the same transaction. A disabled account's tokens
 * and app passwords stop working at once (authentication reads the flag) and
 * its browser sessions are revoked (writeUserDisabled); its open event
 * streams are woken so each re-checks and ends now, on every server sharing
 * the database, instead of at its next periodic check. Doing what is already
 * done records nothing.
 */
export async function setDisabledByAdmin(
  ctx: Context,
  admin: Caller,
  userId: string,
  disabled: boolean,
): Promise<void> {
  const user = await findUserById(ctx.db.kysely, userId);
  if (!user) throw new AppError('not_found', `No user ${userId}.`);
  if (disabled && user.id === admin.userId) {
    throw new AppError('invalid_request', 'An admin cannot disable their own account.');
  }
  if (Number(user.disabled) === (disabled ? 1 : 0)) return;
  const now = ctx.now();
  const verb = disabled ? 'disabled' : 'enabled';
  const head = await inTransaction(ctx.db, async (trx) => {
    const { seq } = await lockLogHead(trx, ctx.db.engine);
    await writeUserDisabled(trx, user.id, disabled, now);
    await appendLedgerEntry(
      trx,
      {
        kind: 'admin_action',
        userId: admin.userId,
        summary: `${admin.username} ${verb} the account ${user.username}.`,
        details: {
          admin: admin.username,
          adminId: admin.userId,
          action: disabled ? 'disable_user' : 'enable_user',
          targetUserId: user.id,
          targetUsername: user.username,
        },
      },
      now,
    );
    if (ctx.db.engine === 'postgres') await notifyOnCommit(trx, NOTIFY_CHANNEL, `${user.id} ${seq}`);
    return seq;
  });
  if (ctx.db.engine === 'sqlite') ctx.notifier.publishLocal(user.id, head);
  ctx.log.info({ adminId: admin.userId, userId: user.id }, `account ${verb} by an admin`);
}
