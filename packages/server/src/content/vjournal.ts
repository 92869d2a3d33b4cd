import { AppError, cutNoteTitle, type NoteContent } from '@holdfast/protocol';
import { type ContentComponent, ContentLineError, foldLine, readComponents, unfoldLines } from './content-lines.js';

/**
 * Notes as iCalendar journal entries (VJOURNAL), the way jtx Board and other
 * journal apps keep them over CalDAV: SUMMARY is the note's title and
 * DESCRIPTION its Markdown body. A note that came in as a VJOURNAL keeps the
 * whole calendar object (`ical`), so everything else the app wrote (ATTACH,
 * CATEGORIES, RELATED-TO, X- properties, alarms) goes back out as sent.
 */

/** The note a calendar object holding one journal entry stands for. */
export function noteFromJournal(text: string): NoteContent {
  const master = journalMaster(text);
  return {
    title: cutNoteTitle(textProperty(master, 'SUMMARY') ?? ''),
    body: textProperty(master, 'DESCRIPTION') ?? '',
    ical: text,
  };
}

/** When a note last changed, for the VJOURNAL written for a note that has none of its own. */
export interface NoteTimes {
  updated: Date;
}

/**
 * A note as a calendar object: its own VJOURNAL text when it has one (with
 * SUMMARY and DESCRIPTION rewritten only if the title or body was changed
 * since, through the API), else a VJOURNAL made from the title and body whose
 * UID is the item id.
 */
export function journalFromNote(itemId: string, note: NoteContent, times: NoteTimes): string {
  if (note.ical) {
    const master = journalMaster(note.ical);
    const summary = textProperty(master, 'SUMMARY') ?? '';
    const description = textProperty(master, 'DESCRIPTION') ?? '';
    if (cutNoteTitle(summary) === note.title && description === note.body) return note.ical;
    return rewriteMaster(note.ical, master, note);
  }
  return journalText('-//Holdfast//Notes//EN', [
    `UID:${escapeText(itemId)}`,
    `DTSTAMP:${utcStamp(times.updated)}`,
    `LAST-MODIFIED:${utcStamp(times.updated)}`,
    ...(note.title ? [`SUMMARY:${escapeText(note.title)}`] : []),
    ...(note.body ? [`DESCRIPTION:${escapeText(note.body)}`] : []),
  ]);
}

/** A calendar object holding one VJOURNAL of `properties` (content lines, unfolded), folded and CRLF-ended. */
export function journalText(prodId: string, properties: string[]): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', `PRODID:${prodId}`, 'BEGIN:VJOURNAL', ...properties];
  lines.push('END:VJOURNAL', 'END:VCALENDAR');
  return lines
    .map((line) => foldLine(line))
    .join('\r\n')
    .concat('\r\n');
}

/** The journal entry a note is: the VJOURNAL without RECURRENCE-ID, else the first. */
function journalMaster(text: string): ContentComponent {
  let top: ContentComponent[];
  try {
    top = readComponents(text);
  } catch (error) {
    if (error instanceof ContentLineError) throw invalid(`not an iCalendar object: ${error.message}`);
    throw error;
  }
  const journals = top
    .flatMap((c) => (c.name === 'VCALENDAR' ? c.components : []))
    .filter((c) => c.name === 'VJOURNAL');
  const master = journals.find((j) => !j.properties.some((p) => p.name.toUpperCase() === 'RECURRENCE-ID'));
  const found = master ?? journals[0];
  if (!found) throw invalid('a note in iCalendar form needs a VJOURNAL');
  return found;
}

function textProperty(component: ContentComponent, name: string): string | null {
  const property = component.properties.find((p) => p.name.toUpperCase() === name);
  return property ? unescapeText(property.value) : null;
}

/**
 * The calendar object with the master VJOURNAL's SUMMARY and DESCRIPTION
 * replaced by the note's, each where it was written (or after BEGIN:VJOURNAL
 * when it was not); every other line stays as written.
 */
function rewriteMaster(text: string, master: ContentComponent, note: NoteContent): string {
  const eol = /\r\n|\n|\r/.exec(text)?.[0] ?? '\r\n';
  const logical = unfoldLines(text);
  const physical = text.split(/\r\n|\r|\n/);
  if (physical.at(-1) === '') physical.pop();
  const wanted: Record<string, string[]> = {
    SUMMARY: note.title ? [foldLine(`SUMMARY:${escapeText(note.title)}`, eol)] : [],
    DESCRIPTION: note.body ? [foldLine(`DESCRIPTION:${escapeText(note.body)}`, eol)] : [],
  };
  // Physical line index → what replaces it ([] drops it); lines not listed stay.
  const replace = new Map<number, string[]>();
  const placed = new Set<string>();
  let depth = 0;
  let inMaster = false;
  let beginLast = -1;
  for (const [index, { line, text: content }] of logical.entries()) {
    const next = logical[index + 1]?.line ?? physical.length + 1;
    if (/^BEGIN[ \t]*:/i.test(content)) {
      depth++;
      if (line === master.line) {
        inMaster = true;
        beginLast = next - 2;
      }
    } else if (/^END[ \t]*:/i.test(content)) {
      if (inMaster && depth === 2) inMaster = false;
      depth--;
    } else if (inMaster && depth === 2) {
      const name = /^(SUMMARY|DESCRIPTION)(?=[;:])/i.exec(content)?.[1]?.toUpperCase();
      if (!name) continue;
      for (let n = line; n < next; n++) replace.set(n - 1, []);
      if (!placed.has(name)) replace.set(line - 1, wanted[name] ?? []);
      placed.add(name);
    }
  }
  const missing = ['SUMMARY', 'DESCRIPTION'].filter((name) => !placed.has(name)).flatMap((name) => wanted[name] ?? []);
  const out: string[] = [];
  physical.forEach((row, index) => {
    out.push(...(replace.get(index) ?? [row]));
    if (index === beginLast) out.push(...missing);
  });
  return out.join(eol).concat(eol);
}

export function escapeText(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

function unescapeText(value: string): string {
  return value.replace(/\\([\\;,nN:])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

export function utcStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function invalid(message: string): AppError {
  return new AppError('invalid_content', message);
}
