import { AppError, collectionTypeSchema, idSchema, sha256Schema } from '@holdfast/protocol';
import { z } from 'zod';

/**
 * `manifest.json` of an export bundle: what the bundle holds and how to
 * check it (docs/export-format.md). Everything the restore and verify paths
 * read back from a bundle is parsed with these schemas first.
 */
export const MANIFEST_FORMAT = 'holdfast-export';
export const MANIFEST_VERSION = 1;

const fieldCountsSchema = z.record(z.string(), z.number().int().nonnegative());

export const manifestItemSchema = z
  .object({
    id: idSchema,
    revision: z.number().int().positive(),
    /** SHA-256 of the item's bytes in the bundle: its slice of the collection file, or its own file. */
    sha256: sha256Schema,
    /** Where the slice starts in the collection file, and its length, in bytes. */
    offset: z.number().int().nonnegative().optional(),
    length: z.number().int().nonnegative().optional(),
    /** The item's own file (notes, photos) or its thread file (messages). */
    path: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    uid: z.string().nullable().optional(),
    /** vCard version of the card as exported, and of the stored original when a conversion replaced it. */
    version: z.string().nullable().optional(),
    originalVersion: z.string().nullable().optional(),
    /** Why a requested conversion was not done (the original was exported instead). */
    conversionSkipped: z.string().optional(),
    fields: fieldCountsSchema.optional(),
    /** Calendars: the item's own calendar properties that are not in the collection's sharedHead. */
    head: z.array(z.string()).optional(),
    /** Calendars: TZIDs of the item's VTIMEZONEs, found in the collection file. */
    timezones: z.array(z.string()).optional(),
    /** Calendars: the item's VTIMEZONEs whose text differs from the one the file has for that TZID. */
    ownTimezones: z.array(z.string()).optional(),
    /** Photos and message attachments: the blob, stored at `blob.path`. */
    blob: z
      .object({ sha256: sha256Schema, contentType: z.string(), size: z.number().int().nonnegative(), path: z.string() })
      .optional(),
  })
  .strict();
export type ManifestItem = z.infer<typeof manifestItemSchema>;

export const manifestCollectionSchema = z
  .object({
    id: idSchema,
    type: collectionTypeSchema,
    name: z.string(),
    description: z.string(),
    color: z.string().nullable(),
    revision: z.number().int().positive(),
    /** The collection file (contacts, calendar, tasks) or folder (notes, photos, messages). */
    path: z.string(),
    /** Calendars: the calendar properties every item shares, written once at the top of the file. */
    sharedHead: z.array(z.string()).optional(),
    /**
     * Calendars: calendar properties some items have and others lack or write differently (`X-WR-CALNAME`,
     * `X-WR-TIMEZONE`, `REFRESH-INTERVAL`, …), each name once as the first item has it, written after
     * `sharedHead` so calendar apps see them. Items are rebuilt from `sharedHead` and their own `head` only.
     */
    calendarHead: z.array(z.string()).optional(),
    itemCount: z.number().int().nonnegative(),
    fields: fieldCountsSchema,
    items: z.array(manifestItemSchema),
  })
  .strict();
export type ManifestCollection = z.infer<typeof manifestCollectionSchema>;

export const manifestFileSchema = z
  .object({ path: z.string(), sha256: sha256Schema, bytes: z.number().int().nonnegative() })
  .strict();
export type ManifestFile = z.infer<typeof manifestFileSchema>;

export const manifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    version: z.literal(MANIFEST_VERSION),
    createdAt: z.string(),
    /** Every item is as of this revision of the account (a consistent snapshot). */
    revision: z.number().int().nonnegative(),
    generation: z.string(),
    user: z.object({ id: z.string(), username: z.string() }).strict(),
    options: z.object({ vcard: z.enum(['original', '3.0']) }).strict(),
    collections: z.array(manifestCollectionSchema),
    /** Every file in the bundle except manifest.json, with its hash and size. */
    files: z.array(manifestFileSchema),
    totals: fieldCountsSchema,
    /** What could not be exported (a blob missing from storage); an export with problems is not complete. */
    problems: z.array(
      z.object({ collectionId: z.string(), itemId: z.string().nullable(), problem: z.string() }).strict(),
    ),
  })
  .strict();
export type Manifest = z.infer<typeof manifestSchema>;

/** Parses manifest.json; throws a readable message on anything unexpected. */
export function parseManifest(text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid_content', `manifest.json is not JSON: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') ?? '';
    throw new AppError(
      'invalid_content',
      `manifest.json is not a Holdfast export manifest: ${where ? `${where}: ` : ''}${issue?.message}`,
    );
  }
  return parsed.data;
}
