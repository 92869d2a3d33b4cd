import ICAL from 'ical.js';

/** Occurrences are compared from here… */
const WINDOW_START = Date.UTC(1990, 0, 1) / 1000;
/** …to here, and at most this many per series. */
const WINDOW_END = Date.UTC(2040, 0, 1) / 1000;
const MAX_PER_SERIES = 200;

/**
 * Every event's and task's occurrences as UTC instants, expanded by ical.js
 * (RRULE, RDATE, EXDATE and RECURRENCE-ID overrides, VTIMEZONEs of the
 * text), in a bounded window. Keyed by UID (or DTSTART+SUMMARY for items
 * without one); the values are sorted. A text ical.js cannot read gives
 * `unreadable`, a series it cannot expand `error`, so those are compared too.
 */
export function occurrences(text: string): Record<string, string[]> | 'unreadable' {
  let root: ICAL.Component;
  try {
    root = new ICAL.Component(ICAL.parse(text.replace(/\r\n|\r|\n/g, '\r\n')) as unknown[]);
  } catch {
    return 'unreadable';
  }
  const calendars = root.name === 'vcalendar' ? [root] : root.getAllSubcomponents('vcalendar');
  const out: Record<string, string[]> = {};
  for (const calendar of calendars) {
    ICAL.TimezoneService.reset();
    for (const zone of calendar.getAllSubcomponents('vtimezone')) {
      try {
        ICAL.TimezoneService.register(zone);
      } catch {
        // A VTIMEZONE ical.js cannot use: times in it are then read as floating, the same on both sides.
      }
    }
    const series = new Map<string, { master?: ICAL.Component; exceptions: ICAL.Component[] }>();
    for (const component of [...calendar.getAllSubcomponents('vevent'), ...calendar.getAllSubcomponents('vtodo')]) {
      const key = seriesKey(component);
      const entry = series.get(key) ?? { exceptions: [] };
      if (component.hasProperty('recurrence-id')) entry.exceptions.push(component);
      else entry.master ??= component;
      series.set(key, entry);
    }
    for (const [key, { master, exceptions }] of series) {
      out[key] = [
        ...(out[key] ?? []),
        ...expand(master ?? (exceptions[0] as ICAL.Component), master ? exceptions : []),
      ];
    }
  }
  ICAL.TimezoneService.reset();
  for (const key of Object.keys(out)) out[key]?.sort();
  return out;
}

function seriesKey(component: ICAL.Component): string {
  const uid = component.getFirstPropertyValue('uid');
  if (uid) return `${component.name}:${String(uid)}`;
  return `${component.name}:no-uid:${String(component.getFirstPropertyValue('dtstart'))}:${String(component.getFirstPropertyValue('summary'))}`;
}

function expand(master: ICAL.Component, exceptions: ICAL.Component[]): string[] {
  try {
    const event = new ICAL.Event(master, { exceptions, strictExceptions: false });
    if (!event.startDate) return ['no start'];
    if (!event.isRecurring()) return [instant(event.startDate)];
    const found: string[] = [];
    const iterator = event.iterator();
    for (let next = iterator.next(); next && found.length < MAX_PER_SERIES; next = iterator.next()) {
      const seconds = next.toUnixTime();
      if (seconds > WINDOW_END) break;
      if (seconds < WINDOW_START) continue;
      found.push(instant(event.getOccurrenceDetails(next).startDate));
    }
    return found;
  } catch (error) {
    return [`error: ${(error as Error).message}`];
  }
}

function instant(time: ICAL.Time): string {
  return new Date(time.toUnixTime() * 1000).toISOString();
}
