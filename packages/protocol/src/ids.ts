import { z } from 'zod';

/**
 * Ids of collections and items are chosen by the client (so that offline
 * devices can create things) and must be URL-safe. UUIDs fit; so do shorter
 * random ids.
 */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]*$/;
const ID_MAX = 128;

export const idSchema = z.string().min(1).max(ID_MAX).regex(ID_PATTERN, 'ids are URL-safe: letters, digits, . _ ~ -');

/**
 * Whether `value` is an id `idSchema` accepts, without the schema library: for paths that check an id on every
 * request or record and need only the answer, never the schema's issues.
 */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= ID_MAX && ID_PATTERN.test(value);
}

/** A lower-case hex SHA-256 digest. */
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256 digest');

/** The kinds of data Holdfast keeps; every collection holds one kind. */
export const collectionTypes = ['contacts', 'calendar', 'tasks', 'notes', 'photos', 'messages'] as const;
export const collectionTypeSchema = z.enum(collectionTypes);
export type CollectionType = z.infer<typeof collectionTypeSchema>;
