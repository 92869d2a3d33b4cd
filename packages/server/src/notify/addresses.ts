import { AppError } from '@holdfast/protocol';
import { z } from 'zod';
import type { Context } from '../context.js';
import { findUserById, findUserByName, type UserRow, updateUser } from '../store/users.js';

/** An address people are mailed at: one mailbox, no display name. */
export const emailAddressSchema = z.email({ message: 'expected an e-mail address like name@example.org' }).max(254);

function checked(email: string | null): string | null {
  if (email === null) return null;
  const parsed = emailAddressSchema.safeParse(email.trim());
  if (!parsed.success)
    throw new AppError('invalid_request', `Invalid e-mail address: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Where a person is told, or null. */
export async function readEmail(ctx: Pick<Context, 'db'>, userId: string): Promise<string | null> {
  return (await findUserById(ctx.db.kysely, userId))?.email ?? null;
}

/** Sets (or with null, clears) where a person is told about incidents touching their data. */
export async function setEmail(
  ctx: Pick<Context, 'db' | 'now'>,
  userId: string,
  email: string | null,
): Promise<UserRow> {
  const value = checked(email);
  const user = await findUserById(ctx.db.kysely, userId);
  if (!user) throw new AppError('not_found', 'No such user.');
  await updateUser(ctx.db.kysely, userId, { email: value }, ctx.now());
  return { ...user, email: value };
}

/** The same by username, for the command line. */
export async function setEmailByName(
  ctx: Pick<Context, 'db' | 'now'>,
  username: string,
  email: string | null,
): Promise<UserRow> {
  const user = await findUserByName(ctx.db.kysely, username);
  if (!user) throw new AppError('not_found', `No user ${username}.`);
  return setEmail(ctx, user.id, email);
}
