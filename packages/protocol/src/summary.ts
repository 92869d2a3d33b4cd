import { createHash } from 'node:crypto';
import { z } from 'zod';
import { collectionTypeSchema, idSchema, sha256Schema } from './ids.js';
import { createCollectionSchema } from './sync.js';

/**
 * Per-collection summaries let a device notice divergence from the server
 * even without a restore event: `count` live items and an order-independent
 * `digest`. The digest of a collection is the XOR of, for every live item,
 * the first 16 bytes of SHA-256(`${itemId}\n${itemHash}`), as 32 hex digits
 * (all zeros when empty). XOR makes it updatable item by item on both sides.
 */
export const collectionSummarySchema = z.object({
  id: z.string(),
  type: collectionTypeSchema,
  count: z.number().int().nonnegative(),
  digest: z.string().regex(/^[0-9a-f]{32}$/),
});
export type CollectionSummary = z.infer<typeof collectionSummarySchema>;

export const EMPTY_DIGEST = '0'.repeat(32);

/** One live item's contribution to its collection digest: the first 16 bytes of SHA-256(`${itemId}\n${hash}`). */
export function itemDigest(itemId: string, hash: string): string {
  return createHash('sha256').update(`${itemId}\n${hash}`, 'utf8').digest('hex').slice(0, 32);
}

/** XOR of two 32-hex-digit digests: adds or removes one item's contribution. */
export function xorDigest(a: string, b: string): string {
  let out = '';
  for (let i = 0; i < 32; i += 8) {
    const x = (Number.parseInt(a.slice(i, i + 8), 16) ^ Number.parseInt(b.slice(i, i + 8), 16)) >>> 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out;
}

export const summaryResponseSchema = z.object({
  generation: z.string(),
  head: z.number().int(),
  collections: z.array(collectionSummarySchema),
});
export type SummaryResponse = z.infer<typeof summaryResponseSchema>;

/** Most items one inventory request may list; larger replicas send several. */
export const MAX_INVENTORY_ITEMS = 5000;

/**
 * What a device holds, sent after it detects that the server lost data, so
 * the server can say what to re-upload. Collections are listed whole (with
 * their fields) so the server can recreate the ones it lost.
 */
export const inventoryRequestSchema = z
  .object({
    collections: z.array(createCollectionSchema.required({ id: true })).max(10_000),
    items: z
      .array(
        z
          .object({
            collectionId: idSchema,
            itemId: idSchema,
            hash: z.string().max(128),
            /**
             * The device holds a tombstone for this item. The server names it
             * in `differentItems` only if it holds the item live, so the device
             * can re-send a delete the server lost; otherwise it is not named.
             */
            deleted: z.boolean().optional(),
          })
          .strict(),
      )
      .max(MAX_INVENTORY_ITEMS),
    blobs: z.array(sha256Schema).max(MAX_INVENTORY_ITEMS).default([]),
  })
  .strict();
export type InventoryRequest = z.infer<typeof inventoryRequestSchema>;

export const inventoryResponseSchema = z.object({
  generation: z.string(),
  /** Collections the server recreated from the inventory (their items must be re-uploaded). */
  recreatedCollections: z.array(z.string()),
  /** Items the server does not have at all. */
  missingItems: z.array(z.string()),
  /** Items the server has with other content (or deleted): upload to merge. */
  differentItems: z.array(z.string()),
  /** Blobs this user cannot read on the server: upload them before the items that use them. */
  missingBlobs: z.array(z.string()),
});
export type InventoryResponse = z.infer<typeof inventoryResponseSchema>;
