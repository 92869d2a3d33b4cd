import { z } from 'zod';
import { blobRefSchema } from './content.js';
import { type ErrorCode, errorCodes } from './errors.js';
import { collectionTypeSchema, idSchema } from './ids.js';

/** Most changes one push may carry. */
export const MAX_PUSH_CHANGES = 1000;

/**
 * One change a device pushes. `baseRevision` is the item's head revision the
 * device last saw (null when it creates the item); the server applies the
 * change only if that is still the head, so no write is lost to a race.
 * `clientChangeId` makes the push idempotent: a replay gets the first result.
 */
export const pushChangeSchema = z
  .object({
    clientChangeId: z.string().min(1).max(128),
    collectionId: idSchema,
    itemId: idSchema,
    op: z.enum(['put', 'delete']),
    baseRevision: z.number().int().nonnegative().nullable(),
    content: z.unknown().optional(),
    blob: blobRefSchema.optional(),
    /**
     * Re-seeding a server that lost data: the device re-uploads its copy.
     * `baseRevision` is ignored (it belongs to the lost lineage); the server
     * creates the item if absent, keeps it if identical, and otherwise merges
     * field by field (contacts, events, tasks) or takes the device's copy
     * (notes, messages, photos), the server's copy staying in the item's
     * history. Only `put` may re-seed.
     */
    reseed: z.boolean().optional(),
  })
  .strict();
export type PushChange = z.infer<typeof pushChangeSchema>;

export const pushRequestSchema = z
  .object({
    changes: z.array(pushChangeSchema).min(1).max(MAX_PUSH_CHANGES),
    /**
     * The generation the device's base revisions come from. When given and
     * the server's differs, the whole push is refused with
     * `generation_changed`: a base revision from a lost lineage could match
     * an unrelated revision of the new one and hide a conflict. Re-seeding
     * pushes (reseed: true) are exempt, as their bases are ignored.
     */
    generation: z.string().max(100).optional(),
    /**
     * The user confirmed a mass deletion. Without it, a push deleting more of
     * a collection than the server's budget allows is refused whole with
     * `mass_change_blocked` (see docs/protocol.md).
     */
    confirmMassChange: z.boolean().optional(),
  })
  .strict();
export type PushRequest = z.infer<typeof pushRequestSchema>;

/** The head of an item as the server has it, returned on conflict. */
export const itemHeadSchema = z.object({
  revision: z.number().int(),
  hash: z.string(),
  deleted: z.boolean(),
});
export type ItemHead = z.infer<typeof itemHeadSchema>;

const rejectableCodes = Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]];

export const pushResultSchema = z.discriminatedUnion('status', [
  z.object({ clientChangeId: z.string(), status: z.literal('applied'), revision: z.number().int() }),
  z.object({ clientChangeId: z.string(), status: z.literal('conflict'), head: itemHeadSchema.nullable() }),
  z.object({
    clientChangeId: z.string(),
    status: z.literal('rejected'),
    code: z.enum(rejectableCodes),
    message: z.string(),
  }),
]);
export type PushResult = z.infer<typeof pushResultSchema>;

export const durabilitySchema = z.enum(['target', 'local']);
export type Durability = z.infer<typeof durabilitySchema>;

export const pushResponseSchema = z.object({
  results: z.array(pushResultSchema),
  /** The database lineage that accepted the writes; devices compare it with their cursor's. */
  generation: z.string(),
  /**
   * How durable the applied changes were when acknowledged: `target` when the
   * journal segment holding them is on the backup targets, `local` when they
   * are durable on the server only (no targets, `backupAck=local`, or targets
   * that did not answer in time). Always sent by current servers.
   */
  durability: durabilitySchema.optional(),
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

/** Content as an item head and a revision both carry it: text for vCard/iCalendar, an object for the rest. */
const wireContentFields = {
  contentType: z.string().nullable(),
  content: z.unknown(),
  blob: blobRefSchema.nullable(),
  meta: z.record(z.string(), z.unknown()).nullable(),
  hash: z.string().nullable(),
  size: z.number().int(),
};

/** An item's head as it travels. */
export const wireItemSchema = z.object({
  id: z.string(),
  collectionId: z.string(),
  revision: z.number().int(),
  deleted: z.boolean(),
  ...wireContentFields,
  updatedAt: z.string(),
});
export type WireItem = z.infer<typeof wireItemSchema>;

/** One revision of the log, as the change feed and item history return it. */
export const wireRevisionSchema = z.object({
  revision: z.number().int(),
  entity: z.enum(['item', 'collection']),
  op: z.enum(['put', 'delete']),
  collectionId: z.string(),
  itemId: z.string().nullable(),
  deviceId: z.string().nullable(),
  origin: z.string(),
  ...wireContentFields,
  at: z.string(),
});
export type WireRevision = z.infer<typeof wireRevisionSchema>;

export const MAX_CHANGES_PAGE = 1000;

export const changesQuerySchema = z
  .object({
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_CHANGES_PAGE).default(500),
  })
  .strict();

export const changesResponseSchema = z.object({
  changes: z.array(wireRevisionSchema),
  /** Pass this back to get the next page; it is valid even when `changes` is empty. */
  cursor: z.string(),
  hasMore: z.boolean(),
  generation: z.string(),
  /**
   * The highest seq durable on the server's backup targets, or null without
   * targets. A device keeps what it wrote above it ready to re-upload, should
   * the server come back from a backup without it. Always sent by current servers.
   */
  backupWatermark: z.number().int().nonnegative().nullable().optional(),
});
export type ChangesResponse = z.infer<typeof changesResponseSchema>;

export const collectionSchema = z.object({
  id: z.string(),
  type: collectionTypeSchema,
  name: z.string(),
  description: z.string(),
  color: z.string().nullable(),
  revision: z.number().int(),
  deleted: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Collection = z.infer<typeof collectionSchema>;

export const createCollectionSchema = z
  .object({
    id: idSchema.optional(),
    type: collectionTypeSchema,
    name: z.string().min(1).max(200),
    description: z.string().max(2000).default(''),
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/)
      .nullable()
      .default(null),
  })
  .strict();
export type CreateCollection = z.infer<typeof createCollectionSchema>;

export const updateCollectionSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/)
      .nullable()
      .optional(),
  })
  .strict();
export type UpdateCollection = z.infer<typeof updateCollectionSchema>;
