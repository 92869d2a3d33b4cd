import type { StoredSnapshot } from '@holdfast/backup';

/** How many snapshots to keep, restic-style. */
export interface RetentionPolicy {
  keepLast: number;
  keepHourly: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
}

const buckets: [keyof RetentionPolicy, (time: Date) => string][] = [
  ['keepHourly', (t) => t.toISOString().slice(0, 13)],
  ['keepDaily', (t) => t.toISOString().slice(0, 10)],
  ['keepWeekly', (t) => isoWeek(t)],
  ['keepMonthly', (t) => t.toISOString().slice(0, 7)],
];

function isoWeek(time: Date): string {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return `${day.getUTCFullYear()}-W${Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7)}`;
}

/**
 * The snapshots to keep. Structural guarantees, whatever the policy says:
 * the newest verified snapshot is kept, and so is every snapshot newer than
 * it (a replacement still being verified is never dropped in favour of
 * nothing). Snapshots are ordered by recorded seq and time, never by name.
 */
export function snapshotsToKeep(
  snapshots: readonly StoredSnapshot[],
  newestVerified: string,
  policy: RetentionPolicy,
): Set<string> {
  const newestFirst = [...snapshots].reverse();
  const keep = new Set<string>();
  for (const snapshot of newestFirst.slice(0, Math.max(1, policy.keepLast))) keep.add(snapshot.object);
  for (const [limit, bucketOf] of buckets) {
    const seen = new Set<string>();
    for (const snapshot of newestFirst) {
      if (seen.size >= policy[limit]) break;
      const bucket = bucketOf(new Date(snapshot.manifest.createdAt));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep.add(snapshot.object);
    }
  }
  const verifiedAt = newestFirst.findIndex((s) => s.object === newestVerified);
  if (verifiedAt >= 0) for (const snapshot of newestFirst.slice(0, verifiedAt + 1)) keep.add(snapshot.object);
  return keep;
}
