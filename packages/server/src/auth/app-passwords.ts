import type { Context } from '../context.js';
import { type AppPasswordRow, listAppPasswords, revokeAppPassword } from '../store/app-passwords.js';

/** A user's app passwords, oldest first, revoked ones included (hashes stay in the store). */
export function appPasswordsOf(ctx: Pick<Context, 'db'>, userId: string): Promise<AppPasswordRow[]> {
  return listAppPasswords(ctx.db.kysely, userId);
}

/** Revokes one of a user's live app passwords; false when the id is not one. */
export function revokeOwnAppPassword(ctx: Pick<Context, 'db' | 'now'>, userId: string, id: string): Promise<boolean> {
  return revokeAppPassword(ctx.db.kysely, userId, id, ctx.now());
}
