import { z } from 'zod';

/**
 * What the operators' API (`/v1/admin/*`) answers, shared by the server that
 * writes it and the portal that reads it. Times are ISO 8601 strings.
 */

/** One backup target in the overview, as the running backup service last saw it. */
export const adminTargetSchema = z.object({
  /** 1-based, as the CLI numbers targets. */
  number: z.number().int().positive(),
  /** The location, with any credentials in a URL left out. */
  name: z.string(),
  lastShippedRevision: z.number().int().nonnegative(),
  lagRevisions: z.number().int(),
  lagSeconds: z.number(),
  rpoSeconds: z.number().nonnegative(),
  lastVerifiedDrillAt: z.string().nullable(),
  drillAgeSeconds: z.number().nonnegative().nullable(),
  /** Unknown (null) when the target cannot say. */
  freeBytes: z.number().nonnegative().nullable(),
  status: z.enum(['ok', 'at_risk']),
  problem: z.string().nullable(),
});
export type AdminTarget = z.infer<typeof adminTargetSchema>;

/** `GET /v1/admin/overview`: is everyone's data safe right now, and if not, why. */
export const adminOverviewSchema = z.object({
  status: z.enum(['ok', 'at_risk']),
  reasons: z.array(z.string()),
  head: z.object({ generation: z.string(), revision: z.number().int().nonnegative() }),
  targets: z.array(adminTargetSchema),
  users: z.object({ total: z.number().int().nonnegative(), disabled: z.number().int().nonnegative() }),
  openIncidents: z.number().int().nonnegative(),
  openReports: z.number().int().nonnegative(),
});
export type AdminOverview = z.infer<typeof adminOverviewSchema>;

/** One account in `GET /v1/admin/users` (quotas 0 when unlimited). */
export const adminUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  admin: z.boolean(),
  disabled: z.boolean(),
  createdAt: z.string(),
  /** The newest use of any of the user's devices. */
  lastSeenAt: z.string().nullable(),
  items: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  quotaItems: z.number().int().nonnegative(),
  quotaBytes: z.number().int().nonnegative(),
});
export type AdminUser = z.infer<typeof adminUserSchema>;

/** `GET /v1/admin/users`. */
export const adminUsersResponseSchema = z.object({ users: z.array(adminUserSchema) });
export type AdminUsersResponse = z.infer<typeof adminUsersResponseSchema>;
