import {
  AppError,
  type BlobRef,
  blobRefSchema,
  type CollectionType,
  canonicalJson,
  contentHash,
  icalendarContentSchema,
  messageContentSchema,
  noteContentSchema,
  type PhotoMeta,
  photoContentSchema,
  vcardContentSchema,
} from '@holdfast/protocol';
import type { z } from 'zod';
import { contactFieldsOf } from '../bundle/field-counts.js';
import { type ContactListing, contactListingOf } from './contact-listing.js';
import { readICalendar } from './icalendar.js';
import { readVcardCard } from './vcard.js';

/** What a revision stores for one item's content, plus what is derived from it. */
export interface NormalizedContent {
  /** `text/vcard`, `text/calendar`, `text/markdown` (notes), `application/json` (messages) or the photo's type. */
  contentType: string;
  /** vCard/iCalendar exactly as sent; canonical JSON for notes, messages and photos. */
  text: string | null;
  /** Derived, searchable fields; never the source of truth. */
  meta: Record<string, unknown> | null;
  /** SHA-256 hex of (contentType, text, blob sha256): the item's ETag. */
  hash: string;
  /** UTF-8 bytes of `text` plus the blob's size. */
  size: number;
  /** For a contact: its entry in the contact index, read in the same parse that validated it. */
  listing?: ContactListing;
}

/** What the server knows about an item's blob: its size and, for photos, what its bytes say. */
export interface BlobInfo {
  size: number;
  photoMeta?: PhotoMeta;
}

const BLOB_TYPES: ReadonlySet<CollectionType> = new Set(['photos', 'messages']);
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$/;

/**
 * Validates content pushed for an item of a `type` collection and turns it
 * into what a revision stores. vCard and iCalendar text is kept byte-for-byte;
 * it is parsed only to check it and derive `meta`. Throws
 * AppError('invalid_content') saying what is wrong.
 */
export function normalizeContent(
  type: CollectionType,
  content: unknown,
  blob?: BlobRef,
  blobInfo?: BlobInfo,
): NormalizedContent {
  checkBlob(type, blob);
  const { contentType, text, meta, listing } = normalizeByType(type, content, blob, blobInfo);
  const blobSize = blob ? (blobInfo?.size ?? 0) : 0;
  return {
    contentType,
    text,
    meta,
    hash: contentHash(contentType, text, blob?.sha256 ?? null),
    size: Buffer.byteLength(text ?? '', 'utf8') + blobSize,
    ...(listing ? { listing } : {}),
  };
}

type Normalized = Pick<NormalizedContent, 'contentType' | 'text' | 'meta' | 'listing'>;

function normalizeByType(
  type: CollectionType,
  content: unknown,
  blob: BlobRef | undefined,
  blobInfo: BlobInfo | undefined,
): Normalized {
  switch (type) {
    case 'contacts': {
      const text = checkText(content, vcardContentSchema, 'contacts', 'a vCard');
      const { meta, card } = readVcardCard(text);
      // Counted from the card as read: the contact index would otherwise split the text again.
      const listing = { ...contactListingOf(card), fields: contactFieldsOf(card) };
      return { contentType: 'text/vcard', text, meta: { ...meta }, listing };
    }
    case 'calendar':
    case 'tasks': {
      const text = checkText(content, icalendarContentSchema, type, 'an iCalendar object');
      // A calendar holds events and tasks (DAV clients keep tasks in their calendars); a task list, tasks only.
      const taskInCalendar = /^BEGIN:VTODO\s*$/im.test(text) && !/^BEGIN:VEVENT\s*$/im.test(text);
      const meta = readICalendar(text, type === 'tasks' || taskInCalendar ? 'VTODO' : 'VEVENT');
      return { contentType: 'text/calendar', text, meta: { ...meta } };
    }
    case 'notes': {
      const note = checkObject(content, noteContentSchema, 'note', '{title, body}');
      // A journal entry is checked like an event: one VCALENDAR, one UID, readable dates.
      const journal = note.ical === undefined ? null : readICalendar(note.ical, 'VJOURNAL');
      return {
        contentType: 'text/markdown',
        text: canonicalJson(note),
        meta: { title: note.title, ...(journal ? { uid: journal.uid } : {}) },
      };
    }
    case 'messages': {
      const message = checkObject(
        content,
        messageContentSchema,
        'message',
        '{thread, sender, recipients, body, sentAt}',
      );
      const { thread, sender, sentAt, direction } = message;
      return {
        contentType: 'application/json',
        text: canonicalJson(message),
        meta: { thread, sender, sentAt, direction: direction ?? null, attachments: message.attachments.length },
      };
    }
    case 'photos': {
      const photo = checkObject(content, photoContentSchema, 'photo', '{filename?, caption?, takenAt?}');
      // checkBlob has made sure photos carry a blob.
      const contentType = (blob as BlobRef).contentType;
      const meta = photoMetaOf(blobInfo);
      // The image's own EXIF date (with its offset) first; a date stated with the photo fills in for none.
      if (meta && meta.takenAt == null && photo.takenAt) meta.takenAt = photo.takenAt;
      return { contentType, text: canonicalJson(photo), meta };
    }
    default: {
      const unknownType: never = type;
      throw invalid(`unknown collection type '${String(unknownType)}'`);
    }
  }
}

function checkBlob(type: CollectionType, blob: BlobRef | undefined): void {
  if (blob === undefined || blob === null) {
    if (type === 'photos') throw invalid('photos need a blob: upload the image, then send {sha256, contentType}');
    return;
  }
  if (!BLOB_TYPES.has(type)) throw invalid(`${type} items cannot carry a blob (only photos and messages do)`);
  const parsed = blobRefSchema.safeParse(blob);
  if (!parsed.success) throw invalid(`invalid blob reference: ${describeIssues(parsed.error.issues)}`);
  if (!MEDIA_TYPE.test(blob.contentType)) {
    throw invalid(`blob contentType '${blob.contentType}' is not a media type (type/subtype)`);
  }
}

function photoMetaOf(blobInfo: BlobInfo | undefined): Record<string, unknown> | null {
  if (blobInfo?.photoMeta) return { ...blobInfo.photoMeta };
  if (blobInfo) return { size: blobInfo.size, width: null, height: null, takenAt: null };
  return null;
}

function checkText(content: unknown, schema: z.ZodType<string>, type: CollectionType, what: string): string {
  if (typeof content !== 'string') throw invalid(`${type} content must be ${what} as a string; got ${kindOf(content)}`);
  const parsed = schema.safeParse(content);
  if (!parsed.success) throw invalid(`${what}: ${describeIssues(parsed.error.issues)}`);
  checkString(content, 'content');
  return content;
}

function checkObject<T>(content: unknown, schema: z.ZodType<T>, noun: string, shape: string): T {
  if (content === null || typeof content !== 'object' || Array.isArray(content)) {
    throw invalid(`${noun} content must be an object ${shape}; got ${kindOf(content)}`);
  }
  const parsed = schema.safeParse(content);
  if (!parsed.success) throw invalid(`invalid ${noun}: ${describeIssues(parsed.error.issues)}`);
  checkStrings(parsed.data, '');
  return parsed.data;
}

/** Walks a parsed JSON value and checks every key and string in it. */
function checkStrings(value: unknown, path: string): void {
  if (typeof value === 'string') {
    checkString(value, path || 'content');
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) checkStrings(item, `${path}[${index}]`);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      checkString(key, `key ${keyPath}`);
      checkStrings(item, keyPath);
    }
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** NUL and unpaired surrogates cannot round-trip through UTF-8 storage unchanged, so they are refused. */
function checkString(value: string, path: string): void {
  const nul = value.indexOf('\u0000');
  if (nul !== -1) throw invalid(`${path} contains a NUL character (at offset ${nul})`);
  const lone = LONE_SURROGATE.exec(value);
  if (lone) {
    throw invalid(`${path} contains a lone UTF-16 surrogate (at offset ${lone.index}); it is not valid Unicode text`);
  }
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const [first, ...rest] = issues;
  if (!first) return 'invalid';
  const path = formatPath(first.path);
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  return `${path ? `${path}: ` : ''}${first.message}${more}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  }
  return out;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Turns stored revision text back into wire content: the vCard/iCalendar
 * string as it was sent, or the JSON object for notes, messages and photos.
 * Null text (a deletion) decodes to null.
 */
export function decodeContent(type: CollectionType, text: string | null): unknown {
  if (text === null) return null;
  if (type === 'contacts' || type === 'calendar' || type === 'tasks') return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError('internal', `stored ${type} content is not valid JSON`, {
      cause: error instanceof Error ? error.message : String(error),
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AppError('internal', `stored ${type} content is not a JSON object`);
  }
  return value;
}

function invalid(message: string): AppError {
  return new AppError('invalid_content', message);
}
