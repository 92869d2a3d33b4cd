import {
  AppError,
  bareParamName,
  type CollectionType,
  type ContentLine,
  ContentLineError,
  readComponents,
  unquote,
} from '@holdfast/protocol';
import ICAL from 'ical.js';
import { summarizeContact } from './duplicates.js';
import { toJcal } from './jcal.js';
import { decodeQuotedPrintable } from './quoted-printable.js';

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
      const design = version === '4.0' ? ICAL.design.vcard : ICAL.design.vcard3;
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
      return { format: 'jcal', data: toJcal(calendar, ICAL.design.icalendar) };
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
