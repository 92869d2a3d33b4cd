import { type ContentComponent, unfoldLines, upperCase } from '../content/content-lines.js';

/** Counts of fields by name; zero counts are left out. */
export type FieldCounts = Record<string, number>;

/** Instant-messaging properties written before IMPP existed (vCard 3.0 clients, Google, Apple, Outlook). */
const LEGACY_IM = new Set([
  'X-AIM',
  'X-ICQ',
  'X-JABBER',
  'X-MSN',
  'X-YAHOO',
  'X-SKYPE',
  'X-SKYPE-USERNAME',
  'X-GTALK',
  'X-GOOGLE-TALK',
  'X-QQ',
  'X-GADUGADU',
  'X-MS-IMADDRESS',
]);

/** What the manifest counts in a vCard, by property name. */
const CONTACT_FIELDS: Record<string, string> = {
  TEL: 'tel',
  EMAIL: 'email',
  ADR: 'adr',
  URL: 'url',
  IMPP: 'impp',
  PHOTO: 'photo',
  NICKNAME: 'nickname',
  NOTE: 'note',
  BDAY: 'bday',
  ORG: 'org',
};

const NAME = /^(?:[A-Za-z0-9_-]+\.)?([A-Za-z0-9_-]+)/;

/** A line ending in '=': the only place a QUOTED-PRINTABLE soft line break can be. */
const SOFT_BREAK_CANDIDATE = /=(?:\r\n|\r|\n)/;

/**
 * The logical lines of a card or calendar object, as unfoldLines gives them.
 * Counting runs over every item of an export, so text that cannot hold a
 * QUOTED-PRINTABLE soft line break (almost all of it) is unfolded here
 * directly, without the per-line bookkeeping unfoldLines needs for those.
 */
export function logicalLines(text: string): string[] {
  if (SOFT_BREAK_CANDIDATE.test(text)) return unfoldLines(text).map((line) => line.text);
  const out: string[] = [];
  for (const row of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const first = row.charCodeAt(0);
    if (out.length > 0 && (first === 0x20 || first === 0x09)) out[out.length - 1] += row.slice(1);
    else if (row.length > 0) out.push(row);
  }
  return out;
}

function names(text: string): string[] {
  return logicalLines(text).map((line) => (NAME.exec(line)?.[1] ?? '').toUpperCase());
}

/**
 * A contact's field counts: `tel`, `email`, `adr`, `url`, `impp` (IMPP and
 * the legacy X- IM properties), `photo`, `nickname`, `note`, `bday`, `org`,
 * `withTel` (1 if it has a TEL) and `properties` (every property line).
 */
export function contactFields(text: string): FieldCounts {
  const counts: FieldCounts = {};
  for (const name of names(text)) countContactLine(counts, name);
  if (counts.tel) counts.withTel = 1;
  return counts;
}

/**
 * `contactFields` of a card the write has already read (readComponents with bare names, one card and nothing
 * outside it): the same counts, keys in the same order, without splitting the text again.
 */
export function contactFieldsOf(card: ContentComponent): FieldCounts {
  const counts: FieldCounts = {};
  countComponent(counts, card);
  if (counts.tel) counts.withTel = 1;
  return counts;
}

/** Counts a component's properties and its nested components' in line order, as a pass over the text would. */
function countComponent(counts: FieldCounts, component: ContentComponent): void {
  const nested = component.components;
  let next = 0;
  for (const line of component.properties) {
    while (next < nested.length && (nested[next] as ContentComponent).line < line.line)
      countComponent(counts, nested[next++] as ContentComponent);
    countContactLine(counts, upperCase(line.name));
  }
  while (next < nested.length) countComponent(counts, nested[next++] as ContentComponent);
}

function countContactLine(counts: FieldCounts, name: string): void {
  // A grouped BEGIN or END is a property to the reader; the count, like the text's frame, leaves it out.
  if (name === 'BEGIN' || name === 'END' || name === '') return;
  add(counts, 'properties');
  const field = CONTACT_FIELDS[name] ?? (LEGACY_IM.has(name) ? 'impp' : undefined);
  if (field) add(counts, field);
}

const SCHEDULED = new Set(['VEVENT', 'VTODO']);
const CALENDAR_FIELDS: Record<string, string> = {
  RRULE: 'rrule',
  RDATE: 'rdate',
  EXDATE: 'exdate',
  'RECURRENCE-ID': 'overrides',
  ATTENDEE: 'attendees',
  'RELATED-TO': 'relatedTo',
};

/**
 * An event's or task's field counts, over its VEVENT/VTODO components and
 * what they contain: `components`, `withRrule` (1 if any has an RRULE),
 * `rrule`, `rdate`, `exdate`, `overrides` (components with RECURRENCE-ID),
 * `alarms`, `attendees`, `relatedTo` and `properties`. VTIMEZONEs and the
 * calendar's own properties are not counted here.
 */
export function calendarFields(text: string): FieldCounts {
  const counts: FieldCounts = {};
  const stack: string[] = [];
  for (const line of logicalLines(text)) {
    const keyword = /^(BEGIN|END)[ \t]*:[ \t]*([A-Za-z0-9-]+)/i.exec(line);
    if (keyword) {
      const name = (keyword[2] as string).toUpperCase();
      if ((keyword[1] as string).toUpperCase() === 'BEGIN') {
        stack.push(name);
        if (stack.length === 2 && SCHEDULED.has(name)) add(counts, 'components');
        if (name === 'VALARM' && inScheduled(stack)) add(counts, 'alarms');
      } else {
        stack.pop();
      }
      continue;
    }
    if (!inScheduled(stack)) continue;
    add(counts, 'properties');
    const field = CALENDAR_FIELDS[(NAME.exec(line)?.[1] ?? '').toUpperCase()];
    if (field) add(counts, field);
  }
  if (counts.rrule) counts.withRrule = 1;
  return counts;
}

function inScheduled(stack: string[]): boolean {
  return stack.length >= 2 && SCHEDULED.has(stack[1] as string);
}

function add(counts: FieldCounts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** Adds `more` into `total`. */
export function addCounts(total: FieldCounts, more: FieldCounts): void {
  for (const [key, value] of Object.entries(more)) if (value !== 0) add(total, key, value);
}

/** The keys whose counts differ, with both values. */
export function diffCounts(
  expected: FieldCounts,
  actual: FieldCounts,
): { field: string; expected: number; actual: number }[] {
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...keys]
    .sort()
    .map((field) => ({ field, expected: expected[field] ?? 0, actual: actual[field] ?? 0 }))
    .filter((d) => d.expected !== d.actual);
}
