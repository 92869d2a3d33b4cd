import fc from 'fast-check';

/**
 * A recurring meeting as the property tests generate and edit it: a series
 * with attendees, excluded dates and alarms, and overridden occurrences,
 * rendered to iCalendar the way Thunderbird, Apple and Google write it.
 */
export interface EventModel {
  summary: string;
  attendees: Attendee[];
  exdates: string[];
  alarms: Alarm[];
  overrides: Override[];
  xprops: string[];
}

export interface Attendee {
  who: string;
  upper: boolean;
  partstat: string;
}

export interface Alarm {
  id: string;
  trigger: string;
}

export interface Override {
  day: string;
  summary: string;
}

const PEOPLE = ['ann', 'bob', 'cat', 'dan', 'eve'];
const DAYS = ['20240108', '20240115', '20240122', '20240129', '20240205', '20240212'];
const summary = fc.constantFrom('Stand-up', 'Sync, weekly', 'Daily; short', 'Réunion 😀', '');
const partstat = fc.constantFrom('NEEDS-ACTION', 'ACCEPTED', 'DECLINED', 'TENTATIVE');
const attendee = fc.record({ who: fc.constantFrom(...PEOPLE), upper: fc.boolean(), partstat });
const alarm = fc.record({ id: fc.constantFrom('a1', 'a2', 'a3'), trigger: fc.constantFrom('-PT5M', '-PT10M', '-P1D') });
const override = fc.record({ day: fc.constantFrom(...DAYS), summary });
const xprop = fc.constantFrom('X-MOZ-GENERATION:1', 'X-MICROSOFT-CDO-BUSYSTATUS:BUSY', 'X-APPLE-TRAVEL-ADVISORY:1');

/** A whole series; duplicates (the same alarm id twice) are allowed, as real files have them. */
export const eventArb: fc.Arbitrary<EventModel> = fc.record({
  summary,
  attendees: fc.array(attendee, { maxLength: 4 }),
  exdates: fc.uniqueArray(fc.constantFrom(...DAYS), { maxLength: 3 }),
  alarms: fc.array(alarm, { maxLength: 2 }),
  overrides: fc.uniqueArray(override, { maxLength: 3, selector: (o) => o.day }),
  xprops: fc.array(xprop, { maxLength: 2 }),
});

/** One change a replica makes. */
export type EventEdit =
  | { op: 'summary'; summary: string }
  | { op: 'addAttendee'; attendee: Attendee }
  | { op: 'reply'; at: number; partstat: string }
  | { op: 'removeAttendee' | 'removeExdate' | 'removeAlarm' | 'removeOverride' | 'removeX'; at: number }
  | { op: 'addExdate'; day: string }
  | { op: 'addAlarm'; alarm: Alarm }
  | { op: 'retrigger'; at: number; trigger: string }
  | { op: 'addOverride'; override: Override }
  | { op: 'editOverride'; at: number; summary: string }
  | { op: 'addX'; xprop: string };

const at = fc.nat(10);

/** Random edits. */
export const eventEditsArb: fc.Arbitrary<EventEdit[]> = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('summary' as const), summary }),
    fc.record({ op: fc.constant('addAttendee' as const), attendee }),
    fc.record({ op: fc.constant('reply' as const), at, partstat }),
    fc.record({
      op: fc.constantFrom('removeAttendee', 'removeExdate', 'removeAlarm', 'removeOverride', 'removeX'),
      at,
    }),
    fc.record({ op: fc.constant('addExdate' as const), day: fc.constantFrom(...DAYS) }),
    fc.record({ op: fc.constant('addAlarm' as const), alarm }),
    fc.record({ op: fc.constant('retrigger' as const), at, trigger: fc.constantFrom('-PT5M', '-PT15M') }),
    fc.record({ op: fc.constant('addOverride' as const), override }),
    fc.record({ op: fc.constant('editOverride' as const), at, summary }),
    fc.record({ op: fc.constant('addX' as const), xprop }),
  ),
  { maxLength: 5 },
);

function without<T>(list: T[], index: number): T[] {
  return list.filter((_item, i) => i !== index % list.length);
}

function replace<T>(list: T[], index: number, change: (item: T) => T): T[] {
  return list.map((item, i) => (i === index % list.length ? change(item) : item));
}

/** Applies edits to a copy of the series. Adding an existing exdate or override day is a no-op. */
export function applyEventEdits(event: EventModel, edits: readonly EventEdit[]): EventModel {
  let e: EventModel = structuredClone(event);
  for (const edit of edits) {
    switch (edit.op) {
      case 'summary':
        e = { ...e, summary: edit.summary };
        break;
      case 'addAttendee':
        e = { ...e, attendees: [...e.attendees, edit.attendee] };
        break;
      case 'reply':
        e = { ...e, attendees: replace(e.attendees, edit.at, (a) => ({ ...a, partstat: edit.partstat })) };
        break;
      case 'removeAttendee':
        e = { ...e, attendees: without(e.attendees, edit.at) };
        break;
      case 'removeExdate':
        e = { ...e, exdates: without(e.exdates, edit.at) };
        break;
      case 'removeAlarm':
        e = { ...e, alarms: without(e.alarms, edit.at) };
        break;
      case 'removeOverride':
        e = { ...e, overrides: without(e.overrides, edit.at) };
        break;
      case 'removeX':
        e = { ...e, xprops: without(e.xprops, edit.at) };
        break;
      case 'addExdate':
        if (!e.exdates.includes(edit.day)) e = { ...e, exdates: [...e.exdates, edit.day] };
        break;
      case 'addAlarm':
        e = { ...e, alarms: [...e.alarms, edit.alarm] };
        break;
      case 'retrigger':
        e = { ...e, alarms: replace(e.alarms, edit.at, (a) => ({ ...a, trigger: edit.trigger })) };
        break;
      case 'addOverride':
        if (!e.overrides.some((o) => o.day === edit.override.day))
          e = { ...e, overrides: [...e.overrides, edit.override] };
        break;
      case 'editOverride':
        e = { ...e, overrides: replace(e.overrides, edit.at, (o) => ({ ...o, summary: edit.summary })) };
        break;
      case 'addX':
        e = { ...e, xprops: [...e.xprops, edit.xprop] };
        break;
    }
  }
  return e;
}

/** Escapes TEXT for an iCalendar value. */
export function escapeIcal(value: string): string {
  return value.replace(/[\\,;]/g, (char) => `\\${char}`);
}

/** The calendar user address as written (some clients upper-case it). */
export function address(a: Attendee): string {
  const mail = `mailto:${a.who}@example.com`;
  return a.upper ? mail.toUpperCase() : mail;
}

/** Renders the series and its overrides as one VCALENDAR. */
export function renderEvent(e: EventModel): string {
  const uid = 'UID:series-1@holdfast.test';
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Holdfast//Property test//EN',
    'BEGIN:VEVENT',
    uid,
    'DTSTAMP:20240101T000000Z',
    'DTSTART;TZID=Europe/Berlin:20240108T093000',
    'RRULE:FREQ=WEEKLY;BYDAY=MO',
    `SUMMARY:${escapeIcal(e.summary)}`,
    ...e.attendees.map((a) => `ATTENDEE;PARTSTAT=${a.partstat};CN=${a.who}:${address(a)}`),
    ...(e.exdates.length > 0 ? [`EXDATE;TZID=Europe/Berlin:${e.exdates.map((d) => `${d}T093000`).join(',')}`] : []),
    ...e.xprops,
    ...e.alarms.flatMap((a) => [
      'BEGIN:VALARM',
      `X-WR-ALARMUID:${a.id}`,
      'ACTION:DISPLAY',
      `TRIGGER:${a.trigger}`,
      'DESCRIPTION:Reminder',
      'END:VALARM',
    ]),
    'END:VEVENT',
    ...e.overrides.flatMap((o) => [
      'BEGIN:VEVENT',
      uid,
      `RECURRENCE-ID;TZID=Europe/Berlin:${o.day}T093000`,
      'DTSTAMP:20240101T000000Z',
      `DTSTART;TZID=Europe/Berlin:${o.day}T100000`,
      `SUMMARY:${escapeIcal(o.summary)}`,
      'END:VEVENT',
    ]),
    'END:VCALENDAR',
    '',
  ];
  return lines.join('\r\n');
}
