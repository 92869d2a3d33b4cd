/** The operators' endpoints (`/v1/admin/*`), as the portal reads them. */

// The overview and the user list are the server's own shapes (packages/protocol/src/admin.ts), types only.
export type { AdminOverview as Overview, AdminTarget as Target, AdminUser } from '@holdfast/protocol/admin';

export interface Incident {
  seq: number;
  at: string;
  kind: string;
  summary?: string;
  affectedUsers?: number;
  users?: { username: string; items: number; collections: number }[];
  /** What came back for each touched account since. */
  recovered?: { username?: string; seq: number; kind: string; summary?: string }[];
  /** Accounts whose devices have not re-seeded yet after this loss. */
  pending?: { username: string; devices: number }[];
}

export interface Report {
  seq: number;
  at: string;
  username: string;
  text: string;
  collectionId: string | null;
}

/** A duration in words, coarse enough to read at a glance. */
export function ago(seconds: number | null): string {
  if (seconds == null) return 'never';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

/** Bytes in the largest unit that keeps the number readable. */
export function bytes(n: number | null): string {
  if (n == null) return 'unknown';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
