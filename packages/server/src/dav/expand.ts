import { loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import { FLOATING_SLACK, instanceOverlaps, isFloating, type TimeRange } from './calendar-filter.js';
import { isBudgetSpent, iteratorFrom, type RecurrenceBudget, spend } from './recurrence.js';

const MAX_INSTANCES = 20_000;
const RECURRENCE_PROPERTIES = ['rrule', 'rdate', 'exdate', 'exrule'];

/**
 * RFC 4791 §9.6.5 `<cal:expand>`: the object rewritten as its instances in
 * the range, each a component without recurrence rules, with a
 * RECURRENCE-ID and UTC times. Used only for REPORT output; the stored text
 * is never changed. Data ical.js cannot read is returned as stored.
 * Instances spend the request's budget; running out is an error, not a
 * silently shortened answer.
 */
export async function expandCalendar(text: string, range: TimeRange, budget: RecurrenceBudget): Promise<string> {
  let root: ICAL.Component;
  try {
    root = new (loadIcal().Component)(loadIcal().parse(text) as unknown[]);
  } catch {
    return text;
  }
  try {
    const out = new (loadIcal().Component)('vcalendar');
    for (const property of root.getAllProperties())
      out.addProperty(loadIcal().Property.fromString(property.toICALString()));
    for (const component of root.getAllSubcomponents()) {
      if (component.name === 'vtimezone' || component.hasProperty('recurrence-id')) continue;
      for (const instance of await instancesOf(component, range, budget)) out.addSubcomponent(instance);
    }
    return out.toString();
  } catch (error) {
    if (isBudgetSpent(error)) throw error;
    return text;
  }
}

async function instancesOf(
  component: ICAL.Component,
  range: TimeRange,
  budget: RecurrenceBudget,
): Promise<ICAL.Component[]> {
  if (!component.hasProperty('dtstart')) return [copy(component)];
  const uid = component.getFirstPropertyValue('uid');
  const overrides = (component.parent?.getAllSubcomponents(component.name) ?? []).filter(
    (c) => c.hasProperty('recurrence-id') && c.getFirstPropertyValue('uid') === uid,
  );
  const event = new (loadIcal().Event)(component, { exceptions: overrides });
  if (!event.isRecurring()) {
    return instanceOverlaps(event.startDate, event.endDate, range) ? [inUtc(copy(component))] : [];
  }
  const out: ICAL.Component[] = [];
  const span = Math.max(0, event.endDate.toUnixTime() - event.startDate.toUnixTime());
  const iterator = iteratorFrom(event, range.start, span);
  const slack = isFloating(event.startDate) ? FLOATING_SLACK : 0;
  for (let n = 0; n < MAX_INSTANCES; n++) {
    await spend(budget);
    const next = iterator.next();
    if (!next || next.toUnixTime() - slack >= range.end) break;
    const details = event.getOccurrenceDetails(next);
    if (!instanceOverlaps(details.startDate, details.endDate, range)) continue;
    const instance = copy(details.item.component);
    for (const name of RECURRENCE_PROPERTIES) instance.removeAllProperties(name);
    setTime(instance, 'recurrence-id', details.recurrenceId);
    setTime(instance, 'dtstart', details.startDate);
    if (instance.hasProperty('dtend')) setTime(instance, 'dtend', details.endDate);
    out.push(inUtc(instance));
  }
  return out;
}

/** A deep copy that still resolves TZIDs against the original's VTIMEZONEs until it is re-parented. */
function copy(component: ICAL.Component): ICAL.Component {
  return new (loadIcal().Component)(JSON.parse(JSON.stringify(component.toJSON())) as unknown[], component.parent);
}

function setTime(component: ICAL.Component, name: string, time: ICAL.Time): void {
  component.removeAllProperties(name);
  const property = new (loadIcal().Property)(name, component);
  property.setValue(time.clone());
  component.addProperty(property);
}

/** Rewrites zoned date-times in UTC; dates and floating times stay as they are. */
function inUtc(component: ICAL.Component): ICAL.Component {
  for (const name of ['dtstart', 'dtend', 'due', 'recurrence-id']) {
    const property = component.getFirstProperty(name);
    const value = property?.getFirstValue();
    if (!property || !(value instanceof loadIcal().Time) || value.isDate) continue;
    if (value.zone === loadIcal().Timezone.localTimezone || value.zone?.tzid === 'floating') continue;
    property.removeParameter('tzid');
    property.setValue(value.convertToZone(loadIcal().Timezone.utcTimezone));
  }
  return component;
}
