import {
  type BlobRef,
  type CollectionType,
  canonicalJson,
  contentHash,
  icalendarContentSchema,
  messageContentSchema,
  noteContentSchema,
  photoContentSchema,
  vcardContentSchema,
} from '@holdfast/protocol';
import { HoldfastError } from '../errors.js';

/** Content checked against the protocol's schema for its collection type, with what the server will derive from it. */
export interface PreparedContent {
  /** The content to store and send (object types with schema defaults filled in). */
  content: unknown;
  contentType: string;
  /** The server's content hash for this content (its ETag). */
  hash: string;
}

/** The part of a zod schema this module uses. */
interface Schema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

function parse<T>(schema: Schema<T>, content: unknown, what: string): T {
  const result = schema.safeParse(content);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  throw new HoldfastError('invalid_content', `Invalid ${what}: ${where}${issue?.message ?? 'invalid'}`);
}

/**
 * Validates content for an item of a `type` collection the way the server's
 * schemas do, and computes its content type and hash. Throws `invalid_content`.
 */
export function prepareContent(type: CollectionType, content: unknown, blob: BlobRef | null): PreparedContent {
  if (blob && type !== 'photos' && type !== 'messages') {
    throw new HoldfastError('invalid_content', `${type} items cannot carry a blob.`);
  }
  switch (type) {
    case 'contacts': {
      const text = parse(vcardContentSchema, content, 'vCard');
      return { content: text, contentType: 'text/vcard', hash: contentHash('text/vcard', text, blob?.sha256 ?? null) };
    }
    case 'calendar':
    case 'tasks': {
      const text = parse(icalendarContentSchema, content, 'iCalendar object');
      return {
        content: text,
        contentType: 'text/calendar',
        hash: contentHash('text/calendar', text, blob?.sha256 ?? null),
      };
    }
    case 'notes': {
      const note = parse(noteContentSchema, content, 'note');
      return {
        content: note,
        contentType: 'text/markdown',
        hash: contentHash('text/markdown', canonicalJson(note), null),
      };
    }
    case 'messages': {
      const message = parse(messageContentSchema, content, 'message');
      const text = canonicalJson(message);
      return {
        content: message,
        contentType: 'application/json',
        hash: contentHash('application/json', text, blob?.sha256 ?? null),
      };
    }
    case 'photos': {
      if (!blob) throw new HoldfastError('invalid_content', 'Photos need a blob: add the image with addBlob() first.');
      const photo = parse(photoContentSchema, content, 'photo');
      return {
        content: photo,
        contentType: blob.contentType,
        hash: contentHash(blob.contentType, canonicalJson(photo), blob.sha256),
      };
    }
    default: {
      const unknownType: never = type;
      throw new HoldfastError('invalid_content', `Unknown collection type ${String(unknownType)}.`);
    }
  }
}
