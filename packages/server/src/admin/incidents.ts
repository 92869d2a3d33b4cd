import type { Context } from '../context.js';
import { toWireLedgerEntry } from '../ledger/ledger.js';
import { LOSSES, recoveredAfter } from '../ledger/user-ledger.js';
import { listDeploymentEntries } from '../store/ledger-entries.js';
import { listRecoveryHolds } from '../store/recovery-holds.js';
import { countAccountsCreatedBy, listAccountsCreatedBy, usernamesById } from '../store/user-directory.js';

/** Accounts whose recovery one incident lists at most; the count is always whole. */
const MAX_USERS_PER_INCIDENT = 100;

/** A deployment-wide incident with who it touched and what has come back since. */
export type AdminIncident = ReturnType<typeof toWireLedgerEntry> & {
  affectedUsers: number;
  /** Per-account impact, where the incident recorded it (a restore does; a rollback cannot know whose revisions went). */
  users: { username: string; items: number; collections: number }[];
  /** What came back for each touched account afterwards: re-seeds, restores, imports. */
  recovered: { username: string; seq: number; at: string; kind: string; summary: string }[];
  /** Accounts whose DAV clients are still held off after this loss, with the devices that have not re-seeded. */
  pending: { username: string; devices: number }[];
};

/**
 * Deployment-wide entries in chain order, each with its impact per account.
 * A loss without a per-account record touched every account that existed
 * then (each was put on hold), so those are the accounts it counts.
 */
export async function listIncidents(
  ctx: Pick<Context, 'db'>,
  options: { after: number; limit: number },
): Promise<AdminIncident[]> {
  const rows = await listDeploymentEntries(ctx.db, options);
  const holds = await listRecoveryHolds(ctx.db);
  const out: AdminIncident[] = [];
  for (const row of rows) {
    const entry = toWireLedgerEntry(row);
    const perUser = entry.details.users;
    let touched: { id: string; username: string }[] = [];
    let affectedUsers = 0;
    const users: AdminIncident['users'] = [];
    if (perUser && typeof perUser === 'object') {
      const impact = perUser as Record<string, { items?: number; collections?: number }>;
      const names = await usernamesById(ctx.db, Object.keys(impact));
      affectedUsers = Object.keys(impact).length;
      for (const [id, counts] of Object.entries(impact)) {
        const username = names.get(id) ?? '(deleted account)';
        users.push({ username, items: Number(counts.items ?? 0), collections: Number(counts.collections ?? 0) });
        if (touched.length < MAX_USERS_PER_INCIDENT) touched.push({ id, username });
      }
    } else if (LOSSES.includes(row.kind)) {
      affectedUsers = await countAccountsCreatedBy(ctx.db, Number(row.at));
      touched = await listAccountsCreatedBy(ctx.db, Number(row.at), MAX_USERS_PER_INCIDENT);
    }
    const recovered: AdminIncident['recovered'] = [];
    if (LOSSES.includes(row.kind)) {
      for (const user of touched) {
        for (const next of await recoveredAfter(ctx.db, user.id, row)) {
          recovered.push({
            username: user.username,
            seq: next.seq,
            at: next.at,
            kind: next.kind,
            summary: next.summary,
          });
        }
      }
    }
    const generation = entry.details.generation;
    const held = holds.filter((h) => typeof generation === 'string' && h.generation === generation);
    const heldNames = await usernamesById(
      ctx.db,
      held.map((h) => h.user_id),
    );
    const pending = held.map((h) => ({
      username: heldNames.get(h.user_id) ?? '(deleted account)',
      devices: (JSON.parse(h.pending_devices) as string[]).length,
    }));
    out.push({ ...entry, affectedUsers, users, recovered, pending });
  }
  return out;
}

/** Losses whose recovery is still under way: some account is still held off after them. */
export async function countOpenIncidents(ctx: Pick<Context, 'db'>): Promise<number> {
  const holds = await listRecoveryHolds(ctx.db);
  return new Set(holds.map((h) => `${h.reason} ${h.generation}`)).size;
}
