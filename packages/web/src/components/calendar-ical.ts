import ICAL from 'ical.js';

/**
 * iCalendar text for the calendar and task pages, through ical.js: recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID
 * overrides, the text's own VTIMEZONEs) expand exactly as DAV clients expand them, and edits change only the
 * properties the form shows, so what a phone or a DAV app wrote (alarms, attendees, X- properties) survives.
 */

/** One occurrence of an event within a shown range. */
export interface Occurrence {
  key: string;
  itemId: string;
  summary: string;
  location: string;
  start: Date;
  end: Date;
  allDay: boolean;
  recurring: boolean;
}

/** A series expands at most this many steps, so one runaway rule cannot hang the page. */
const MAX_STEPS = 5000;
const PRODID = '-//Holdfast//Web portal//EN';

function parse(text: string): ICAL.Component | null {
  try {
    const root = new ICAL.Component(ICAL.parse(text) as unknown[]);
    for (const zone of root.getAllSubcomponents('vtimezone')) {
      try {
        ICAL.TimezoneService.register(zone);
      } catch {
        // A zone ical.js cannot read: its times are shown as floating (local), as most clients do.
      }
    }
    return root;
  } catch {
    return null;
  }
}

function text(component: ICAL.Component, name: string): string {
  const value = component.getFirstPropertyValue(name);
  return value == null ? '' : String(value);
}

interface Series {
  event: ICAL.Event;
  master: ICAL.Component;
}

/**
 * Parsed events by their text. Moving the calendar from month to month expands the same texts again; parsing is
 * most of that cost, and a text never changes meaning, so it is parsed once. Bounded so a long session stays small.
 */
const parsed = new Map<string, Series | null>();
const MAX_PARSED = 20_000;

function seriesOf(ics: string): Series | null {
  const known = parsed.get(ics);
  if (known !== undefined) return known;
  const root = parse(ics);
  const events = root?.getAllSubcomponents('vevent') ?? [];
  const master = events.find((e) => !e.hasProperty('recurrence-id')) ?? events[0];
  const series = master
    ? {
        master,
        event: new ICAL.Event(master, {
          exceptions: events.filter((e) => e !== master && e.hasProperty('recurrence-id')),
        }),
      }
    : null;
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(ics, series);
  return series;
}

/** The occurrences of one calendar item that overlap [from, to). An unreadable item gives none. */
export function expandEvent(itemId: string, ics: string, from: Date, to: Date): Occurrence[] {
  const series = seriesOf(ics);
  if (!series) return [];
  const { event, master } = series;
  const out: Occurrence[] = [];
  const push = (start: ICAL.Time, end: ICAL.Time, source: ICAL.Component) => {
    const startDate = start.toJSDate();
    let endDate = end.toJSDate();
    if (endDate <= startDate) endDate = new Date(startDate.getTime() + (start.isDate ? 86_400_000 : 1));
    if (endDate <= from || startDate >= to) return;
    out.push({
      key: `${itemId}@${startDate.toISOString()}`,
      itemId,
      summary: text(source, 'summary') || 'Untitled event',
      location: text(source, 'location'),
      start: startDate,
      end: endDate,
      allDay: start.isDate,
      recurring: event.isRecurring(),
    });
  };
  if (!event.isRecurring()) {
    push(event.startDate, event.endDate ?? event.startDate, master);
    return out;
  }
  // Occurrences that end before the range need no details, unless an override may move one into it.
  const length = (event.endDate ?? event.startDate).toJSDate().getTime() - event.startDate.toJSDate().getTime();
  const skipBefore = master.parent?.getAllSubcomponents('vevent').some((e) => e.hasProperty('recurrence-id'))
    ? Number.NEGATIVE_INFINITY
    : from.getTime() - Math.max(length, 86_400_000);
  const iterator = event.iterator();
  for (let step = 0; step < MAX_STEPS; step++) {
    const next = iterator.next();
    if (!next) break;
    const at = next.toJSDate().getTime();
    if (at >= to.getTime()) break;
    if (at < skipBefore) continue;
    const details = event.getOccurrenceDetails(next);
    push(details.startDate, details.endDate, details.item.component);
  }
  return out;
}

/** What the event form edits. Times are the browser's local time, as `<input type=date|datetime-local>` hold them. */
export interface EventFields {
  summary: string;
  location: string;
  description: string;
  allDay: boolean;
  start: string;
  end: string;
  repeat: Repeat;
}

export type Repeat = 'none' | 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A Date as the value of a date (all-day) or datetime-local input. */
export function toInputValue(date: Date, allDay: boolean): string {
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return allDay ? day : `${day}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The value of a date or datetime-local input as a local Date. */
export function fromInputValue(value: string): Date {
  const [day = '', time = '00:00'] = value.split('T');
  const [y = 1970, m = 1, d = 1] = day.split('-').map(Number);
  const [hh = 0, mm = 0] = time.split(':').map(Number);
  return new Date(y, m - 1, d, hh, mm);
}

function master(root: ICAL.Component, name: 'vevent' | 'vtodo'): ICAL.Component | undefined {
  const all = root.getAllSubcomponents(name);
  return all.find((c) => !c.hasProperty('recurrence-id')) ?? all[0];
}

/** The form's view of an existing event. */
export function readEventFields(ics: string): EventFields | null {
  const root = parse(ics);
  const vevent = root && master(root, 'vevent');
  if (!vevent) return null;
  const event = new ICAL.Event(vevent);
  const allDay = event.startDate.isDate;
  const start = event.startDate.toJSDate();
  let end = (event.endDate ?? event.startDate).toJSDate();
  // DTEND of an all-day event is exclusive; the form shows the last day.
  if (allDay) end = new Date(Math.max(start.getTime(), end.getTime() - 86_400_000));
  const rule = vevent.getFirstPropertyValue('rrule') as ICAL.Recur | null;
  const freq = rule?.freq;
  return {
    summary: text(vevent, 'summary'),
    location: text(vevent, 'location'),
    description: text(vevent, 'description'),
    allDay,
    start: toInputValue(start, allDay),
    end: toInputValue(end, allDay),
    repeat: freq === 'DAILY' || freq === 'WEEKLY' || freq === 'MONTHLY' || freq === 'YEARLY' ? freq : 'none',
  };
}

/** An input value as an iCalendar time: a DATE for all-day, otherwise the instant in UTC (no zone to get wrong). */
function toTime(value: string, allDay: boolean): ICAL.Time {
  if (allDay) return ICAL.Time.fromDateString(value.slice(0, 10));
  return ICAL.Time.fromJSDate(fromInputValue(value), true);
}

function setTime(component: ICAL.Component, name: string, time: ICAL.Time): void {
  const property = component.updatePropertyWithValue(name, time);
  property.removeParameter('tzid');
  property.removeParameter('value');
}

function setText(component: ICAL.Component, name: string, value: string): void {
  if (value.trim()) component.updatePropertyWithValue(name, value);
  else component.removeAllProperties(name);
}

function touch(component: ICAL.Component, created: boolean): void {
  const now = ICAL.Time.fromJSDate(new Date(), true);
  component.updatePropertyWithValue('dtstamp', now);
  component.updatePropertyWithValue('last-modified', now);
  // SEQUENCE counts changes after the first (absent means 0), so calendar apps notice a changed event.
  const sequence = created ? 0 : Number(component.getFirstPropertyValue('sequence') ?? 0) + 1;
  component.updatePropertyWithValue('sequence', Number.isFinite(sequence) ? sequence : 1);
}

function newCalendar(uid: string, name: 'vevent' | 'vtodo'): { root: ICAL.Component; item: ICAL.Component } {
  const root = new ICAL.Component('vcalendar');
  root.updatePropertyWithValue('version', '2.0');
  root.updatePropertyWithValue('prodid', PRODID);
  const item = new ICAL.Component(name);
  item.updatePropertyWithValue('uid', uid);
  root.addSubcomponent(item);
  return { root, item };
}

/** The iCalendar text of an event after the form's edit; `ics` is the current text, or null for a new event. */
export function writeEvent(ics: string | null, uid: string, fields: EventFields): string {
  const parsed = ics ? parse(ics) : null;
  const existing = parsed && master(parsed, 'vevent');
  const { root, item: vevent } = parsed && existing ? { root: parsed, item: existing } : newCalendar(uid, 'vevent');
  setText(vevent, 'summary', fields.summary);
  setText(vevent, 'location', fields.location);
  setText(vevent, 'description', fields.description);
  const start = toTime(fields.start, fields.allDay);
  let end = toTime(fields.end || fields.start, fields.allDay);
  if (fields.allDay) end.adjust(1, 0, 0, 0);
  if (end.compare(start) < 0) {
    end = start.clone();
    if (fields.allDay) end.adjust(1, 0, 0, 0);
  }
  setTime(vevent, 'dtstart', start);
  vevent.removeAllProperties('duration');
  setTime(vevent, 'dtend', end);
  const current = vevent.getFirstPropertyValue('rrule') as ICAL.Recur | null;
  if (fields.repeat === 'none') {
    // No longer a series: its exceptions and moved occurrences would only confuse other calendars.
    for (const name of ['rrule', 'rdate', 'exdate']) vevent.removeAllProperties(name);
    for (const other of root.getAllSubcomponents('vevent')) if (other !== vevent) root.removeSubcomponent(other);
  }
  // A rule the form cannot show in full (BYDAY, COUNT, UNTIL…) is kept while its frequency is unchanged.
  else if (current?.freq !== fields.repeat)
    vevent.updatePropertyWithValue('rrule', ICAL.Recur.fromString(`FREQ=${fields.repeat}`));
  touch(vevent, !existing);
  return root.toString();
}

/** A task as the task page shows and edits it. */
export interface TaskFields {
  summary: string;
  description: string;
  /** `yyyy-mm-dd`, or '' for no due date. */
  due: string;
  done: boolean;
}

export function readTaskFields(ics: string): TaskFields | null {
  const root = parse(ics);
  const vtodo = root && master(root, 'vtodo');
  if (!vtodo) return null;
  const due = vtodo.getFirstPropertyValue('due') as ICAL.Time | null;
  return {
    summary: text(vtodo, 'summary'),
    description: text(vtodo, 'description'),
    due: due && typeof due === 'object' && 'toJSDate' in due ? toInputValue(due.toJSDate(), true) : '',
    done: text(vtodo, 'status').toUpperCase() === 'COMPLETED' || vtodo.hasProperty('completed'),
  };
}

/** The iCalendar text of a task after an edit; `ics` is the current text, or null for a new task. */
export function writeTask(ics: string | null, uid: string, fields: TaskFields): string {
  const parsed = ics ? parse(ics) : null;
  const existing = parsed && master(parsed, 'vtodo');
  const { root, item: vtodo } = parsed && existing ? { root: parsed, item: existing } : newCalendar(uid, 'vtodo');
  setText(vtodo, 'summary', fields.summary);
  setText(vtodo, 'description', fields.description);
  if (fields.due) setTime(vtodo, 'due', ICAL.Time.fromDateString(fields.due));
  else vtodo.removeAllProperties('due');
  const wasDone = text(vtodo, 'status').toUpperCase() === 'COMPLETED' || vtodo.hasProperty('completed');
  if (fields.done && !wasDone) {
    vtodo.updatePropertyWithValue('status', 'COMPLETED');
    vtodo.updatePropertyWithValue('completed', ICAL.Time.fromJSDate(new Date(), true));
    vtodo.updatePropertyWithValue('percent-complete', 100);
  } else if (!fields.done && wasDone) {
    vtodo.updatePropertyWithValue('status', 'NEEDS-ACTION');
    vtodo.removeAllProperties('completed');
    vtodo.removeAllProperties('percent-complete');
  }
  touch(vtodo, !existing);
  return root.toString();
}
