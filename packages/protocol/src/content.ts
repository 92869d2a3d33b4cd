import { z } from 'zod';
import { sha256Schema } from './ids.js';

/**
 * What a client sends as `content` for each collection type. vCard and
 * iCalendar travel as text so nothing a client wrote is lost; the server
 * validates them but stores the text exactly as sent.
 */
export const vcardContentSchema = z.string().min(1).max(1_048_576);
export const icalendarContentSchema = z.string().min(1).max(4_194_304);

/** The longest note title, in UTF-16 code units as the schema counts. */
export const NOTE_TITLE_MAX = 1000;

/** A title cut to NOTE_TITLE_MAX, never between the two halves of a character. */
export function cutNoteTitle(title: string): string {
  if (title.length <= NOTE_TITLE_MAX) return title;
  const cut = title.slice(0, NOTE_TITLE_MAX);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/**
 * A note: a title and a Markdown body. A note written as an iCalendar journal
 * entry (over CalDAV, or imported from an .ics) also carries that calendar
 * object, VJOURNAL and all, as `ical`, so what the journal app wrote beyond
 * title and body (attachments, categories, links) is kept.
 */
export const noteContentSchema = z
  .object({
    title: z.string().max(NOTE_TITLE_MAX),
    body: z.string().max(4_194_304),
    ical: z.string().min(1).max(4_194_304).optional(),
  })
  .strict();
export type NoteContent = z.infer<typeof noteContentSchema>;

/** A text or picture message. Attachments are blobs uploaded first. */
export const messageContentSchema = z
  .object({
    thread: z.string().min(1).max(256),
    sender: z.string().min(1).max(256),
    recipients: z.array(z.string().min(1).max(256)).max(1000),
    body: z.string().max(1_048_576),
    sentAt: z.iso.datetime({ offset: true }),
    direction: z.enum(['incoming', 'outgoing']).optional(),
    attachments: z
      .array(
        z
          .object({
            sha256: sha256Schema,
            contentType: z.string().min(1).max(255),
            filename: z.string().max(255).optional(),
          })
          .strict(),
      )
      .max(100)
      .default([]),
  })
  .strict();
export type MessageContent = z.infer<typeof messageContentSchema>;

/** A photo's own fields; the image itself is the item's blob. */
export const photoContentSchema = z
  .object({
    filename: z.string().max(255).optional(),
    caption: z.string().max(10_000).optional(),
    /** When it was taken, as the service it came from says (for images whose bytes carry no date). */
    takenAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type PhotoContent = z.infer<typeof photoContentSchema>;

/** A reference to a content-addressed blob, sent with photo items. */
export const blobRefSchema = z
  .object({
    sha256: sha256Schema,
    contentType: z.string().min(1).max(255),
  })
  .strict();
export type BlobRef = z.infer<typeof blobRefSchema>;

/** Metadata the server reads from a photo's bytes (EXIF and image headers). */
export const photoMetaSchema = z.object({
  size: z.number().int().nonnegative(),
  width: z.number().int().positive().nullable(),
  height: z.number().int().positive().nullable(),
  takenAt: z.string().nullable(),
});
export type PhotoMeta = z.infer<typeof photoMetaSchema>;
