import { randomUUID } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Database, UsersTable } from './schema.js';

export type UserRow = Selectable<UsersTable>;

export async function insertUser(
  db: Kysely<Database>,
  username: string,
  passwordHash: string,
  now: number,
  admin = false,
): Promise<UserRow> {
  const existing = await findUserByName(db, username);
  if (existing) throw new AppError('conflict', `A user named ${username} already exists.`);
  const row: UserRow = {
    id: randomUUID(),
    username,
    password_hash: passwordHash,
    disabled: 0,
    admin: admin ? 1 : 0,
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('users').values(row).execute();
  return row;
}

export async function findUserByName(db: Kysely<Database>, username: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

export async function findUserById(db: Kysely<Database>, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listUsers(db: Kysely<Database>): Promise<UserRow[]> {
  return db.selectFrom('users').selectAll().orderBy('username').execute();
}

export async function updateUser(
  db: Kysely<Database>,
  id: string,
  changes: Partial<Pick<UserRow, 'password_hash' | 'disabled' | 'admin'>>,
  now: number,
): Promise<void> {
  await db
    .updateTable('users')
    .set({ ...changes, updated_at: now })
    .where('id', '=', id)
    .execute();
}
