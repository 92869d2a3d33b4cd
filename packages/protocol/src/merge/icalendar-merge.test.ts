import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { type ContentComponent, parseContent } from './content-tree.js';
import { mergeIcalendar } from './icalendar-merge.js';

const calendar = (...lines: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Holdfast//Test//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');

const timezone = [
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
];

const series = [
  'BEGIN:VEVENT',
  'UID:standup@example.com',
  'DTSTAMP:20240101T080000Z',
  'SEQUENCE:2',
  'DTSTART;TZID=Europe/Berlin:20240108T093000',
  'DTEND;TZID=Europe/Berlin:20240108T094500',
  'RRULE:FREQ=WEEKLY;BYDAY=MO',
  'EXDATE;TZID=Europe/Berlin:20240122T093000',
  'SUMMARY:Stand-up',
  'ORGANIZER;CN=Ann:mailto:ann@example.com',
  'ATTENDEE;PARTSTAT=NEEDS-ACTION;CN=Bob:mailto:bob@example.com',
  'ATTENDEE;PARTSTAT=NEEDS-ACTION;CN=Cat:mailto:cat@example.com',
  'CATEGORIES:work,daily',
  'BEGIN:VALARM',
  'X-WR-ALARMUID:alarm-1',
  'ACTION:DISPLAY',
  'TRIGGER:-PT10M',
  'DESCRIPTION:Stand-up',
  'END:VALARM',
  'END:VEVENT',
];

const override = [
  'BEGIN:VEVENT',
  'UID:standup@example.com',
  'RECURRENCE-ID;TZID=Europe/Berlin:20240115T093000',
  'DTSTAMP:20240101T080000Z',
  'DTSTART;TZID=Europe/Berlin:20240115T100000',
  'DTEND;TZID=Europe/Berlin:20240115T101500',
  'SUMMARY:Stand-up (late)',
  'END:VEVENT',
];

const base = calendar(...timezone, ...series, ...override);

interface Found {
  component: ContentComponent;
  value(name: string): string | undefined;
  values(name: string): string[];
}

function find(text: string, name: string, recurrenceId?: string): Found | undefined {
  const component = parseContent(text, 'iCalendar').children.find(
    (child) =>
      child.name === name &&
      (child.lines.find((line) => line.name === 'recurrence-id')?.value ?? undefined) === recurrenceId,
  );
  if (!component) return undefined;
  const values = (prop: string) => component.lines.filter((line) => line.name === prop).map((line) => line.value);
  return { component, value: (prop) => values(prop)[0], values };
}

function attendees(found: Found | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of found?.component.lines ?? []) {
    if (line.name === 'attendee') out[line.value] = String(line.params.partstat);
  }
  return out;
}

describe('mergeIcalendar: components', () => {
  it('merges the series and each overridden occurrence separately', () => {
    const local = base.replace('SUMMARY:Stand-up\r\n', 'SUMMARY:Daily stand-up\r\n');
    const remote = base.replace('SUMMARY:Stand-up (late)', 'SUMMARY:Stand-up (late)\r\nLOCATION:Room 4');
    const { merged, conflicts } = mergeIcalendar(base, local, remote);
    expect(find(merged, 'vevent')?.value('summary')).toBe('Daily stand-up');
    const moved = find(merged, 'vevent', '20240115T093000');
    expect(moved?.value('summary')).toBe('Stand-up (late)');
    expect(moved?.value('location')).toBe('Room 4');
    expect(find(merged, 'vtimezone')?.component).toEqual(find(base, 'vtimezone')?.component);
    expect(conflicts).toEqual([]);
  });

  it('keeps an occurrence one side added and drops one the other deleted untouched', () => {
    const added = override.map((line) => line.replaceAll('20240115', '20240129'));
    const local = calendar(...timezone, ...series, ...override, ...added);
    const remote = calendar(...timezone, ...series.map((l) => (l === 'SUMMARY:Stand-up' ? 'SUMMARY:Sync' : l)));
    const { merged } = mergeIcalendar(base, local, remote);
    expect(find(merged, 'vevent', '20240129T093000')).toBeDefined();
    expect(find(merged, 'vevent', '20240115T093000')).toBeUndefined();
    expect(find(merged, 'vevent')?.value('summary')).toBe('Sync');
  });

  it('keeps an occurrence one side edited while the other deleted it, and reports it', () => {
    const local = calendar(...timezone, ...series);
    const remote = base.replace('SUMMARY:Stand-up (late)', 'SUMMARY:Stand-up (moved again)');
    const { merged, conflicts } = mergeIcalendar(base, local, remote, { localTime: 9, remoteTime: 1 });
    expect(find(merged, 'vevent', '20240115T093000')?.value('summary')).toBe('Stand-up (moved again)');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({
      path: [{ name: 'VEVENT', uid: 'standup@example.com', recurrenceId: '20240115T093000' }],
      property: null,
      kind: 'edit_over_delete',
      winner: 'remote',
      losingValue: null,
    });
    expect(conflicts[0]?.winningValue).toContain('SUMMARY:Stand-up (moved again)');
  });

  it('reports a property both sides changed with the event it belongs to', () => {
    const local = base.replace(
      'DTSTART;TZID=Europe/Berlin:20240108T093000',
      'DTSTART;TZID=Europe/Berlin:20240108T090000',
    );
    const remote = base.replace(
      'DTSTART;TZID=Europe/Berlin:20240108T093000',
      'DTSTART;TZID=Europe/Berlin:20240108T100000',
    );
    const { merged, conflicts } = mergeIcalendar(base, local, remote, { localTime: 1, remoteTime: 2 });
    expect(find(merged, 'vevent')?.value('dtstart')).toBe('20240108T100000');
    expect(conflicts).toEqual([
      {
        path: [{ name: 'VEVENT', uid: 'standup@example.com', recurrenceId: null }],
        property: 'DTSTART',
        group: null,
        key: null,
        kind: 'concurrent_edit',
        winner: 'remote',
        winningValue: 'DTSTART;TZID=Europe/Berlin:20240108T100000',
        losingValue: 'DTSTART;TZID=Europe/Berlin:20240108T090000',
      },
    ]);
  });

  it('keeps a VTIMEZONE whole, taking the later definition if both changed it', () => {
    const local = base.replace('TZOFFSETTO:+0100', 'TZOFFSETTO:+0100\r\nTZNAME:CET');
    const remote = base.replace('TZOFFSETTO:+0200', 'TZOFFSETTO:+0200\r\nTZNAME:CEST');
    const { merged, conflicts } = mergeIcalendar(base, local, remote, { localTime: 2, remoteTime: 1 });
    expect(find(merged, 'vtimezone')?.component).toEqual(find(local, 'vtimezone')?.component);
    expect(conflicts).toEqual([
      expect.objectContaining({
        path: [{ name: 'VTIMEZONE', uid: 'Europe/Berlin', recurrenceId: null }],
        property: null,
        kind: 'concurrent_edit',
        winner: 'local',
      }),
    ]);
    expect(conflicts[0]?.losingValue).toContain('TZNAME:CEST');
  });

  it('keeps events and tasks without a UID, matched by position', () => {
    const todo = (summary: string) => ['BEGIN:VTODO', `SUMMARY:${summary}`, 'STATUS:NEEDS-ACTION', 'END:VTODO'];
    const b = calendar(...todo('Milk'), ...todo('Bread'));
    const local = calendar(...todo('Milk'), ...todo('Bread').map((l) => l.replace('NEEDS-ACTION', 'COMPLETED')));
    const remote = calendar(...todo('Oat milk'), ...todo('Bread'));
    const { merged } = mergeIcalendar(b, local, remote);
    const todos = parseContent(merged, 'iCalendar').children.map((c) => c.lines.map((l) => l.value).join('|'));
    expect(todos).toEqual(['Oat milk|NEEDS-ACTION', 'Bread|COMPLETED']);
  });
});

describe('mergeIcalendar: properties', () => {
  it('merges attendees by address, so replies from different people all arrive', () => {
    const local = base.replace('PARTSTAT=NEEDS-ACTION;CN=Bob', 'PARTSTAT=ACCEPTED;CN=Bob');
    const remote = base.replace('PARTSTAT=NEEDS-ACTION;CN=Cat', 'PARTSTAT=DECLINED;CN=Cat');
    const { merged, conflicts } = mergeIcalendar(base, local, remote);
    expect(attendees(find(merged, 'vevent'))).toEqual({
      'mailto:bob@example.com': 'ACCEPTED',
      'mailto:cat@example.com': 'DECLINED',
    });
    expect(conflicts).toEqual([]);
  });

  it("gives one attendee's reply both sides changed to the later write, keyed by address", () => {
    const local = base.replace('PARTSTAT=NEEDS-ACTION;CN=Bob', 'PARTSTAT=ACCEPTED;CN=Bob');
    const remote = base.replace('PARTSTAT=NEEDS-ACTION;CN=Bob:mailto:bob', 'PARTSTAT=TENTATIVE;CN=Bob:mailto:BOB');
    const { merged, conflicts } = mergeIcalendar(base, local, remote, { localTime: 3, remoteTime: 2 });
    expect(attendees(find(merged, 'vevent'))['mailto:bob@example.com']).toBe('ACCEPTED');
    expect(conflicts).toEqual([
      expect.objectContaining({
        property: 'ATTENDEE',
        key: 'bob@example.com',
        kind: 'concurrent_edit',
        winner: 'local',
      }),
    ]);
  });

  it('merges EXDATE and CATEGORIES item by item, honouring removals', () => {
    const local = base
      .replace('EXDATE;TZID=Europe/Berlin:20240122T093000', 'EXDATE;TZID=Europe/Berlin:20240122T093000,20240205T093000')
      .replace('CATEGORIES:work,daily', 'CATEGORIES:work');
    const remote = base.replace(
      'EXDATE;TZID=Europe/Berlin:20240122T093000',
      'EXDATE;TZID=Europe/Berlin:20240212T093000',
    );
    const { merged } = mergeIcalendar(base, local, remote);
    const event = find(merged, 'vevent');
    expect(
      event
        ?.values('exdate')
        .flatMap((v) => v.split(','))
        .sort(),
    ).toEqual(['20240205T093000', '20240212T093000']);
    expect(event?.values('categories')).toEqual(['work']);
    const exdates = event?.component.lines.filter((line) => line.name === 'exdate');
    expect(exdates?.every((line) => line.params.tzid === 'Europe/Berlin')).toBe(true);
  });

  it('does not mix up an EXDATE in another zone or as a DATE with the same digits', () => {
    const local = base.replace('EXDATE;TZID=Europe/Berlin:20240122T093000', 'EXDATE:20240122T093000Z');
    const remote = base.replace('EXDATE;TZID=Europe/Berlin:20240122T093000', 'EXDATE;VALUE=DATE:20240122');
    const exdates = find(mergeIcalendar(base, local, remote).merged, 'vevent')?.component.lines.filter(
      (line) => line.name === 'exdate',
    );
    expect(exdates?.map((line) => [line.valueType, line.params.tzid ?? null, line.value]).sort()).toEqual([
      ['date', null, '20240122'],
      ['unknown', null, '20240122T093000Z'],
    ]);
  });

  it('keeps EXDATEs both sides added with the same digits in different zones', () => {
    const local = base.replace('EXDATE;', 'EXDATE;TZID=Europe/Berlin:20240226T093000\r\nEXDATE;');
    const remote = base.replace('EXDATE;', 'EXDATE;TZID=America/New_York:20240226T093000\r\nEXDATE;');
    const { merged, conflicts } = mergeIcalendar(base, local, remote);
    const exdates = find(merged, 'vevent')?.component.lines.filter((line) => line.name === 'exdate') ?? [];
    const items = exdates.flatMap((line) => line.value.split(',').map((value) => `${line.params.tzid} ${value}`));
    expect(items.sort()).toEqual([
      'America/New_York 20240226T093000',
      'Europe/Berlin 20240122T093000',
      'Europe/Berlin 20240226T093000',
    ]);
    expect(conflicts).toEqual([]);
  });

  it('takes the larger SEQUENCE and the later DTSTAMP without reporting them', () => {
    const local = base
      .replace('SEQUENCE:2', 'SEQUENCE:4')
      .replace('DTSTAMP:20240101T080000Z\r\nSEQUENCE', 'DTSTAMP:20240102T080000Z\r\nSEQUENCE')
      .replace('SUMMARY:Stand-up\r\n', 'SUMMARY:A\r\n');
    const remote = base
      .replace('SEQUENCE:2', 'SEQUENCE:3')
      .replace('DTSTAMP:20240101T080000Z\r\nSEQUENCE', 'DTSTAMP:20240103T080000Z\r\nSEQUENCE')
      .replace('TRIGGER:-PT10M', 'TRIGGER:-PT5M');
    const { merged, conflicts } = mergeIcalendar(base, local, remote, { localTime: 1, remoteTime: 2 });
    const event = find(merged, 'vevent');
    expect(event?.value('sequence')).toBe('4');
    expect(event?.value('dtstamp')).toBe('20240103T080000Z');
    expect(event?.value('summary')).toBe('A');
    expect(conflicts).toEqual([]);
  });

  it('matches alarms by X-WR-ALARMUID, merges their fields, and keeps alarms either side added', () => {
    const local = base.replace('DESCRIPTION:Stand-up', 'DESCRIPTION:Stand-up in 15 minutes');
    const remote = base
      .replace('TRIGGER:-PT10M', 'TRIGGER:-PT15M')
      .replace('END:VALARM', 'END:VALARM\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=START:-PT1M\r\nEND:VALARM');
    const { merged, conflicts } = mergeIcalendar(base, local, remote);
    const alarms = find(merged, 'vevent')?.component.children ?? [];
    expect(alarms.map((alarm) => alarm.lines.map((line) => line.value))).toEqual([
      ['alarm-1', 'DISPLAY', '-PT15M', 'Stand-up in 15 minutes'],
      ['AUDIO', '-PT1M'],
    ]);
    expect(conflicts).toEqual([]);
  });

  it('keeps calendar-level and unknown properties, parameters and values as written', () => {
    const b = calendar(
      'X-WR-CALNAME:Team',
      'BEGIN:VEVENT',
      'UID:holiday@example.com',
      'DTSTAMP:20050101T000000Z',
      'DTSTART:20041225',
      'RRULE:FREQ=WEEKLY;BYDAY= TU',
      'X-MICROSOFT-CDO-BUSYSTATUS:FREE',
      'DESCRIPTION;ALTREP="data:text/html,<b>hi</b>":hi',
      'END:VEVENT',
    );
    const local = b.replace('X-WR-CALNAME:Team', 'X-WR-CALNAME:Team\r\nX-WR-TIMEZONE:Europe/Berlin');
    const remote = b.replace('DTSTAMP:20050101T000000Z', 'DTSTAMP:20050101T000000Z\r\nLOCATION:Home');
    const { merged } = mergeIcalendar(b, local, remote);
    const root = parseContent(merged, 'iCalendar');
    expect(root.lines.map((line) => line.value)).toContain('Europe/Berlin');
    const event = find(merged, 'vevent');
    expect(event?.value('dtstart')).toBe('20041225');
    expect(event?.value('rrule')).toBe('FREQ=WEEKLY;BYDAY= TU');
    expect(event?.value('x-microsoft-cdo-busystatus')).toBe('FREE');
    expect(event?.component.lines.find((line) => line.name === 'description')?.params).toEqual({
      altrep: 'data:text/html,<b>hi</b>',
    });
    expect(event?.value('location')).toBe('Home');
  });
});

describe('mergeIcalendar: input it refuses', () => {
  it('rejects a line ical.js would split at the wrong colon instead of merging a corrupted value', () => {
    const tricky = calendar(
      'BEGIN:VEVENT',
      'UID:x',
      'ATTENDEE;DELEGATED-TO="mailto:aaaaaaaaaa@x","mailto:b@x","mailto:q@x":mailto:c@x',
      'END:VEVENT',
    );
    let error: unknown;
    try {
      mergeIcalendar(null, tricky, calendar());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('invalid_content');
  });

  it('rejects a vCard passed as a calendar', () => {
    expect(() => mergeIcalendar(null, 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD', calendar())).toThrow(AppError);
  });
});
