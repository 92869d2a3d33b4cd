import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { matchCalendar, parseCalendarFilter } from './calendar-filter.js';
import { expandCalendar } from './expand.js';
import { isBudgetSpent, recurrenceBudget } from './recurrence.js';
import { parseXml } from './xml-parse.js';

const ics = (...lines: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Holdfast//Test//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');

const event = (start: string, rule: string, ...extra: string[]) =>
  ics(
    'BEGIN:VEVENT',
    'UID:e',
    'DTSTAMP:20260101T000000Z',
    start,
    'DURATION:PT30M',
    rule,
    ...extra,
    'SUMMARY:x',
    'END:VEVENT',
  );

const BERLIN = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Berlin',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'TZNAME:CEST',
  'DTSTART:19700329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'TZNAME:CET',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

const seconds = (iso: string) => Date.parse(iso) / 1000;

function rangeFilter(start: string, end: string) {
  return parseCalendarFilter(
    parseXml(
      Buffer.from(
        `<c:filter xmlns:c="urn:ietf:params:xml:ns:caldav"><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter>`,
      ),
    ),
  );
}

/** The UTC starts of the instances in the range, found by walking from DTSTART with ical.js alone. */
function walkedStarts(text: string, start: number, end: number): string[] {
  const root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  const ev = new ICAL.Event(root.getFirstSubcomponent('vevent') as ICAL.Component);
  const span = ev.duration.toSeconds();
  const out: string[] = [];
  const iterator = ev.iterator();
  for (let next = iterator.next(); next && next.toUnixTime() < end; next = iterator.next()) {
    if (next.toUnixTime() + span > start) out.push(new Date(next.toUnixTime() * 1000).toISOString());
  }
  return out;
}

/** The UTC starts of the instances expandCalendar returns. */
function expandedStarts(text: string): string[] {
  const root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  return root
    .getAllSubcomponents('vevent')
    .map((c) => new Date((c.getFirstPropertyValue('dtstart') as ICAL.Time).toUnixTime() * 1000).toISOString());
}

describe('recurrence work is bounded', () => {
  it('matches a dense rule from 1970 against a range decades later in a few steps', async () => {
    const budget = recurrenceBudget(1000);
    const text = event('DTSTART:19700101T000000Z', 'RRULE:FREQ=SECONDLY');
    expect(await matchCalendar(rangeFilter('20200101T000000Z', '21200101T000000Z'), text, budget)).toBe(true);
    expect(1000 - budget.left).toBeLessThan(50);
    // Before the first instance and after UNTIL, still exact.
    const until = event('DTSTART:20200101T000000Z', 'RRULE:FREQ=MINUTELY;UNTIL=20200102T000000Z');
    expect(await matchCalendar(rangeFilter('20200103T000000Z', '20200104T000000Z'), until, budget)).toBe(false);
  });

  it('jumps only where that is exact: the instances equal a walk from DTSTART', async () => {
    const cases = [
      event('DTSTART:20100104T090000Z', 'RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH'),
      event('DTSTART:20100101T000000Z', 'RRULE:FREQ=HOURLY;INTERVAL=7;BYHOUR=1,8,15,22'),
      event('DTSTART:20240106T101500Z', 'RRULE:FREQ=MINUTELY;INTERVAL=45;BYDAY=SA,SU'),
      // Wall-clock days across DST changes in a zone given by VTIMEZONE.
      ics(
        ...BERLIN,
        'BEGIN:VEVENT',
        'UID:e',
        'DTSTAMP:20260101T000000Z',
        'DTSTART;TZID=Europe/Berlin:20100105T083000',
        'DURATION:PT30M',
        'RRULE:FREQ=DAILY;INTERVAL=3',
        'END:VEVENT',
      ),
    ];
    const start = seconds('2026-03-20T00:00:00Z');
    const end = seconds('2026-04-10T00:00:00Z');
    for (const text of cases) {
      const budget = recurrenceBudget(100_000);
      const expanded = await expandCalendar(text, { start, end }, budget);
      const walked = walkedStarts(text, start, end);
      expect(walked.length).toBeGreaterThan(0);
      expect(expandedStarts(expanded)).toEqual(walked);
      // The walk from DTSTART would take thousands of steps; the jump takes a few hundred at most.
      expect(100_000 - budget.left).toBeLessThan(walked.length + 600);
    }
  });

  it('walks rules that cannot jump from DTSTART, and refuses once the request budget is spent', async () => {
    const counted = event('DTSTART:19700101T000000Z', 'RRULE:FREQ=SECONDLY;COUNT=1000000000');
    const budget = recurrenceBudget(5000);
    const error = await matchCalendar(rangeFilter('20200101T000000Z', '20200102T000000Z'), counted, budget).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isBudgetSpent(error)).toBe(true);
    expect((error as { status: number }).status).toBe(403);
  });

  it('shares one budget across the events of a request, for matching and expansion alike', async () => {
    const budget = recurrenceBudget(10_000);
    const text = event('DTSTART:19700101T000000Z', 'RRULE:FREQ=SECONDLY');
    const range = { start: seconds('2020-01-01T00:00:00Z'), end: seconds('2020-01-01T00:01:00Z') };
    // 1,860 instances each (30-minute instances that started before the range still overlap it):
    // the budget lasts for a few events, then the expansion is refused.
    let expanded = 0;
    const outcome = await (async () => {
      for (let i = 0; i < 10; i++) {
        await expandCalendar(text, range, budget);
        expanded += 1;
      }
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isBudgetSpent(outcome)).toBe(true);
    expect(expanded).toBeGreaterThan(1);
    expect(expanded).toBeLessThan(10);
  });

  it('keeps the event loop turning during a long walk', async () => {
    const counted = event('DTSTART:19700101T000000Z', 'RRULE:FREQ=SECONDLY;COUNT=1000000000');
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 1);
    const started = performance.now();
    await matchCalendar(rangeFilter('20200101T000000Z', '20200102T000000Z'), counted, recurrenceBudget(15_000)).catch(
      () => {},
    );
    clearInterval(timer);
    const elapsed = performance.now() - started;
    // Without yielding the timer could not fire at all until the walk ended.
    expect(ticks).toBeGreaterThan(Math.min(5, elapsed / 50));
  });
});
