import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { AppError, type BlobRef, type CollectionType } from '@holdfast/protocol';
import { detectUtf16 } from '../bundle/charset.js';
import { type CalendarItemKind, splitCalendarFile } from '../bundle/icalendar-file.js';
import { readVcardFile } from '../bundle/vcard-file.js';
import { fileExtension, MEDIA_TYPES } from '../content/media-types.js';
import { noteFromJournal } from '../content/vjournal.js';
import { isPlainZip } from './file-tree.js';
import { isSmsBackup } from './sms-backup.js';

/**
 * Extensions of the photos imported from a folder, a ZIP or on their own:
 * the still images of MEDIA_TYPES (docs/moving-in.md lists them).
 */
const IMPORTED_IMAGES: ReadonlySet<string> = new Set([
  'jpg',
  'jpeg',
  'png',
  'heic',
  'heif',
  'gif',
  'webp',
  'tif',
  'tiff',
]);

/** The media type of a file imported as a photo, by its extension; undefined for any other file. */
export function importedImageType(path: string): string | undefined {
  const extension = fileExtension(path);
  return IMPORTED_IMAGES.has(extension) ? MEDIA_TYPES.get(extension) : undefined;
}

/** A Markdown note's file name. */
export const MARKDOWN = /\.(md|markdown)$/i;

/**
 * A file that is imported on its own as a folder holding just it: a Markdown
 * note or a photo (what a folder or ZIP of them would bring in, one at a time).
 */
export function isLoneFile(name: string): boolean {
  return MARKDOWN.test(name) || importedImageType(name) !== undefined;
}

/** The collection a bundle item came from, to import it into the same (or a like) collection. */
export interface CollectionSpec {
  id: string;
  type: CollectionType;
  name: string;
  description: string;
  color: string | null;
}

/** One item an import file offers. */
export interface ImportCandidate {
  kind: 'candidate';
  /** Where in the input it is, for the report: `line 12`, `contacts/Friends.vcf, card 3`. */
  source: string;
  type: CollectionType;
  content: unknown;
  blob?: BlobRef;
  /** Bundles: the item's id and collection in the account it was exported from. */
  itemId?: string;
  collection?: CollectionSpec;
  /** How its bytes were decoded, when the input was text. */
  encoding?: string;
}

/** A part of the input that is not imported, and why. */
export interface ImportProblem {
  kind: 'problem';
  source: string;
  reason: string;
  /** Nothing to keep (a free/busy reply) rather than refused: reported as skipped. */
  skipped?: boolean;
}

export type ImportFormat = 'vcard' | 'icalendar' | 'holdfast-export' | 'markdown-notes' | 'sms-backup' | 'archive';

/** Calendars are split by UID, which needs the whole file; this bounds the memory that takes. */
export const MAX_CALENDAR_FILE_BYTES = 64 * 1024 * 1024;

/**
 * What kind of file this is, from its first bytes (a ZIP signature, or the
 * first BEGIN line in whatever charset) and, failing that, its name.
 */
export async function detectFormat(path: string, name = path): Promise<ImportFormat | null> {
  if ((await stat(path)).isDirectory()) return 'archive';
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return (await isPlainZip(path)) ? 'archive' : 'holdfast-export';
  }
  const utf16 = detectUtf16(head);
  const text = utf16 ? new TextDecoder(utf16).decode(head) : head.toString('latin1');
  if (isSmsBackup(text)) return 'sms-backup';
  const first = /^(?:\uFEFF|\xEF\xBB\xBF)?\s*BEGIN[ \t]*:[ \t]*(VCARD|VCALENDAR|VEVENT|VTODO|VJOURNAL|VTIMEZONE)\b/i
    .exec(text)?.[1]
    ?.toUpperCase();
  if (first === 'VCARD') return 'vcard';
  // A bare component with no VCALENDAR around it is salvaged by the calendar reader.
  if (first) return 'icalendar';
  if (/\.(vcf|vcard)$/i.test(name)) return 'vcard';
  if (/\.(ics|ical|ifb)$/i.test(name)) return 'icalendar';
  if (/\.zip$/i.test(name)) return 'holdfast-export';
  return null;
}

/** The items of a vCard file, one card at a time. */
export async function* vcardCandidates(path: string): AsyncGenerator<ImportCandidate | ImportProblem> {
  let index = 0;
  for await (const part of readVcardFile(createReadStream(path))) {
    if (part.kind === 'problem') {
      yield { kind: 'problem', source: `line ${part.line}`, reason: part.reason };
    } else {
      index++;
      yield {
        kind: 'candidate',
        source: `card ${index} (line ${part.line})`,
        type: 'contacts',
        content: part.text,
        encoding: part.encoding,
      };
    }
  }
}

const CANDIDATE_TYPES: Record<CalendarItemKind, CollectionType> = { event: 'calendar', task: 'tasks', note: 'notes' };

/** The items of an iCalendar file: one per UID, events to calendars, tasks to task lists, journal entries to notes. */
export async function* calendarCandidates(path: string): AsyncGenerator<ImportCandidate | ImportProblem> {
  const { size } = await stat(path);
  if (size > MAX_CALENDAR_FILE_BYTES) {
    yield {
      kind: 'problem',
      source: 'file',
      reason: `calendar files are imported up to ${MAX_CALENDAR_FILE_BYTES / 1024 / 1024} MiB (this one is ${size} bytes); split it and import the parts`,
    };
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(path)) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const utf16 = detectUtf16(bytes);
  const input = utf16 ? Buffer.from(new TextDecoder(utf16).decode(bytes), 'utf8') : bytes;
  for (const part of splitCalendarFile(input)) {
    if (part.kind === 'problem') {
      yield {
        kind: 'problem',
        source: `line ${part.line}`,
        reason: part.reason,
        ...(part.skipped ? { skipped: true } : {}),
      };
      continue;
    }
    const uid = part.uid === null ? 'no UID' : `UID ${part.uid}`;
    const source = `${part.kind} at line ${part.line} (${uid})`;
    let content: unknown = part.text;
    if (part.kind === 'note') {
      try {
        content = noteFromJournal(part.text);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        yield { kind: 'problem', source, reason: error.message };
        continue;
      }
    }
    yield {
      kind: 'candidate',
      source,
      type: CANDIDATE_TYPES[part.kind],
      content,
      encoding: utf16 ?? part.encoding,
    };
  }
}
