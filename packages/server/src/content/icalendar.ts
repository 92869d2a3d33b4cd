import { AppError, loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import { type ContentComponent, type ContentLine, ContentLineError, readComponents } from './content-lines.js';
import { toJcal } from './jcal.js';

/** The component an item of a calendar-like collection is made of. */
export type CalendarKind = 'VEVENT' | 'VTODO' | 'VJOURNAL';

/**
 * Searchable fields of one event or task, read from its master component (the
 * one without RECURRENCE-ID, else the first). `uid` null records a missing UID.
 * Times are as written (`2024-05-01T09:00:00`, `Z` for UTC) with their TZID.
 */
export interface CalendarMeta {
  uid: string | null;
  summary: string | null;
  start: string | null;
  tzid: string | null;
  allDay: boolean;
  hasRrule: boolean;
  /** How many RECURRENCE-ID overrides the item carries. */
  overrides: number;
  /** Tasks only. */
  due?: string | null;
  status?: string | null;
}

const SCHEDULING = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY']);
const NOUN: Record<CalendarKind, { item: string; component: string }> = {
  VEVENT: { item: 'calendar items', component: 'event' },
  VTODO: { item: 'task items', component: 'task' },
  VJOURNAL: { item: 'notes in iCalendar form', component: 'journal entry' },
};

/**
 * Validates one calendar object resource: a single VCALENDAR holding one
 * event (or task) with its overrides — every VEVENT/VTODO shares one UID, at
 * most one has no RECURRENCE-ID and no two override the same instance. Throws
 * AppError('invalid_content') naming the problem and its line.
 */
export function readICalendar(text: string, kind: CalendarKind): CalendarMeta {
  const calendar = readSingleCalendar(text);
  const version = calendar.properties.find((p) => p.group === null && p.name.toUpperCase() === 'VERSION');
  if (version && version.value.trim() !== '2.0') {
    throw invalid(`unsupported iCalendar version '${version.value.trim()}' (only 2.0 is accepted)`);
  }
  const parsed = new (loadIcal().Component)(
    withLine(() => toJcal(calendar, loadIcal().design.icalendar, { prepare: lenient, decode: TIMES })),
  );
  const subcomponents = parsed.getAllSubcomponents();
  const children = calendar.components.map((raw, index) => ({ raw, parsed: subcomponents[index] }));
  const noun = NOUN[kind];
  const foreign = children.find(({ raw }) => SCHEDULING.has(raw.name) && raw.name !== kind);
  if (foreign) {
    throw invalid(`${noun.item} hold ${kind}s only; found ${foreign.raw.name} at line ${foreign.raw.line}`);
  }
  const items = children.filter(({ raw }) => raw.name === kind);
  const first = items[0];
  if (!first?.parsed) throw invalid(`${noun.item} need a ${kind}`);
  const parts = items.map(({ raw, parsed }) => ({ raw, parsed: parsed as ICAL.Component }));
  checkOneUid(parts, kind, noun.component);
  const masters = parts.filter(({ raw }) => !hasProperty(raw, 'RECURRENCE-ID'));
  if (masters.length > 1) {
    const lines = masters.map(({ raw }) => raw.line).join(', ');
    throw invalid(
      `one ${noun.component} per item: ${masters.length} ${kind}s have no RECURRENCE-ID (lines ${lines}); only one can be the master`,
    );
  }
  checkDistinctOverrides(parts, kind);
  const master = (masters[0] ?? first).parsed as ICAL.Component;
  return metaOf(master, kind, parts.length - masters.length);
}

function readSingleCalendar(text: string): ContentComponent {
  const top = withLine(() => readComponents(text));
  const first = top[0];
  if (!first) throw invalid('not an iCalendar object: no BEGIN:VCALENDAR found');
  const other = top.find((c) => c.name !== 'VCALENDAR');
  if (other)
    throw invalid(`not an iCalendar object: line ${other.line}: expected BEGIN:VCALENDAR, found BEGIN:${other.name}`);
  if (top.length > 1) {
    const lines = top.map((c) => c.line).join(', ');
    throw invalid(`one calendar object per item: found ${top.length} VCALENDARs (lines ${lines})`);
  }
  return first;
}

interface Part {
  raw: ContentComponent;
  parsed: ICAL.Component;
}

function checkOneUid(parts: Part[], kind: CalendarKind, noun: string): void {
  const uids = new Map<string | null, number>();
  for (const { raw, parsed } of parts) {
    const uid = textValue(parsed, 'uid');
    if (!uids.has(uid)) uids.set(uid, raw.line);
  }
  if (uids.size <= 1) return;
  const shown = [...uids].slice(0, 3).map(([uid, line]) => `${uid === null ? '(no UID)' : `'${uid}'`} at line ${line}`);
  const more = uids.size > 3 ? ` and ${uids.size - 3} more` : '';
  throw invalid(
    `one ${noun} per item: all ${kind}s must share one UID, found ${uids.size}: ${shown.join(', ')}${more}; push each ${noun} as its own item`,
  );
}

function checkDistinctOverrides(parts: Part[], kind: CalendarKind): void {
  const seen = new Map<string, number>();
  for (const { raw } of parts) {
    const rid = raw.properties.find((p) => p.name.toUpperCase() === 'RECURRENCE-ID');
    if (!rid) continue;
    const key = `${rid.params.map((p) => `${p.name}=${p.value}`).join(';')}:${rid.value.trim()}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw invalid(
        `two ${kind}s override the same instance (RECURRENCE-ID ${rid.value.trim()} at lines ${earlier} and ${raw.line})`,
      );
    }
    seen.set(key, raw.line);
  }
}

function metaOf(master: ICAL.Component, kind: CalendarKind, overrides: number): CalendarMeta {
  const start = timeOf(master, 'dtstart');
  const meta: CalendarMeta = {
    uid: textValue(master, 'uid'),
    summary: textValue(master, 'summary'),
    start: start?.value ?? null,
    tzid: start?.tzid ?? null,
    allDay: start?.allDay ?? false,
    hasRrule: master.hasProperty('rrule'),
    overrides,
  };
  if (kind === 'VTODO') {
    meta.due = timeOf(master, 'due')?.value ?? null;
    meta.status = textValue(master, 'status');
  }
  return meta;
}

function timeOf(
  component: ICAL.Component,
  name: string,
): { value: string; tzid: string | null; allDay: boolean } | null {
  const property = component.getFirstProperty(name);
  const value = property?.getFirstValue();
  if (!property || value === null || value === undefined) return null;
  const tzid = property.getParameter('tzid');
  return {
    value: value.toString(),
    tzid: typeof tzid === 'string' ? tzid : null,
    allDay: value instanceof loadIcal().Time && value.isDate,
  };
}

/** A property's first value as text, or null when the property is absent or empty. */
function textValue(component: ICAL.Component, name: string): string | null {
  const value = component.getFirstPropertyValue(name);
  if (value === null || value === undefined) return null;
  const text = value.toString();
  return text.length > 0 ? text : null;
}

function hasProperty(component: ContentComponent, name: string): boolean {
  return component.properties.some((p) => p.name.toUpperCase() === name);
}

/** The properties that say when an item happens; their values must decode. */
const TIMES: ReadonlySet<string> = new Set(['dtstart', 'dtend', 'due', 'recurrence-id']);
const DATE_LIST = /^\d{8}(,\d{8})*$/;

/**
 * Quirks of real clients, smoothed over for validation only:
 * - Exchange/CDO writes `BYDAY=MO, TU, WE`; a recurrence rule never contains
 *   whitespace, so it is dropped.
 * - Salesforce writes `DTEND: 20240812T223000Z`; surrounding blanks are not
 *   part of a date.
 * - Older servers (ZideStore, Palm sync) write all-day `DTSTART:20060611`
 *   without `VALUE=DATE`; a bare 8-digit value can only be a date.
 */
function lenient(line: ContentLine): ContentLine {
  const name = line.name.toUpperCase();
  if (name === 'RRULE' || name === 'EXRULE') return { ...line, value: line.value.replace(/\s+/g, '') };
  if (!DATE_PROPERTIES.has(name)) return line;
  const value = line.value.trim();
  const hasValueType = line.params.some((p) => p.name?.toUpperCase() === 'VALUE');
  const params =
    !hasValueType && DATE_LIST.test(value) ? [...line.params, { name: 'VALUE', value: 'DATE' }] : line.params;
  return { ...line, params, value };
}

const DATE_PROPERTIES = new Set(['DTSTART', 'DTEND', 'DUE', 'RECURRENCE-ID', 'EXDATE', 'RDATE']);

function withLine<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ContentLineError) throw invalid(`not an iCalendar object: ${error.message}`);
    throw error;
  }
}

function invalid(message: string): AppError {
  return new AppError('invalid_content', message);
}
