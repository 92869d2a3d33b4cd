import { AppError } from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import type { Context } from '../context.js';
import { appendLedgerEntry, type LedgerInput, recordIncident } from '../ledger/ledger.js';
import type { Database } from '../store/schema.js';
import { newItemIds, readUsage, type Usage } from '../store/usage.js';

/** From this share of a quota on, responses carry a warning and crossing it is recorded once. */
const WARN_AT = 0.9;

/** The precondition a DAV client is told about (RFC 4331 section 6). */
const DAV_QUOTA = { ns: 'DAV:', name: 'quota-not-exceeded' };

/** A user's use, limits (0: none) and whether a warning is due. */
export interface QuotaReport {
  usage: Usage;
  quota: Usage;
  warning: string | null;
}

/** Users at or past the warning level as of their last checked write, per server: the response header's source. */
const nearLimit = new WeakMap<Context, Map<string, string>>();

/**
 * Counting a large account's use takes a scan of its items, too slow to run
 * on every push. A count is reused for this long, with what checked writes
 * added since; deletes show when it is next read. The import check reads
 * afresh inside its transaction.
 */
const RECOUNT_MS = 10_000;
const counted = new WeakMap<Context, Map<string, { usage: Usage; at: number }>>();

/**
 * Counts kept at most, per server. A count is only worth keeping for RECOUNT_MS,
 * so past this many the oldest go first: memory stays bounded however many
 * accounts write, and an evicted user is merely counted again.
 */
export const MAX_COUNTED_USERS = 4096;

async function currentUsage(ctx: Context, userId: string): Promise<Usage> {
  const users = counted.get(ctx) ?? new Map<string, { usage: Usage; at: number }>();
  counted.set(ctx, users);
  const known = users.get(userId);
  if (known && ctx.now() - known.at < RECOUNT_MS && ctx.now() >= known.at) return known.usage;
  const usage = await readUsage(ctx.db, userId);
  setCount(users, userId, { usage, at: ctx.now() });
  return usage;
}

/** Map order is the order counts were taken in, so the first key is the oldest count. */
function setCount(
  users: Map<string, { usage: Usage; at: number }>,
  userId: string,
  entry: { usage: Usage; at: number },
) {
  users.delete(userId);
  while (users.size >= MAX_COUNTED_USERS) {
    const oldest = users.keys().next().value;
    if (oldest === undefined) break;
    users.delete(oldest);
  }
  users.set(userId, entry);
}

/** How many users' counts this server holds (for tests and metrics). */
export function countedUsers(ctx: Context): number {
  return counted.get(ctx)?.size ?? 0;
}

function counts(ctx: Context, userId: string, usage: Usage): void {
  const known = counted.get(ctx)?.get(userId);
  if (known) known.usage = usage;
}

export async function quotaReport(ctx: Context, userId: string): Promise<QuotaReport> {
  const usage = await readUsage(ctx.db, userId);
  const users = counted.get(ctx);
  if (users) setCount(users, userId, { usage, at: ctx.now() });
  return { usage, quota: limits(ctx), warning: warningFor(usage, limits(ctx)) };
}

/** The warning for a user, if their last checked write left them near or at a quota (no query). */
export function quotaWarning(ctx: Context, userId: string): string | null {
  return nearLimit.get(ctx)?.get(userId) ?? null;
}

/**
 * Refuses (507 `quota_exceeded`) a write of `items` whose ids the user does
 * not hold yet, when the new items or their bytes would pass a quota.
 * Changes to items the user already holds are never refused: a full account
 * can still be edited and cleaned up.
 */
export async function checkNewItems(
  ctx: Context,
  userId: string,
  items: { itemId: string; size: number }[],
  known?: ReadonlyMap<string, boolean>,
): Promise<void> {
  if (items.length === 0 || isUnlimited(ctx)) return;
  // `known`: whether each item is new, when the caller has just read it; otherwise read here.
  const fresh = items.every((i) => known?.has(i.itemId))
    ? new Set(items.filter((i) => known?.get(i.itemId)).map((i) => i.itemId))
    : await newItemIds(
        ctx.db,
        userId,
        items.map((i) => i.itemId),
      );
  const bytes = items.filter((i) => fresh.has(i.itemId)).reduce((n, i) => n + i.size, 0);
  await checkAddition(ctx, userId, { items: fresh.size, bytes });
}

/** Refuses (507) adding `adding` to the user's use past a quota; records crossing the warning level. */
export async function checkAddition(ctx: Context, userId: string, adding: Usage): Promise<void> {
  if (isUnlimited(ctx) || (adding.items === 0 && adding.bytes === 0)) return;
  const usage = await currentUsage(ctx, userId);
  const after = { items: usage.items + adding.items, bytes: usage.bytes + adding.bytes };
  refuseOver(ctx, usage, after, adding);
  const crossing = crossed(ctx, usage, after);
  counts(ctx, userId, after);
  remember(ctx, userId, after);
  if (crossing) await recordIncident(ctx.db, warningEntry(ctx, userId, after), ctx.now());
}

/**
 * Refuses (507) a write that would add `adding` past a quota, on a fresh count,
 * without counting it: for a caller whose writes are counted one by one as
 * they are made (a folder copy, checked whole before its first write).
 */
export async function checkRoomFor(ctx: Context, userId: string, adding: Usage): Promise<void> {
  if (isUnlimited(ctx) || (adding.items === 0 && adding.bytes === 0)) return;
  const { usage } = await quotaReport(ctx, userId);
  refuseOver(ctx, usage, { items: usage.items + adding.items, bytes: usage.bytes + adding.bytes }, adding);
}

/**
 * For a write already made inside `trx` (an import): refuses it if the user
 * is now past a quota, which rolls the whole write back. `before` is the use
 * read before the write.
 */
export async function checkWritten(
  ctx: Context,
  trx: Transaction<Database>,
  userId: string,
  before: Usage,
): Promise<void> {
  if (isUnlimited(ctx)) return;
  const after = await readUsage(trx, userId);
  const adding = { items: after.items - before.items, bytes: after.bytes - before.bytes };
  refuseOver(ctx, before, after, adding);
  counted.get(ctx)?.delete(userId);
  remember(ctx, userId, after);
  if (crossed(ctx, before, after)) await appendLedgerEntry(trx, warningEntry(ctx, userId, after), ctx.now());
}

function limits(ctx: Context): Usage {
  return { items: ctx.config.quotaItemsPerUser, bytes: ctx.config.quotaBytesPerUser };
}

function isUnlimited(ctx: Context): boolean {
  return ctx.config.quotaItemsPerUser === 0 && ctx.config.quotaBytesPerUser === 0;
}

function refuseOver(ctx: Context, usage: Usage, after: Usage, adding: Usage): void {
  const quota = limits(ctx);
  const items = quota.items > 0 && adding.items > 0 && after.items > quota.items;
  const bytes = quota.bytes > 0 && adding.bytes > 0 && after.bytes > quota.bytes;
  if (!items && !bytes) return;
  const what = items
    ? `${quota.items} items (this account holds ${usage.items}; the request adds ${adding.items})`
    : `${quota.bytes} bytes (this account uses ${usage.bytes}; the request adds ${adding.bytes})`;
  ctx.log.warn({ usage, quota }, 'write refused: storage quota');
  throw new AppError('quota_exceeded', `Storage quota exceeded: this account may hold ${what}.`, {
    usage,
    quota,
    precondition: DAV_QUOTA,
  });
}

function warningFor(usage: Usage, quota: Usage): string | null {
  const parts: string[] = [];
  if (quota.items > 0 && usage.items >= quota.items * WARN_AT) parts.push(`items ${usage.items}/${quota.items}`);
  if (quota.bytes > 0 && usage.bytes >= quota.bytes * WARN_AT) parts.push(`bytes ${usage.bytes}/${quota.bytes}`);
  return parts.length > 0 ? parts.join(', ') : null;
}

function crossed(ctx: Context, before: Usage, after: Usage): boolean {
  const quota = limits(ctx);
  const over = (n: number, max: number) => max > 0 && n >= max * WARN_AT;
  return (
    (!over(before.items, quota.items) && over(after.items, quota.items)) ||
    (!over(before.bytes, quota.bytes) && over(after.bytes, quota.bytes))
  );
}

function remember(ctx: Context, userId: string, usage: Usage): void {
  const users = nearLimit.get(ctx) ?? new Map<string, string>();
  nearLimit.set(ctx, users);
  const warning = warningFor(usage, limits(ctx));
  if (warning) users.set(userId, warning);
  else users.delete(userId);
}

function warningEntry(ctx: Context, userId: string, usage: Usage): LedgerInput {
  const quota = limits(ctx);
  ctx.log.warn({ userId, usage, quota }, 'storage quota nearly used');
  return {
    kind: 'quota_warning',
    userId,
    summary: `storage use reached ${Math.round(WARN_AT * 100)}% of the quota`,
    details: { usage, quota },
  };
}
