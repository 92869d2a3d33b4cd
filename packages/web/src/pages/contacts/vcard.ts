/**
 * Just enough vCard for the portal's contact form: read the fields a person
 * edits, and write them back into the card's own text, leaving every other
 * line (photos, addresses, X- properties, anything a phone wrote) exactly as
 * it was. The server validates what is pushed; the contact page shows every
 * field from the server's jCard view.
 */

// Folding as RFC 6350 section 3.2 asks, shared with the server (the module imports nothing).
import { foldLine } from '@holdfast/protocol/content-lines';

/** The fields the form edits. */
export interface ContactFields {
  name: string;
  nicknames: string[];
  phones: string[];
  emails: string[];
  organization: string;
  note: string;
}

const EDITED = new Set(['FN', 'NICKNAME', 'TEL', 'EMAIL', 'ORG', 'NOTE']);

function unfold(text: string): string[] {
  return text
    .replace(/\r\n|\r/g, '\n')
    .replace(/\n[ \t]/g, '')
    .split('\n');
}

/** A property's name without its group (`item1.TEL` is TEL) and parameters. */
function propertyName(line: string): string {
  const head = line.split(/[;:]/, 1)[0] ?? '';
  return (head.includes('.') ? head.slice(head.indexOf('.') + 1) : head).toUpperCase();
}

function rawValue(line: string): string {
  // The value starts after the first colon that is not inside a quoted parameter.
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === '"') quoted = !quoted;
    else if (char === ':' && !quoted) return line.slice(i + 1);
  }
  return '';
}

function unescapeText(value: string): string {
  return value.replace(/\\([\\,;nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/** Splits on commas (or semicolons) that are not escaped. */
function splitList(value: string, separator: ',' | ';'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const char = value[i] as string;
    if (char === '\\' && i + 1 < value.length) {
      current += char + value[i + 1];
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

export function escapeText(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/,/g, '\\,')
    .replace(/;/g, '\\;')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/** Reads the edited fields from a card's text. */
export function readContactFields(text: string): ContactFields {
  const fields: ContactFields = { name: '', nicknames: [], phones: [], emails: [], organization: '', note: '' };
  for (const line of unfold(text)) {
    const name = propertyName(line);
    const value = rawValue(line);
    if (name === 'FN' && !fields.name) fields.name = unescapeText(value);
    else if (name === 'NICKNAME') fields.nicknames.push(...splitList(value, ',').map(unescapeText).filter(Boolean));
    else if (name === 'TEL' && value) fields.phones.push(unescapeText(value.replace(/^tel:/i, '')));
    else if (name === 'EMAIL' && value) fields.emails.push(unescapeText(value));
    else if (name === 'ORG' && !fields.organization)
      fields.organization = splitList(value, ';').map(unescapeText).filter(Boolean).join(', ');
    else if (name === 'NOTE' && !fields.note) fields.note = unescapeText(value);
  }
  return fields;
}

function fieldLines(fields: ContactFields): string[] {
  const lines = [`FN:${escapeText(fields.name.trim())}`];
  const nicknames = fields.nicknames.map((n) => n.trim()).filter(Boolean);
  if (nicknames.length > 0) lines.push(`NICKNAME:${nicknames.map(escapeText).join(',')}`);
  for (const phone of fields.phones.map((p) => p.trim()).filter(Boolean)) lines.push(`TEL:${escapeText(phone)}`);
  for (const email of fields.emails.map((e) => e.trim()).filter(Boolean)) lines.push(`EMAIL:${escapeText(email)}`);
  if (fields.organization.trim()) lines.push(`ORG:${escapeText(fields.organization.trim())}`);
  if (fields.note.trim()) lines.push(`NOTE:${escapeText(fields.note.trim())}`);
  return lines;
}

/** A new vCard 4.0 with the given fields. */
export function newContactText(uid: string, fields: ContactFields): string {
  const lines = ['BEGIN:VCARD', 'VERSION:4.0', `UID:${uid}`, ...fieldLines(fields), 'END:VCARD'];
  return `${lines.map((line) => foldLine(line)).join('\r\n')}\r\n`;
}

/**
 * The card with the edited fields replaced and every other line kept as it
 * was. Typed phone numbers and e-mail addresses keep their parameters
 * (TYPE=cell) when the value is unchanged.
 */
export function updateContactText(text: string, fields: ContactFields): string {
  const lines = unfold(text).filter((line) => line !== '');
  const kept: string[] = [];
  const previous = new Map<string, string>();
  for (const line of lines) {
    const name = propertyName(line);
    if (!EDITED.has(name)) {
      kept.push(line);
      continue;
    }
    if (name === 'TEL' || name === 'EMAIL') previous.set(`${name}:${unescapeText(rawValue(line))}`, line);
  }
  const replaced = fieldLines(fields).map((line) => {
    const name = propertyName(line);
    return previous.get(`${name}:${unescapeText(rawValue(line))}`) ?? line;
  });
  const end = kept.findIndex((line) => line.toUpperCase() === 'END:VCARD');
  const at = end === -1 ? kept.length : end;
  const result = [...kept.slice(0, at), ...replaced, ...kept.slice(at)];
  return `${result.map((line) => foldLine(line)).join('\r\n')}\r\n`;
}
