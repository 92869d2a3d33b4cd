import { AppError } from '@holdfast/protocol';
import { describe, expect, test } from 'vitest';
import { type CalendarKind, readICalendar } from './icalendar.js';

const calendar = (...lines: string[]) =>
  `${['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...lines, 'END:VCALENDAR'].join('\r\n')}\r\n`;
const event = (...lines: string[]) => ['BEGIN:VEVENT', ...lines, 'END:VEVENT'];
const todo = (...lines: string[]) => ['BEGIN:VTODO', ...lines, 'END:VTODO'];

function rejection(text: string, kind: CalendarKind = 'VEVENT'): AppError {
  try {
    readICalendar(text, kind);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the calendar object to be rejected');
}

describe('readICalendar accepts', () => {
  test('one event', () => {
    const text = calendar(
      ...event('UID:e1', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240501T090000Z', 'SUMMARY:Stand\\, up'),
    );
    expect(readICalendar(text, 'VEVENT')).toEqual({
      uid: 'e1',
      summary: 'Stand, up',
      start: '2024-05-01T09:00:00Z',
      tzid: null,
      allDay: false,
      hasRrule: false,
      overrides: 0,
    });
  });

  test('a recurring event with overrides, read from its master wherever it is', () => {
    const text = calendar(
      ...event(
        'UID:r',
        'RECURRENCE-ID;TZID=Europe/Berlin:20240508T090000',
        'DTSTART;TZID=Europe/Berlin:20240508T100000',
        'SUMMARY:moved',
      ),
      ...event('UID:r', 'DTSTART;TZID=Europe/Berlin:20240501T090000', 'RRULE:FREQ=WEEKLY', 'SUMMARY:weekly'),
      ...event(
        'UID:r',
        'RECURRENCE-ID;TZID=Europe/Berlin:20240515T090000',
        'DTSTART;TZID=Europe/Berlin:20240515T090000',
        'STATUS:CANCELLED',
      ),
    );
    expect(readICalendar(text, 'VEVENT')).toMatchObject({
      uid: 'r',
      summary: 'weekly',
      start: '2024-05-01T09:00:00',
      tzid: 'Europe/Berlin',
      hasRrule: true,
      overrides: 2,
    });
  });

  test('an all-day event, also when VALUE=DATE is missing', () => {
    expect(readICalendar(calendar(...event('UID:a', 'DTSTART;VALUE=DATE:20240501')), 'VEVENT')).toMatchObject({
      start: '2024-05-01',
      allDay: true,
    });
    expect(readICalendar(calendar(...event('UID:a', 'DTSTART:20240501', 'DTEND:20240502')), 'VEVENT')).toMatchObject({
      start: '2024-05-01',
      allDay: true,
    });
  });

  test('a missing UID, recorded as null', () => {
    expect(readICalendar(calendar(...event('DTSTART:20240501T090000Z')), 'VEVENT').uid).toBeNull();
  });

  test('VTIMEZONE and unknown X- components next to the event', () => {
    const text = calendar(
      'BEGIN:VTIMEZONE',
      'TZID:Custom',
      'BEGIN:STANDARD',
      'DTSTART:16010101T030000',
      'TZOFFSETFROM:+0200',
      'TZOFFSETTO:+0100',
      'END:STANDARD',
      'END:VTIMEZONE',
      'BEGIN:X-VENDOR-THING',
      'X-A:1',
      'END:X-VENDOR-THING',
      ...event(
        'UID:t',
        'DTSTART;TZID=Custom:20240501T090000',
        'BEGIN:VALARM',
        'ACTION:DISPLAY',
        'TRIGGER:-PT5M',
        'END:VALARM',
      ),
    );
    expect(readICalendar(text, 'VEVENT')).toMatchObject({ uid: 't', tzid: 'Custom' });
  });

  test('a task with due date and status', () => {
    const text = calendar(...todo('UID:t1', 'SUMMARY:Buy milk', 'DUE;VALUE=DATE:20240502', 'STATUS:NEEDS-ACTION'));
    expect(readICalendar(text, 'VTODO')).toEqual({
      uid: 't1',
      summary: 'Buy milk',
      start: null,
      tzid: null,
      allDay: false,
      hasRrule: false,
      overrides: 0,
      due: '2024-05-02',
      status: 'NEEDS-ACTION',
    });
  });

  test('Exchange/CDO BYDAY lists with spaces and Salesforce dates with a space after the colon', () => {
    const text = calendar(
      ...event(
        'UID:x',
        'DTSTART:20150703T100000',
        'DTEND: 20150703T103000',
        'RRULE:FREQ=DAILY;BYDAY=MO, TU, WE',
        ' ;WKST=SU',
      ),
    );
    expect(readICalendar(text, 'VEVENT')).toMatchObject({ uid: 'x', hasRrule: true });
  });

  test('TAB folds, LF or CR CR LF line ends and a leading blank line', () => {
    const lf = `\n${calendar(...event('UID:f', 'SUMMARY:long', '\tsummary', 'DTSTART:20240501T090000Z')).replaceAll('\r\n', '\n')}`;
    expect(readICalendar(lf, 'VEVENT').summary).toBe('longsummary');
    expect(readICalendar(lf.replaceAll('\n', '\r\r\n'), 'VEVENT').summary).toBe('longsummary');
  });
});

describe('readICalendar rejects', () => {
  test.each([
    [
      'a vCard',
      'BEGIN:VCARD\r\nFN:x\r\nEND:VCARD',
      'VEVENT',
      /^not an iCalendar object: line 1: expected BEGIN:VCALENDAR, found BEGIN:VCARD$/,
    ],
    ['nothing', '', 'VEVENT', /^not an iCalendar object: no BEGIN:VCALENDAR found$/],
    ['a calendar without events', calendar('X-WR-CALNAME:x'), 'VEVENT', /^calendar items need a VEVENT$/],
    [
      'a task list without tasks',
      calendar(...event('UID:e')),
      'VTODO',
      /^task items hold VTODOs only; found VEVENT at line 4$/,
    ],
    [
      'a task in a calendar item',
      calendar(...event('UID:e'), ...todo('UID:e')),
      'VEVENT',
      /^calendar items hold VEVENTs only; found VTODO at line 7$/,
    ],
    [
      'a free/busy object',
      calendar('BEGIN:VFREEBUSY', 'UID:f', 'END:VFREEBUSY'),
      'VEVENT',
      /found VFREEBUSY at line 4/,
    ],
    [
      'vCalendar 1.0',
      calendar(...event('UID:e')).replace('VERSION:2.0', 'VERSION:1.0'),
      'VEVENT',
      /^unsupported iCalendar version '1.0'/,
    ],
    [
      'two calendars',
      calendar(...event('UID:a')) + calendar(...event('UID:a')),
      'VEVENT',
      /^one calendar object per item: found 2 VCALENDARs \(lines 1, 8\)$/,
    ],
    [
      'a property after END:VCALENDAR',
      `${calendar(...event('UID:a'))}X-COMMENT:cached\r\n`,
      'VEVENT',
      /^not an iCalendar object: line 8: X-COMMENT is outside any component \(after END:VCALENDAR\)$/,
    ],
    [
      'an unclosed event',
      calendar('BEGIN:VEVENT', 'UID:a'),
      'VEVENT',
      /^not an iCalendar object: line 6: END:VCALENDAR does not close BEGIN:VEVENT \(line 4\)$/,
    ],
    [
      'a bad recurrence rule',
      calendar(...event('UID:a', 'DTSTART:20240501T090000Z', 'RRULE:FREQ=SOMETIMES')),
      'VEVENT',
      /^not an iCalendar object: line 7: RRULE: invalid frequency "SOMETIMES"/,
    ],
    [
      'a bad start',
      calendar(...event('UID:a', 'DTSTART:tomorrow')),
      'VEVENT',
      /^not an iCalendar object: line 6: DTSTART: /,
    ],
    [
      'a value hidden in a quoted parameter',
      calendar(...event('UID:a', 'DTSTART;TZID="Europe/Berlin:20240501T090000"')),
      'VEVENT',
      /^not an iCalendar object: line 6: DTSTART has no ':' before its value \(the ':' is inside the quoted TZID parameter\)/,
    ],
    [
      'a bare property name (only vCard 2.1 tolerates it)',
      calendar(...event('UID:a', 'SUMMARY')),
      'VEVENT',
      /^not an iCalendar object: line 6: SUMMARY has no ':'/,
    ],
  ] as const)('%s', (_name, text, kind, message) => {
    const error = rejection(text, kind);
    expect(error.code).toBe('invalid_content');
    expect(error.message).toMatch(message);
  });

  test('events with different UIDs: one event per item', () => {
    const text = calendar(
      ...event('UID:a'),
      ...event('UID:b'),
      ...event('UID:c'),
      ...event('UID:d'),
      ...event('UID:e'),
    );
    expect(rejection(text).message).toBe(
      "one event per item: all VEVENTs must share one UID, found 5: 'a' at line 4, 'b' at line 7, 'c' at line 10 and 2 more; push each event as its own item",
    );
  });

  test('a UID on some components but not on others', () => {
    const text = calendar(...event('UID:a', 'DTSTART:20240501T090000Z'), ...event('RECURRENCE-ID:20240502T090000Z'));
    expect(rejection(text).message).toMatch(/found 2: 'a' at line 4, \(no UID\) at line 8/);
  });

  test('two masters with one UID', () => {
    const text = calendar(...event('UID:a', 'DTSTART:20240501T090000Z'), ...event('UID:a', 'DTSTART:20240601T090000Z'));
    expect(rejection(text).message).toBe(
      'one event per item: 2 VEVENTs have no RECURRENCE-ID (lines 4, 8); only one can be the master',
    );
  });

  test('two overrides of the same instance', () => {
    const text = calendar(
      ...event('UID:a', 'DTSTART:20240501T090000Z', 'RRULE:FREQ=DAILY'),
      ...event('UID:a', 'RECURRENCE-ID:20240502T090000Z'),
      ...event('UID:a', 'RECURRENCE-ID:20240502T090000Z'),
    );
    expect(rejection(text).message).toBe(
      'two VEVENTs override the same instance (RECURRENCE-ID 20240502T090000Z at lines 9 and 13)',
    );
  });
});
