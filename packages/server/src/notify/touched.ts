import { listCollectionRows } from '../store/collections.js';
import { listDevices } from '../store/devices.js';
import type { LedgerRow } from '../store/ledger-entries.js';
import { listAccounts, listAccountsAt } from '../store/notifications.js';
import type { Queryable } from '../store/queryable.js';
import type { Names } from './telling.js';

/**
 * Ledger entries a person is told about (by mail and in the portal's
 * notices): whatever took data away from them, put it back, or refused to
 * change it. Routine entries (imports, quota warnings, backup health) are
 * left to the ledger itself.
 */
export const TELLING_KINDS = [
  'restore',
  'reseed',
  'rollback_detected',
  'database_replaced',
  'loss_accepted',
  'mass_change_blocked',
  'import_undo',
];

export interface Touched {
  userId: string;
  email: string | null;
  /** A deployment-wide entry's per-user record for this person (`details.users[userId]`), if it keeps one. */
  share: Record<string, unknown> | null;
}

function usersMap(row: LedgerRow): Record<string, unknown> | null {
  const { users } = JSON.parse(row.details) as { users?: unknown };
  return users && typeof users === 'object' && !Array.isArray(users) ? (users as Record<string, unknown>) : null;
}

function counted(share: unknown): boolean {
  if (!share || typeof share !== 'object') return false;
  return Object.values(share).some((value) => typeof value === 'number' && value > 0);
}

/** A deployment-wide entry's record for this person, if it keeps one per user. */
export function shareOf(row: LedgerRow, userId: string): Record<string, unknown> | null {
  if (row.user_id !== null) return null;
  const own = usersMap(row)?.[userId];
  return own && typeof own === 'object' ? (own as Record<string, unknown>) : null;
}

/** Whether a deployment-wide entry touched this person (see peopleTouched). */
export function touchesPerson(row: LedgerRow, userId: string): boolean {
  if (row.user_id !== null) return row.user_id === userId;
  const users = usersMap(row);
  return users === null || counted(users[userId]);
}

/**
 * Who `row` touched. A person's own entry touches them alone. A
 * deployment-wide entry that records its effect per user (a restore from
 * backup) touches those with something counted in it; one that cannot say
 * whose data it concerned (a rollback, a replaced database) touches every
 * account that existed when it was recorded.
 */
export async function peopleTouched(db: Queryable, row: LedgerRow): Promise<Touched[]> {
  if (!TELLING_KINDS.includes(row.kind)) return [];
  if (row.user_id !== null) {
    return (await listAccounts(db, [row.user_id])).map((a) => ({ userId: a.id, email: a.email, share: null }));
  }
  const users = usersMap(row);
  if (users === null) {
    return (await listAccountsAt(db, Number(row.at))).map((a) => ({ userId: a.id, email: a.email, share: null }));
  }
  const ids = Object.keys(users).filter((id) => counted(users[id]));
  return (await listAccounts(db, ids)).map((a) => ({
    userId: a.id,
    email: a.email,
    share: users[a.id] as Record<string, unknown>,
  }));
}

/** The person's collection and device names (deleted and revoked ones too), so the words name things, not ids. */
export async function namesFor(db: Queryable, userId: string): Promise<Names> {
  const collections = await listCollectionRows(db, userId, true);
  const devices = await listDevices(db, userId);
  return {
    collections: new Map(collections.map((c) => [c.id, c.name])),
    devices: new Map(devices.map((d) => [d.id, d.name])),
  };
}
