import {
  AppError,
  bareParamName,
  type CollectionType,
  type ContentLine,
  ContentLineError,
  loadIcal,
  readComponents,
  unquote,
} from '@holdfast/protocol';
import { contactListing } from './contact-listing.js';
import { summarizeContact } from './duplicates.js';
import { toJcal } from './jcal.js';
import { decodeQuotedPrintable } from './quoted-printable.js';
import { semanticProperty } from './semantic.js';

/** A contact, event or task as JSON: jCard (RFC 7095) or jCal (RFC 7265), plus a contact's everyday fields. */
export interface ItemJsonView {
  format: 'jcard' | 'jcal';
  data: unknown;
  /** Contacts: name, nicknames, phone numbers and email addresses as people read them. */
  contact?: { fn: string; nicknames: string[]; tels: string[]; emails: string[] };
}

/**
 * The JSON form of a stored vCard or iCalendar text, made with ical.js. A
 * vCard 2.1 card is shown as a 3.0 one would be: its bare parameters named,
 * QUOTED-PRINTABLE values decoded with their CHARSET.
 */
export function itemJsonView(type: CollectionType, text: string): ItemJsonView {
  try {
    if (type === 'contacts') {
      const card = readComponents(text, { bareNames: true })[0];
      if (!card) throw new AppError('invalid_content', 'no vCard in this item');
      const version = card.properties.find((p) => p.name.toUpperCase() === 'VERSION')?.value.trim();
      const design = version === '4.0' ? loadIcal().design.vcard : loadIcal().design.vcard3;
      const { fn, nicknames, tels, emails } = summarizeContact(text);
      return {
        format: 'jcard',
        data: toJcal(card, design, { prepare: decodeLegacy }),
        contact: { fn, nicknames, tels, emails },
      };
    }
    if (type === 'calendar' || type === 'tasks') {
      const calendar = readComponents(text)[0];
      if (!calendar) throw new AppError('invalid_content', 'no VCALENDAR in this item');
      return { format: 'jcal', data: toJcal(calendar, loadIcal().design.icalendar) };
    }
  } catch (error) {
    if (error instanceof ContentLineError)
      throw new AppError('invalid_content', `cannot show this item as JSON: ${error.message}`);
    throw error;
  }
  throw new AppError('invalid_request', `${type} items are JSON already; read them with GET /v1/items/:id`);
}

/** 2.1 → the 3.0 form ical.js reads: bare parameters named, QP decoded, CHARSET dropped, BASE64 → b. */
function decodeLegacy(line: ContentLine): ContentLine {
  let qp = false;
  let charset: string | null = null;
  const params: ContentLine['params'] = [];
  for (const param of line.params) {
    const value = unquote(param.value);
    const name = param.name ?? bareParamName(value);
    if (name.toUpperCase() === 'ENCODING' && value.toUpperCase() === 'QUOTED-PRINTABLE') qp = true;
    else if (name.toUpperCase() === 'CHARSET') charset = value;
    else if (name.toUpperCase() === 'ENCODING' && value.toUpperCase() === 'BASE64') params.push({ name, value: 'b' });
    else params.push({ name, value: param.value });
  }
  const value = qp ? decodeQuotedPrintable(line.value, charset).replace(/\r\n|\r|\n/g, '\\n') : line.value;
  return { ...line, params, value };
}

/** At most this many characters of a name made from free text (a note's first line, a message body). */
const NAME_MAX = 80;

function clip(text: string): string {
  const line =
    text
      .trim()
      .split(/\r\n|\r|\n/)[0]
      ?.trim() ?? '';
  return line.length > NAME_MAX ? `${line.slice(0, NAME_MAX - 1)}\u2026` : line;
}

function jsonField(text: string, ...keys: string[]): string {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    for (const key of keys) {
      const field = value?.[key];
      if (typeof field === 'string' && field.trim() !== '') return field;
    }
  } catch {
    // Stored content is validated JSON; anything else simply has no name.
  }
  return '';
}

/**
 * What a person calls an item, for lists that name items instead of showing
 * ids (trash, restore previews): a contact's FN, an event's or task's
 * SUMMARY, a note's title, a photo's file name, a message's sender and text.
 * Empty when the item has none; never throws on stored content.
 */
export function itemDisplayName(type: string, content: string | null): string {
  if (content === null || content === '') return '';
  if (type === 'contacts') return contactListing(content).name;
  if (type === 'calendar' || type === 'tasks') {
    try {
      const calendar = readComponents(content)[0];
      for (const component of calendar?.components ?? []) {
        const summary = component.properties.find((p) => p.name.toUpperCase() === 'SUMMARY');
        if (summary) return clip(semanticProperty(summary).value.join(';'));
      }
    } catch {
      // An unreadable calendar object has no name to show.
    }
    return '';
  }
  if (type === 'notes') return clip(jsonField(content, 'title', 'body'));
  if (type === 'photos') return clip(jsonField(content, 'filename', 'caption'));
  if (type === 'messages') {
    const sender = jsonField(content, 'sender');
    const body = clip(jsonField(content, 'body'));
    return sender && body ? `${sender}: ${body}` : sender || body;
  }
  return '';
}
