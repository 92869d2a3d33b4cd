import { loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import { davError } from './dav-error.js';
import { isBudgetSpent, iteratorFrom, type RecurrenceBudget, spend } from './recurrence.js';
import { parseTextMatch, type TextMatch, textMatches } from './text-match.js';
import { childOf, childrenOf, type XmlElement } from './xml-parse.js';
import { CALDAV } from './xml-write.js';

/** Unix seconds; an open end is ±Infinity. */
export interface TimeRange {
  start: number;
  end: number;
}

interface ParamFilter {
  name: string;
  isNotDefined: boolean;
  textMatch: TextMatch | null;
}

interface PropFilter {
  name: string;
  isNotDefined: boolean;
  timeRange: TimeRange | null;
  textMatch: TextMatch | null;
  params: ParamFilter[];
}

/** An RFC 4791 §9.7.1 comp-filter. */
export interface CompFilter {
  name: string;
  isNotDefined: boolean;
  timeRange: TimeRange | null;
  props: PropFilter[];
  comps: CompFilter[];
}

const VALID_FILTER = { ns: CALDAV, name: 'valid-filter' };
const DEFAULT_COLLATION = 'i;ascii-casemap';
const UTC_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function utcSeconds(value: string | undefined, open: number): number {
  if (value === undefined) return open;
  const m = UTC_TIME.exec(value.trim());
  if (!m) throw davError('forbidden', `time-range values are UTC date-times (got '${value}').`, VALID_FILTER);
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s) / 1000;
}

export function parseTimeRange(element: XmlElement | undefined): TimeRange | null {
  if (!element) return null;
  const range = {
    start: utcSeconds(element.attrs.start, Number.NEGATIVE_INFINITY),
    end: utcSeconds(element.attrs.end, Number.POSITIVE_INFINITY),
  };
  if (range.end <= range.start) throw davError('forbidden', 'time-range end must be after its start.', VALID_FILTER);
  return range;
}

function parseComp(element: XmlElement): CompFilter {
  const name = element.attrs.name?.toUpperCase();
  if (!name) throw davError('forbidden', 'comp-filter needs a name.', VALID_FILTER);
  return {
    name,
    isNotDefined: childOf(element, CALDAV, 'is-not-defined') !== undefined,
    timeRange: parseTimeRange(childOf(element, CALDAV, 'time-range')),
    props: childrenOf(element, CALDAV, 'prop-filter').map((p) => {
      const text = childOf(p, CALDAV, 'text-match');
      return {
        name: (p.attrs.name ?? '').toUpperCase(),
        isNotDefined: childOf(p, CALDAV, 'is-not-defined') !== undefined,
        timeRange: parseTimeRange(childOf(p, CALDAV, 'time-range')),
        textMatch: text ? parseTextMatch(text, DEFAULT_COLLATION, CALDAV) : null,
        params: childrenOf(p, CALDAV, 'param-filter').map((f) => {
          const match = childOf(f, CALDAV, 'text-match');
          return {
            name: (f.attrs.name ?? '').toUpperCase(),
            isNotDefined: childOf(f, CALDAV, 'is-not-defined') !== undefined,
            textMatch: match ? parseTextMatch(match, DEFAULT_COLLATION, CALDAV) : null,
          };
        }),
      };
    }),
    comps: childrenOf(element, CALDAV, 'comp-filter').map(parseComp),
  };
}

/** The `<cal:filter>` of a calendar-query: exactly one comp-filter, for VCALENDAR. */
export function parseCalendarFilter(filter: XmlElement | undefined): CompFilter {
  if (!filter) throw davError('forbidden', 'calendar-query needs a filter.', VALID_FILTER);
  const comps = childrenOf(filter, CALDAV, 'comp-filter');
  if (comps.length !== 1 || comps[0]?.attrs.name?.toUpperCase() !== 'VCALENDAR') {
    throw davError('forbidden', 'The filter must hold one comp-filter named VCALENDAR.', VALID_FILTER);
  }
  return parseComp(comps[0]);
}

/**
 * Whether a stored calendar object passes the filter. Whenever the answer
 * is uncertain (unparseable data, floating or unknown time zones, a
 * recurrence too long to walk) the object passes: a client can ignore an
 * extra event, but one it never receives looks like lost data. Recurrences
 * spend the request's budget, whose exhaustion is the one error let through.
 */
export async function matchCalendar(filter: CompFilter, text: string, budget: RecurrenceBudget): Promise<boolean> {
  let root: ICAL.Component;
  try {
    root = new (loadIcal().Component)(loadIcal().parse(text) as unknown[]);
  } catch {
    return true;
  }
  if (root.name.toUpperCase() !== filter.name) return filter.isNotDefined;
  if (filter.isNotDefined) return false;
  try {
    return await matchBody(filter, root, budget);
  } catch (error) {
    if (isBudgetSpent(error)) throw error;
    return true;
  }
}

async function matchBody(filter: CompFilter, component: ICAL.Component, budget: RecurrenceBudget): Promise<boolean> {
  if (filter.timeRange && !(await overlaps(component, filter.timeRange, budget))) return false;
  for (const prop of filter.props) if (!matchProp(prop, component)) return false;
  for (const comp of filter.comps) {
    const children = component.getAllSubcomponents(comp.name.toLowerCase());
    if (comp.isNotDefined) {
      if (children.length > 0) return false;
      continue;
    }
    let any = false;
    for (const child of children) {
      if (await matchBody(comp, child, budget)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

function matchProp(filter: PropFilter, component: ICAL.Component): boolean {
  const properties = component.getAllProperties(filter.name.toLowerCase());
  if (filter.isNotDefined) return properties.length === 0;
  if (properties.length === 0) return false;
  return properties.some((property) => {
    if (filter.timeRange) {
      const value = property.getFirstValue();
      if (!(value instanceof loadIcal().Time)) return true;
      if (!instanceOverlaps(value, value, filter.timeRange)) return false;
    }
    if (filter.textMatch && !textMatches(filter.textMatch, valueText(property))) return false;
    return filter.params.every((param) => matchParam(param, property));
  });
}

function matchParam(filter: ParamFilter, property: ICAL.Property): boolean {
  const value = property.getParameter(filter.name.toLowerCase());
  if (filter.isNotDefined) return value === undefined || value === null;
  if (value === undefined || value === null) return false;
  const values = Array.isArray(value) ? value.map(String) : [String(value)];
  const match = filter.textMatch;
  return match === null || values.some((v) => textMatches(match, v));
}

function valueText(property: ICAL.Property): string {
  return property
    .getValues()
    .map((v) => String(v))
    .join(',');
}

/** ±14 hours: the widest UTC offsets in use, applied to times whose zone is unknown. */
export const FLOATING_SLACK = 14 * 3600;
const MAX_INSTANCES = 20_000;

export function isFloating(time: ICAL.Time): boolean {
  return time.isDate || time.zone === loadIcal().Timezone.localTimezone || time.zone?.tzid === 'floating';
}

/** RFC 4791 §9.9 for one instance, with `end === start` meaning a point in time. */
export function instanceOverlaps(start: ICAL.Time, end: ICAL.Time, range: TimeRange): boolean {
  const slack = isFloating(start) || isFloating(end) ? FLOATING_SLACK : 0;
  const a = start.toUnixTime() - slack;
  const b = end.toUnixTime() + slack;
  const startsBefore = b > a + 2 * slack ? range.start < b : range.start <= b;
  return startsBefore && range.end > a;
}

function overlaps(component: ICAL.Component, range: TimeRange, budget: RecurrenceBudget): Promise<boolean> | boolean {
  switch (component.name) {
    case 'vevent':
      return occurrencesOverlap(component, range, (_event, _start, end) => end, budget);
    case 'vtodo':
      return todoOverlaps(component, range, budget);
    case 'vjournal': {
      const start = component.getFirstPropertyValue('dtstart');
      if (!(start instanceof loadIcal().Time)) return false;
      const end = start.clone();
      if (start.isDate) end.day += 1;
      return instanceOverlaps(start, end, range);
    }
    default:
      // VCALENDAR carries no time itself; VALARM and VFREEBUSY are not evaluated and pass.
      return true;
  }
}

/** The end of one instance, given the component it comes from and ical.js's idea of its start and end. */
type EndOf = (event: ICAL.Event, start: ICAL.Time, end: ICAL.Time) => ICAL.Time;

/**
 * Walks the instances of a (possibly recurring) component, its overrides
 * applied, from near the range's start where the rule allows a jump.
 */
async function occurrencesOverlap(
  component: ICAL.Component,
  range: TimeRange,
  endOf: EndOf,
  budget: RecurrenceBudget,
): Promise<boolean> {
  if (!component.hasProperty('dtstart')) return false;
  const event = new (loadIcal().Event)(component, { exceptions: overridesOf(component) });
  const firstEnd = endOf(event, event.startDate, event.endDate);
  if (component.hasProperty('recurrence-id') || !event.isRecurring()) {
    return instanceOverlaps(event.startDate, firstEnd, range);
  }
  const span = Math.max(0, firstEnd.toUnixTime() - event.startDate.toUnixTime());
  const iterator = iteratorFrom(event, range.start, span);
  // Only floating instances can start (in UTC terms) before their UTC reading; for the rest, stop at the end.
  const slack = isFloating(event.startDate) ? FLOATING_SLACK : 0;
  for (let n = 0; n < MAX_INSTANCES; n++) {
    await spend(budget);
    const next = iterator.next();
    if (!next) return false;
    if (next.toUnixTime() - slack >= range.end) return false;
    const details = event.getOccurrenceDetails(next);
    const end = endOf(details.item, details.startDate, details.endDate);
    if (instanceOverlaps(details.startDate, end, range)) return true;
  }
  return true;
}

function overridesOf(component: ICAL.Component): ICAL.Component[] {
  if (component.hasProperty('recurrence-id') || !component.parent) return [];
  const uid = component.getFirstPropertyValue('uid');
  return component.parent
    .getAllSubcomponents(component.name)
    .filter((c) => c !== component && c.hasProperty('recurrence-id') && c.getFirstPropertyValue('uid') === uid);
}

function timeProperty(component: ICAL.Component, name: string): ICAL.Time | null {
  const value = component.getFirstPropertyValue(name);
  return value instanceof loadIcal().Time ? value : null;
}

/** A task instance runs from its start to its due time (or for its duration). */
const todoEnd: EndOf = (event, start) => {
  const end = start.clone();
  const dtstart = timeProperty(event.component, 'dtstart');
  const due = timeProperty(event.component, 'due');
  const duration = event.component.getFirstPropertyValue('duration');
  if (due && dtstart) end.addDuration(due.subtractDateTz(dtstart));
  else if (duration instanceof loadIcal().Duration) end.addDuration(duration);
  return end;
};

/** RFC 4791 §9.9's VTODO table; ends are widened by a second where the table compares inclusively. */
function todoOverlaps(
  component: ICAL.Component,
  range: TimeRange,
  budget: RecurrenceBudget,
): Promise<boolean> | boolean {
  if (component.hasProperty('dtstart')) return occurrencesOverlap(component, range, todoEnd, budget);
  const inclusive = { start: range.start, end: range.end + 1 };
  const due = timeProperty(component, 'due');
  if (due) return instanceOverlaps(due, due, inclusive);
  const completed = timeProperty(component, 'completed');
  const created = timeProperty(component, 'created');
  if (completed && created) return instanceOverlaps(created, completed, inclusive);
  if (completed) return instanceOverlaps(completed, completed, inclusive);
  if (created) return range.end > created.toUnixTime();
  return true;
}
