import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { type LedgerRow, recordIncident } from '../ledger/ledger.js';
import { isAdmin } from '../store/user-directory.js';

/**
 * Refuses a caller who is not an operator. Read from the database on each
 * request, not from the token, so `holdfast user admin NAME off` takes
 * effect at once.
 */
export async function requireAdmin(ctx: Pick<Context, 'db'>, caller: Caller): Promise<void> {
  if (!(await isAdmin(ctx.db, caller.userId))) {
    throw new AppError('forbidden', 'This needs an admin account (holdfast user admin NAME on).');
  }
}

/** An operator's action, on the ledger under the operator's own account and naming them. */
export async function recordAdminAction(
  ctx: Pick<Context, 'db' | 'now'>,
  admin: Caller,
  action: string,
  summary: string,
  details: Record<string, unknown> = {},
): Promise<LedgerRow> {
  return recordIncident(
    ctx.db,
    {
      kind: 'admin_action',
      userId: admin.userId,
      summary: `${admin.username} ${summary}`,
      details: { admin: admin.username, adminId: admin.userId, action, ...details },
    },
    ctx.now(),
  );
}
