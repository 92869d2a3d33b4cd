import { backupWatermark } from '../backup/ack-gate.js';
import type { Caller, Context } from '../context.js';
import { deviceLastWrites, firstUserRevisionTimeAfter, userLastSeq } from '../store/account-safety.js';
import { liveCollectionSummaries } from '../store/collections.js';
import { contactFieldCounts } from '../store/contact-search.js';
import { listDevices } from '../store/devices.js';
import { listLaterEntriesOfKinds, readUserCreatedAt } from '../store/ledger-entries.js';
import { readHead } from '../store/revision-log.js';
import { ensureContactIndex } from './contact-index.js';

/** "Is my data safe?" for one person (docs/protocol.md, "Account safety"). */
export interface AccountSafety {
  counts: { contacts: number; events: number; tasks: number; notes: number; photos: number; messages: number };
  fields: Record<string, number>;
  backup: {
    state: 'on_target' | 'behind' | 'no_target';
    watermark: number | null;
    lastOnTargetAt: string | null;
    head: number;
    logHead: number;
  };
  devices: { id: string; name: string; current: boolean; lastSeenAt: string | null; lastSyncAt: string | null }[];
  openIncidents: { seq: number; at: string; kind: string; summary: string }[];
}

const COUNTED = {
  contacts: 'contacts',
  calendar: 'events',
  tasks: 'tasks',
  notes: 'notes',
  photos: 'photos',
  messages: 'messages',
} as const;

/** Contact field counts under the names the page shows (bundle/field-counts.ts names them as the manifest does). */
const FIELD_NAMES: Record<string, string> = {
  tel: 'phones',
  email: 'emails',
  adr: 'addresses',
  url: 'urls',
  impp: 'instantMessaging',
  photo: 'photos',
  nickname: 'nicknames',
  note: 'notes',
  bday: 'birthdays',
  org: 'organizations',
  withTel: 'contactsWithPhone',
};

/** Deployment-wide incidents that can lose a person's data; they stay open for them until something comes back. */
const LOSSES = ['rollback_detected', 'database_replaced', 'restore'];
const RECOVERIES = ['reseed', 'restore', 'import'];

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();

export async function accountSafety(ctx: Context, caller: Caller): Promise<AccountSafety> {
  const { userId } = caller;
  const counts = { contacts: 0, events: 0, tasks: 0, notes: 0, photos: 0, messages: 0 };
  for (const collection of await liveCollectionSummaries(ctx.db, userId)) {
    const key = COUNTED[collection.type as keyof typeof COUNTED];
    if (key) counts[key] += Number(collection.item_count);
  }

  await ensureContactIndex(ctx);
  const fields: Record<string, number> = { phones: 0, emails: 0, addresses: 0 };
  for (const json of await contactFieldCounts(ctx.db, userId)) {
    for (const [name, n] of Object.entries(JSON.parse(json) as Record<string, number>)) {
      const shown = FIELD_NAMES[name];
      if (shown) fields[shown] = (fields[shown] ?? 0) + n;
    }
  }

  const head = await userLastSeq(ctx.db, userId);
  const watermark = backupWatermark(ctx);
  let state: AccountSafety['backup']['state'] = 'no_target';
  let lastOnTargetAt: string | null = null;
  if (watermark !== null) {
    state = head <= watermark ? 'on_target' : 'behind';
    // Everything the person had was on a target until their first revision past the watermark was written.
    lastOnTargetAt = iso(
      state === 'on_target' ? ctx.now() : await firstUserRevisionTimeAfter(ctx.db, userId, watermark),
    );
  }

  const lastWrites = await deviceLastWrites(ctx.db, userId);
  const devices = (await listDevices(ctx.db, userId))
    .filter((d) => d.revoked_at === null)
    .map((d) => ({
      id: d.id,
      name: d.name,
      current: d.id === caller.deviceId,
      lastSeenAt: iso(d.last_seen_at),
      lastSyncAt: iso(lastWrites.get(d.id)),
    }));

  return {
    counts,
    fields,
    backup: { state, watermark, lastOnTargetAt, head, logHead: await readHead(ctx.db) },
    devices,
    openIncidents: await openIncidents(ctx, userId),
  };
}

/**
 * Deployment-wide losses recorded since the account existed that touched it
 * (a per-user map that leaves the person out means nothing of theirs was
 * there) and after which nothing came back for them yet: no re-seed from
 * their devices, no restore, no import.
 */
async function openIncidents(ctx: Context, userId: string): Promise<AccountSafety['openIncidents']> {
  const since = (await readUserCreatedAt(ctx.db, userId)) ?? Number.MAX_SAFE_INTEGER;
  const losses = (await listLaterEntriesOfKinds(ctx.db, userId, 0, LOSSES, 1000)).filter(
    (row) => row.user_id === null && Number(row.at) >= since,
  );
  const open: AccountSafety['openIncidents'] = [];
  for (const row of losses) {
    const users = (JSON.parse(row.details) as { users?: Record<string, unknown> }).users;
    if (users && typeof users === 'object' && !(userId in users)) continue;
    const after = await listLaterEntriesOfKinds(ctx.db, userId, row.seq, RECOVERIES, 10);
    if (after.some((next) => next.user_id === userId)) continue;
    open.push({ seq: row.seq, at: new Date(Number(row.at)).toISOString(), kind: row.kind, summary: row.summary });
  }
  return open;
}
