import { describe, expect, it } from 'vitest';
import { expandEvent, readEventFields, readTaskFields, writeEvent, writeTask } from './calendar-ical';

// A weekly series in a named zone, with one occurrence moved and one cancelled, and properties the form does not
// show (an alarm, an attendee, an X- property): what a phone's calendar writes.
const series = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Phone//EN',
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Berlin',
  'BEGIN:STANDARD',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'END:STANDARD',
  'BEGIN:DAYLIGHT',
  'DTSTART:19700329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'END:DAYLIGHT',
  'END:VTIMEZONE',
  'BEGIN:VEVENT',
  'UID:standup',
  'DTSTAMP:20260101T000000Z',
  'DTSTART;TZID=Europe/Berlin:20261102T093000',
  'DTEND;TZID=Europe/Berlin:20261102T100000',
  'SUMMARY:Standup',
  'RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6',
  'EXDATE;TZID=Europe/Berlin:20261116T093000',
  'ATTENDEE;CN=Bob:mailto:bob@example.com',
  'X-PHONE-COLOUR:teal',
  'BEGIN:VALARM',
  'ACTION:DISPLAY',
  'TRIGGER:-PT10M',
  'DESCRIPTION:Standup',
  'END:VALARM',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:standup',
  'DTSTAMP:20260101T000000Z',
  'RECURRENCE-ID;TZID=Europe/Berlin:20261123T093000',
  'DTSTART;TZID=Europe/Berlin:20261123T110000',
  'DTEND;TZID=Europe/Berlin:20261123T113000',
  'SUMMARY:Standup (late)',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

describe('calendar text for the portal', () => {
  it('expands a zoned weekly series with an exception and a moved occurrence', () => {
    const shown = expandEvent('standup', series, new Date('2026-11-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
    expect(shown.map((o) => [o.start.toISOString(), o.summary])).toEqual([
      ['2026-11-02T08:30:00.000Z', 'Standup'],
      ['2026-11-09T08:30:00.000Z', 'Standup'],
      ['2026-11-23T10:00:00.000Z', 'Standup (late)'],
      ['2026-11-30T08:30:00.000Z', 'Standup'],
      ['2026-12-07T08:30:00.000Z', 'Standup'],
    ]);
    expect(shown.every((o) => o.recurring && !o.allDay)).toBe(true);
  });

  it('shows only the occurrences that overlap the range', () => {
    const shown = expandEvent('standup', series, new Date('2026-11-29T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    expect(shown.map((o) => o.start.toISOString())).toEqual(['2026-11-30T08:30:00.000Z']);
  });

  it('finds a long-running series in a range years after it began, including an occurrence begun before the range', () => {
    const daily = writeEvent(null, 'walk', {
      summary: 'Walk',
      location: '',
      description: '',
      allDay: false,
      start: '2020-01-01T07:00',
      end: '2020-01-01T08:00',
      repeat: 'DAILY',
    });
    const from = new Date(2026, 11, 1);
    expect(expandEvent('walk', daily, from, new Date(2026, 11, 3)).map((o) => o.start)).toEqual([
      new Date(2026, 11, 1, 7),
      new Date(2026, 11, 2, 7),
    ]);
    // A three-day weekly retreat that started two days before the range still shows in it.
    const retreat = writeEvent(null, 'retreat', {
      summary: 'Retreat',
      location: '',
      description: '',
      allDay: true,
      start: '2026-01-05',
      end: '2026-01-07',
      repeat: 'WEEKLY',
    });
    const shown = expandEvent('retreat', retreat, new Date(2026, 5, 3), new Date(2026, 5, 4));
    expect(shown.map((o) => [o.start, o.end])).toEqual([[new Date(2026, 5, 1), new Date(2026, 5, 4)]]);
  });

  it('gives nothing for text that is not iCalendar, rather than breaking the page', () => {
    expect(expandEvent('x', 'not a calendar', new Date(0), new Date())).toEqual([]);
  });

  it('edits what the form shows and keeps everything else a device wrote', () => {
    const fields = readEventFields(series);
    expect(fields).toMatchObject({ summary: 'Standup', repeat: 'WEEKLY', allDay: false });
    if (!fields) throw new Error('unreadable');
    const edited = writeEvent(series, 'standup', { ...fields, summary: 'Daily sync', location: 'Room 4' });
    expect(edited).toContain('SUMMARY:Daily sync');
    expect(edited).toContain('LOCATION:Room 4');
    // The rule the form cannot show in full, the alarm, the attendee, the X- property and the override all stay.
    expect(edited).toContain('RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6');
    expect(edited).toContain('TRIGGER:-PT10M');
    expect(edited).toContain('ATTENDEE;CN=Bob:mailto:bob@example.com');
    expect(edited).toContain('X-PHONE-COLOUR:teal');
    expect(edited).toContain('SUMMARY:Standup (late)');
    expect(edited).toContain('SEQUENCE:1');
    const once = writeEvent(edited, 'standup', { ...fields, repeat: 'none' });
    expect(once).not.toMatch(/^RRULE:FREQ=WEEKLY/m);
    expect(once).not.toMatch(/^EXDATE|^RECURRENCE-ID/m);
    expect(once).toContain('TRIGGER:-PT10M');
    expect(
      expandEvent('standup', once, new Date('2026-11-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z')),
    ).toHaveLength(1);
  });

  it('writes a new all-day event with an exclusive end, and reads it back as the days chosen', () => {
    const text = writeEvent(null, 'trip', {
      summary: 'Trip',
      location: '',
      description: '',
      allDay: true,
      start: '2026-12-24',
      end: '2026-12-26',
      repeat: 'YEARLY',
    });
    expect(text).toContain('UID:trip');
    expect(text).toContain('DTSTART;VALUE=DATE:20261224');
    expect(text).toContain('DTEND;VALUE=DATE:20261227');
    expect(text).toContain('RRULE:FREQ=YEARLY');
    expect(readEventFields(text)).toMatchObject({ start: '2026-12-24', end: '2026-12-26', allDay: true });
  });

  it('ticks a task done and open again, keeping what the form does not show', () => {
    const open = writeTask(null, 'milk', { summary: 'Buy milk', description: '', due: '2026-12-08', done: false });
    const withExtra = open.replace('END:VTODO', 'X-APP-PRIORITY:high\r\nEND:VTODO');
    const done = writeTask(withExtra, 'milk', { summary: 'Buy milk', description: '', due: '2026-12-08', done: true });
    expect(readTaskFields(done)).toEqual({ summary: 'Buy milk', description: '', due: '2026-12-08', done: true });
    expect(done).toContain('STATUS:COMPLETED');
    expect(done).toMatch(/^COMPLETED:\d{8}T\d{6}Z/m);
    expect(done).toContain('X-APP-PRIORITY:high');
    const reopened = writeTask(done, 'milk', { summary: 'Buy milk', description: '', due: '', done: false });
    expect(readTaskFields(reopened)).toEqual({ summary: 'Buy milk', description: '', due: '', done: false });
    expect(reopened).not.toMatch(/^COMPLETED/m);
    expect(reopened).not.toMatch(/^DUE/m);
  });
});
