import { z } from 'zod';

/**
 * Ids of collections and items are chosen by the client (so that offline
 * devices can create things) and must be URL-safe. UUIDs fit; so do shorter
 * random ids.
 */
export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._~-]*$/, 'ids are URL-safe: letters, digits, . _ ~ -');

/** A lower-case hex SHA-256 digest. */
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256 digest');

/** The kinds of data Holdfast keeps; every collection holds one kind. */
export const collectionTypes = ['contacts', 'calendar', 'tasks', 'notes', 'photos', 'messages'] as const;
export const collectionTypeSchema = z.enum(collectionTypes);
export type CollectionType = z.infer<typeof collectionTypeSchema>;
